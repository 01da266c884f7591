"""Artifacts on disk: atomic writes, sha256, and the metadata every artifact carries.

Every artifact `X` (ONNX model, engine, OpenVINO IR, deploy model) has a sidecar `X.json` holding
the same metadata; ONNX models also carry it in `metadata_props["edgeseg"]` and IRs in their
`rt_info`, so a model copied without its sidecar still knows its preprocessing contract.
`read_artifact` is the one reader: it returns the typed schema (edgeseg/metadata.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

import edgeseg
from edgeseg.errors import EdgesegError
from edgeseg.metadata import (CONTRACT_FIELDS, FIELD_TYPES, FORMAT,  # noqa: F401  (FORMAT: public here too)
                              ArtifactMetadata, contract_digest)
from edgeseg.filesystem import describe_os_error, is_disk_full
from edgeseg.workdir import new_temp

META_KEY = "edgeseg"


def sidecar_path(path) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".json")


_HASHES: dict[tuple, str] = {}


def graph_sha256(model) -> str:
    """sha256 of an ONNX model's graph (nodes, weights, inputs, outputs), without its metadata: the
    same network exported from the same checkpoint under another name or at another time has the
    same graph hash, while its file (metadata with paths and times) differs."""
    return hashlib.sha256(model.graph.SerializeToString(deterministic=True)).hexdigest()


def sha256_file(path, chunk: int = 1 << 20) -> str:
    """sha256 of a file's bytes, remembered per (path, size, mtime, inode): one hash per load, not one per check."""
    st = os.stat(path)
    key = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns, st.st_ino)
    if key in _HASHES:
        return _HASHES[key]
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    _HASHES[key] = h.hexdigest()
    return _HASHES[key]


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; rename it into place only if the block succeeds.

    An OS error (disk full, read-only folder) becomes one line naming `path`, not the temporary file.
    """
    path = Path(path)
    tmp = None
    try:
        tmp = new_temp(path.parent, f".{path.name}", ".tmp")
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        raise EdgesegError(f"cannot write {describe_os_error(exc, path)}") from None
    except EdgesegError:
        raise
    except Exception as exc:  # writers (protobuf, torch) wrap the OS error in their own types
        if is_disk_full(exc):
            raise EdgesegError(f"cannot write {path}: no space left on device") from None
        raise
    finally:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


@contextlib.contextmanager
def scratch_path(directory, suffix: str = ""):
    """Yield a temporary file path in `directory` that is always removed afterwards."""
    try:
        tmp = new_temp(directory, ".scratch", suffix)
    except OSError as exc:
        raise EdgesegError(f"cannot write in {describe_os_error(exc, directory)}") from None
    try:
        yield tmp
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def write_json(path, data: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")


def write_sidecar(path, meta: dict) -> Path:
    side = sidecar_path(path)
    write_json(side, meta)
    return side


def parent_entry(parent, artifact) -> dict:
    """`provenance.parent` for `artifact` made from `parent`: its path relative to the artifact's
    folder (the set can be moved or read from any directory) and its sha256."""
    rel = os.path.relpath(Path(parent).resolve(), Path(artifact).resolve().parent)
    return {"path": rel, "sha256": sha256_file(parent)}


def typed(meta) -> ArtifactMetadata:
    """The schema of metadata given typed, or as its JSON view (a runner's `metadata`)."""
    return meta if isinstance(meta, ArtifactMetadata) else ArtifactMetadata.from_dict(meta or {})


def parent_hint(artifact, meta: ArtifactMetadata | dict) -> str:
    """Where the recorded parent should be, as a path for a message ('MODEL.onnx' when none is recorded)."""
    parent = (typed(meta).provenance or {}).get("parent")
    path = parent.get("path") if isinstance(parent, dict) else None
    if not isinstance(path, str) or not path:
        return "MODEL.onnx"
    return path if os.path.isabs(path) else os.path.normpath(Path(artifact).parent / path)


def recorded_parent(artifact, meta: ArtifactMetadata | dict) -> Path:
    """The parent file the metadata names, found and checked: a relative path is read from the
    artifact's folder, never the current directory, and the file must have the recorded sha256
    (a file of the same name elsewhere is another model)."""
    artifact = Path(artifact)
    parent = (typed(meta).provenance or {}).get("parent")
    where = f"{sidecar_path(artifact)}: provenance.parent"
    if not isinstance(parent, dict) or not isinstance(parent.get("path"), str) or not parent["path"]:
        raise EdgesegError(f"{where} does not name the file {artifact.name} was made from; "
                           "rebuild it with edgeseg")
    path = Path(parent["path"])
    if not path.is_absolute():
        path = artifact.resolve().parent / path
    if not path.is_file():
        raise EdgesegError(f"{where} names {parent['path']}, which is not at {path}; put that file back "
                           f"(paths are relative to {artifact.name}'s folder) or rebuild {artifact.name}")
    recorded = parent.get("sha256")
    if not isinstance(recorded, str) or sha256_file(path) != recorded:
        raise EdgesegError(f"{path} is not the file {artifact.name} was made from (its sha256 is not the one "
                           f"{sidecar_path(artifact).name} records); put the original back or rebuild {artifact.name}")
    return path




def read_artifact(path) -> ArtifactMetadata:
    """The artifact's metadata as the typed schema (edgeseg/metadata.py), checked against the artifact
    itself (empty blocks when it carries none). The one reader of artifact metadata."""
    return ArtifactMetadata.from_dict(_read_metadata(path))


def metadata_dict(path) -> dict:
    """`read_artifact` as plain JSON data, {} when the file carries none (a foreign model), for code
    that passes it on as such (runners, DeepStream configs)."""
    meta = read_artifact(path)
    return {} if meta == ArtifactMetadata.from_dict({}) else meta.to_dict()


def _read_metadata(path) -> dict:
    """The artifact's metadata, checked against the artifact itself.

    The file decides: a sidecar whose sha256 is not the file's, or that disagrees with the
    metadata embedded in the ONNX on the contract (precision, preprocessing, I/O), describes
    another file and is refused; a stale sidecar would silently feed the model the wrong input.
    """
    path = Path(path)
    side = sidecar_path(path)
    sidecar = read_sidecar(side) if side.exists() else None
    embedded = embedded_metadata(path)
    if sidecar is None:
        return embedded
    recorded = sidecar.get("sha256")
    weights = path.with_suffix(".bin") if path.suffix == ".xml" else None
    stale_bin = bool(weights and sidecar.get("bin_sha256") and weights.exists()
                     and sha256_file(weights) != sidecar["bin_sha256"])
    if (recorded and path.exists() and sha256_file(path) != recorded) or stale_bin:
        raise EdgesegError(f"{side}: stale sidecar, it describes another file (its sha256 is not that of "
                           f"{path.name}); delete {side.name} or rebuild {path.name}")
    differ = [k for k in CONTRACT_FIELDS if k in embedded and k in sidecar and embedded[k] != sidecar[k]]
    if differ:
        raise EdgesegError(f"{side}: stale sidecar, its {' and '.join(differ)} {'differs' if len(differ) == 1 else 'differ'} from the metadata inside "
                           f"{path.name}; delete {side.name} or rebuild {path.name}")
    return {**embedded, **sidecar}


def read_sidecar(side) -> dict:
    """A sidecar's JSON object, or one line that says why it cannot be used."""
    side = Path(side)
    try:
        data = json.loads(side.read_text())
    except OSError as exc:
        raise EdgesegError(f"{side}: cannot read the sidecar ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EdgesegError(f"{side}: sidecar is not valid JSON ({exc}); delete it or rebuild the artifact") from None
    if not isinstance(data, dict):
        raise EdgesegError(f"{side}: sidecar holds a JSON {type(data).__name__}, not an object; "
                           "delete it or rebuild the artifact")
    check_fields(data, side)
    return data


def embedded_metadata(path) -> dict:
    """The metadata inside the file itself: ONNX metadata_props, OpenVINO IR rt_info; {} for other kinds."""
    path = Path(path)
    if not path.exists():
        return {}
    if path.suffix == ".onnx":
        return onnx_metadata(path)
    if path.suffix == ".xml":
        return ir_metadata(path)
    return {}


def ir_metadata(path) -> dict:
    """`rt_info/edgeseg` of an OpenVINO IR .xml, read as XML (no OpenVINO needed)."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise EdgesegError(f"{path}: not a readable OpenVINO IR ({exc})") from None
    node = root.find(f"./rt_info/{META_KEY}")
    if root.tag != "net" or node is None or node.get("value") is None:
        return {}
    meta = _meta_object(node.get("value"), path)
    check_fields(meta, f"{path} (embedded metadata)")
    check_ir_binding(Path(path), meta)
    return meta


def check_ir_binding(xml: Path, meta: dict) -> None:
    """An IR's .xml names the sha256 of its .bin and of its contract (export/openvino_ir.py): weights
    truncated, replaced or altered, or a contract edited after it was saved, make a damaged IR, refused
    whether or not a sidecar is beside it. (IRs saved before edgeseg bound them carry neither.)"""
    recorded = meta.get("bin_sha256")
    if recorded is None and meta.get("contract_sha256") is None:
        return
    weights = xml.with_suffix(".bin")
    if not weights.is_file():
        raise EdgesegError(f"{xml}: damaged OpenVINO IR: its weights {weights.name} are missing; rebuild it")
    if sha256_file(weights) != recorded:
        raise EdgesegError(f"{xml}: damaged OpenVINO IR: {weights.name} is not the file it was saved with (truncated, "
                           "replaced or altered: its sha256 differs); rebuild it (`edgeseg tune` rebuilds its IRs)")
    if meta.get("contract_sha256") != contract_digest(meta):
        raise EdgesegError(f"{xml}: damaged OpenVINO IR: its embedded edgeseg contract (precision, preprocessing, "
                           "I/O) was edited after it was saved; rebuild it")


def _meta_object(text: str, path) -> dict:
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EdgesegError(f"{path}: its embedded edgeseg metadata is not valid JSON ({exc}); "
                           "re-export the model") from None
    if not isinstance(meta, dict):
        raise EdgesegError(f"{path}: its embedded edgeseg metadata is not a JSON object; re-export the model")
    return meta



# The metadata's fields and the JSON type each must have where present: the schema's (metadata.py); a
# wrong type would otherwise surface as an AttributeError deep in a command.
_BLOCKS = FIELD_TYPES
_TENSOR = {"name": str, "dtype": str, "shape": list, "layout": str, "kind": str}


def require_io(meta: ArtifactMetadata | dict, where) -> tuple[dict, dict]:
    """(input, output) of the metadata's `io`, each with a name, dtype and shape, or one line naming
    the first one missing (types are checked when the metadata is read)."""
    io = typed(meta).io or {}
    for end in ("input", "output"):
        tensor = io.get(end) or {}
        missing = [k for k in ("name", "dtype", "shape") if tensor.get(k) is None]
        if missing:
            raise EdgesegError(f"{where}: the metadata has no io.{end}.{missing[0]}; rebuild the artifact with edgeseg")
    return io["input"], io["output"]


def check_fields(meta: dict, where) -> None:
    """One line naming the first field of `meta` whose JSON type is not the one edgeseg writes."""
    def bad(path: str, value, kind) -> None:
        want = {dict: "an object", list: "a list", str: "a string", bool: "true or false", int: "an integer"}[kind]
        raise EdgesegError(f"{where}: {path} must be {want}, got {json.dumps(value)[:60]}; "
                           "delete it or rebuild the artifact")

    for key, kind in _BLOCKS.items():
        if meta.get(key) is not None and not isinstance(meta[key], kind):
            bad(key, meta[key], kind)
    io = meta.get("io") or {}
    for end in ("input", "output"):
        tensor = io.get(end)
        if end in io and not isinstance(tensor, dict):
            bad(f"io.{end}", tensor, dict)
        for key, kind in _TENSOR.items():
            if isinstance(tensor, dict) and tensor.get(key) is not None and not isinstance(tensor[key], kind):
                bad(f"io.{end}.{key}", tensor[key], kind)
        shape = tensor.get("shape") if isinstance(tensor, dict) else None
        if isinstance(shape, list) and not all(isinstance(d, (int, str)) and not isinstance(d, bool) or d is None for d in shape):
            bad(f"io.{end}.shape", shape, list)
    parent = (meta.get("provenance") or {}).get("parent")
    if parent is not None and not isinstance(parent, dict):
        bad("provenance.parent", parent, dict)


def load_onnx(path):
    """The ONNX model in `path` (weights left external), or one line: unreadable, not ONNX, or
    empty (an empty file parses as an empty model: no graph to build or run)."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except OSError as exc:
        raise EdgesegError(f"{path}: cannot read the ONNX model ({exc.strerror or exc})") from None
    except Exception as exc:  # protobuf's DecodeError and friends
        text = " ".join(str(exc).split())[:200]
        raise EdgesegError(f"{path}: not a readable ONNX model ({exc.__class__.__name__}: {text})") from None
    graph = model.graph
    if not graph.node or not graph.input or not graph.output:
        raise EdgesegError(f"{path}: not an ONNX model (no graph with inputs, outputs and nodes); "
                           "give a model from `edgeseg export`")
    return model


def onnx_metadata(path) -> dict:
    model = load_onnx(path)
    for prop in model.metadata_props:
        if prop.key == META_KEY:
            meta = _meta_object(prop.value, path)
            check_fields(meta, f"{path} (embedded metadata)")
            return meta
    return {}


def set_onnx_metadata(model, meta: dict) -> None:
    """Store `meta` in an in-memory ONNX ModelProto (replacing any previous edgeseg entry)."""
    keep = [p for p in model.metadata_props if p.key != META_KEY and not p.key.startswith("edgeseg.")]
    del model.metadata_props[:]
    for p in keep:
        model.metadata_props.add(key=p.key, value=p.value)
    model.metadata_props.add(key=META_KEY, value=json.dumps(meta, sort_keys=False))
    # Flat copies of the fields a C++ consumer most often wants, readable without a JSON parser.
    pre = meta.get("preprocess", {})
    flat = {
        "edgeseg.mean_bgr": ",".join(str(v) for v in pre.get("mean_bgr", [])),
        "edgeseg.channel_order": pre.get("channel_order", ""),
        "edgeseg.classes": ",".join(meta.get("dataset", {}).get("classes", [])),
        "edgeseg.precision": meta.get("precision", ""),
    }
    for k, v in flat.items():
        if v:
            model.metadata_props.add(key=k, value=str(v))


def versions(*modules: str) -> dict:
    """Versions of the named modules that are importable (for provenance)."""
    import importlib
    import platform


    out = {"edgeseg": edgeseg.__version__, "python": platform.python_version()}
    for name in modules:
        try:
            out[name] = importlib.import_module(name).__version__
        except Exception:
            continue
    return out
