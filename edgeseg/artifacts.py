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


def sha256_file(path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; rename it into place only if the block succeeds."""
    path = Path(path)
    tmp = new_temp(path.parent, f".{path.name}", ".tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


@contextlib.contextmanager
def scratch_path(directory, suffix: str = ""):
    """Yield a temporary file path in `directory` that is always removed afterwards."""
    tmp = new_temp(directory, ".scratch", suffix)
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


def read_metadata(path) -> dict:
    """The artifact's metadata: its sidecar if present, else the ONNX metadata_props."""
    path = Path(path)
    side = sidecar_path(path)
    if side.exists():
        try:
            return json.loads(side.read_text())
        except json.JSONDecodeError as exc:
            raise EdgesegError(f"{side}: sidecar is not valid JSON ({exc})") from None
    if path.suffix == ".onnx" and path.exists():
        return onnx_metadata(path)
    return {}


def onnx_metadata(path) -> dict:
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        raise EdgesegError(f"{path}: not a readable ONNX model ({exc.__class__.__name__}: {exc})") from None
    for prop in model.metadata_props:
        if prop.key == META_KEY:
            return json.loads(prop.value)
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
