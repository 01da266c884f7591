"""The engine's sidecar JSON: where it was built, from what, and for what.

The engine file stays a plain TensorRT plan (trtexec, DeepStream and C++ load it unchanged);
everything else lives here. `check_compatible` refuses an engine built for another TensorRT
version or GPU with one line that says what to rebuild, before TensorRT's own error.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from edgeseg.artifacts import read_metadata, sha256_file, sidecar_path, write_sidecar
from edgeseg.errors import EdgesegError

FORMAT = "edgeseg-engine/1"

# L4T release -> JetPack, for the releases Jetson Orin runs.
JETPACK = {"35.3": "5.1.1", "35.4": "5.1.2", "35.5": "5.1.3", "35.6": "5.1.4", "36.2": "6.0 DP", "36.3": "6.0",
           "36.4": "6.1/6.2", "38.2": "7.0"}


def jetpack_of(l4t: str | None) -> str | None:
    if not l4t:
        return None
    major_minor = ".".join(l4t.split(".")[:2])
    return JETPACK.get(major_minor)


def build_sidecar(*, engine_path, onnx_path, trt_version: str, gpu: dict, l4t: str | None, precision: str,
                  io: list[dict], options: dict, build_seconds: float) -> dict:
    onnx_meta = read_metadata(onnx_path)
    return {
        "format": FORMAT,
        "kind": "engine",
        "stage": "engine",
        "precision": precision,
        "tensorrt": trt_version,
        "gpu": gpu,  # {"name", "compute_capability"}
        "l4t": l4t,
        "jetpack": jetpack_of(l4t),
        "io": io,  # [{"name", "mode": "input"|"output", "dtype", "shape"}]
        "model": onnx_meta.get("model", {}),
        "preprocess": onnx_meta.get("preprocess", {}),
        "dataset": onnx_meta.get("dataset", {}),
        "embedded_preprocess": onnx_meta.get("embedded_preprocess", False),
        "provenance": {"onnx": str(onnx_path), "onnx_sha256": sha256_file(onnx_path), "options": options,
                       "build_seconds": round(build_seconds, 2),
                       "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")},
        "sha256": sha256_file(engine_path),
    }


def write(engine_path, meta: dict) -> Path:
    return write_sidecar(engine_path, meta)


def read(engine_path) -> dict:
    side = sidecar_path(engine_path)
    if not side.exists():
        raise EdgesegError(f"{engine_path}: no sidecar {side.name}; edgeseg needs it to know the engine's "
                           "preprocessing and where it was built (rebuild with `edgeseg build`)")
    return read_metadata(engine_path)


def check_compatible(engine_path, meta: dict, trt_version: str, gpu: dict, l4t: str | None) -> None:
    """Refuse an engine built with another TensorRT version, GPU or L4T release."""
    built = f"TensorRT {meta.get('tensorrt')} on {meta.get('gpu', {}).get('name')} " \
            f"(sm_{str(meta.get('gpu', {}).get('compute_capability', '?')).replace('.', '')})"
    here = f"TensorRT {trt_version} on {gpu.get('name')} (sm_{str(gpu.get('compute_capability', '?')).replace('.', '')})"
    onnx = meta.get("provenance", {}).get("onnx", "MODEL.onnx")
    fix = f"rebuild it here: edgeseg build {onnx} -o {engine_path}"
    if str(meta.get("tensorrt", "")).split(".")[:3] != str(trt_version).split(".")[:3]:
        raise EdgesegError(f"engine {Path(engine_path).name} was built with {built}; this machine has {here}: {fix}")
    if meta.get("gpu", {}).get("compute_capability") != gpu.get("compute_capability") or \
            meta.get("gpu", {}).get("name") != gpu.get("name"):
        raise EdgesegError(f"engine {Path(engine_path).name} was built for {built}; this machine has {here}: {fix}")
    if meta.get("l4t") and l4t and meta["l4t"] != l4t:
        raise EdgesegError(f"engine {Path(engine_path).name} was built on L4T {meta['l4t']}; this Jetson runs "
                           f"L4T {l4t}: {fix}")
