"""Artifacts on disk: atomic writes, sha256, and the metadata every artifact carries.

Every artifact `X` (ONNX model, engine, deploy checkpoint) has a sidecar `X.json` holding
the same metadata; ONNX models also carry it in `metadata_props["edgeseg"]`, so a model
copied without its sidecar still knows its preprocessing contract.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

from edgeseg.errors import EdgesegError
from edgeseg.workdir import new_temp

META_KEY = "edgeseg"
FORMAT = "edgeseg-artifact/1"


def sidecar_path(path) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".json")


_HASHES: dict[tuple, str] = {}


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
    from edgeseg.outputs import describe_os_error, is_disk_full

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
    from edgeseg.outputs import describe_os_error

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


# Fields that change what an artifact computes or expects; a sidecar must agree with the file on them.
CONTRACT_FIELDS = ("precision", "preprocess", "embedded_preprocess", "io")


def read_metadata(path) -> dict:
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
    return _meta_object(node.get("value"), path)


def _meta_object(text: str, path) -> dict:
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EdgesegError(f"{path}: its embedded edgeseg metadata is not valid JSON ({exc}); "
                           "re-export the model") from None
    if not isinstance(meta, dict):
        raise EdgesegError(f"{path}: its embedded edgeseg metadata is not a JSON object; re-export the model")
    return meta


def onnx_metadata(path) -> dict:
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except OSError as exc:
        raise EdgesegError(f"{path}: cannot read the ONNX model ({exc.strerror or exc})") from None
    except Exception as exc:
        raise EdgesegError(f"{path}: not a readable ONNX model ({exc.__class__.__name__}: {exc})") from None
    for prop in model.metadata_props:
        if prop.key == META_KEY:
            return _meta_object(prop.value, path)
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

    import edgeseg

    out = {"edgeseg": edgeseg.__version__, "python": platform.python_version()}
    for name in modules:
        try:
            out[name] = importlib.import_module(name).__version__
        except Exception:
            continue
    return out
