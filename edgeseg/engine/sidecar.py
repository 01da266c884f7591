"""The engine's sidecar JSON: where it was built, from what, and for what.

The engine file stays a plain TensorRT plan (trtexec, DeepStream and C++ load it as is);
everything else lives in `X.engine.json`: the TensorRT version, GPU and, on a Jetson, the
L4T release and board it was built on; I/O tensors; the preprocessing contract and dataset
copied from the ONNX; the ONNX's hash; build options and time. An engine only runs under
the TensorRT release and on the GPU it was built for, so `check_compatible` refuses any
other with one line that says what to rebuild, before TensorRT's own cryptic error.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from edgeseg.artifacts import (parent_entry, parent_hint, read_artifact, require_io, sha256_file, sidecar_path, typed,
                               versions, write_sidecar)
from edgeseg.metadata import ArtifactMetadata, io_block, now
from edgeseg.platform.hardware import read_jetson
from edgeseg.engine.versions import TrtVersion
from edgeseg.errors import EdgesegError


# -- Jetson: L4T release and JetPack ----------------------------------------------------------
@lru_cache(maxsize=None)
def _jetpack_table() -> tuple[dict, ...]:
    data = json.loads(resources.files("edgeseg.platform").joinpath("jetpack.json").read_text())
    return tuple(data["releases"])


def jetpack_for(l4t: str | None) -> dict | None:
    """{'jetpack', 'tensorrt'} for an L4T release, or the nearest lower one of its major.minor."""
    if not l4t:
        return None
    key = _numbers(l4t)
    same_line = [r for r in _jetpack_table() if _numbers(r["l4t"])[:2] == key[:2] and _numbers(r["l4t"]) <= key]
    if not same_line:
        return None
    best = max(same_line, key=lambda r: _numbers(r["l4t"]))
    return {"jetpack": best["jetpack"], "tensorrt": best["tensorrt"]}


def _numbers(version: str) -> tuple[int, ...]:
    return tuple(int(v) for v in re.findall(r"\d+", version))


# -- Where an engine was built, where it is asked to run ---------------------------------------
@dataclass(frozen=True)
class BuiltFor:
    """What an engine was built for (the sidecar's `target` block, named before the glossary): TensorRT, GPU,
    compute capabilities, L4T. In the code a target is a fleet node (docs/house.md, Words)."""

    tensorrt: str
    gpu: str
    compute_capability: str  # "8.7"
    l4t: str | None = None
    board: str | None = None
    runtime: str = "tensorrt"  # or "tensorrt-rtx": built ahead of time, for `compute_capabilities`
    compute_capabilities: tuple[str, ...] = ()

    @property
    def rtx(self) -> bool:
        return self.runtime == "tensorrt-rtx"

    @property
    def sm(self) -> str:
        return "sm_" + self.compute_capability.replace(".", "")

    def describe(self) -> str:
        if self.rtx:
            ccs = "/".join("sm_" + c.replace(".", "") for c in self.compute_capabilities)
            return f"TensorRT-RTX {self.tensorrt} for {ccs or 'RTX GPUs'} (ahead of time)"
        where = f"{self.gpu} ({self.sm})" + (f" [{self.board}]" if self.board else "")
        return f"TensorRT {self.tensorrt} on {where}" + (f", L4T {self.l4t}" if self.l4t else "")

    def to_dict(self) -> dict:
        jp = jetpack_for(self.l4t)
        out = {"runtime": self.runtime, "tensorrt": self.tensorrt, "gpu": self.gpu,
               "compute_capability": self.compute_capability, "l4t": self.l4t,
               "jetpack": jp["jetpack"] if jp else None, "board": self.board}
        if self.rtx:
            out["compute_capabilities"] = list(self.compute_capabilities)
        return out

    @classmethod
    def from_dict(cls, d: dict) -> "BuiltFor":
        return cls(str(d.get("tensorrt", "?")), str(d.get("gpu", "?")), str(d.get("compute_capability", "?")),
                   d.get("l4t"), d.get("board"), str(d.get("runtime") or "tensorrt"),
                   tuple(d.get("compute_capabilities") or ()))


def rtx_built_for(version: str, compute_capabilities: tuple[str, ...]) -> BuiltFor:
    """Where an RTX engine runs: any RTX GPU of the listed compute capabilities (built on any machine)."""
    return BuiltFor(str(version), "RTX", ",".join(compute_capabilities), runtime="tensorrt-rtx",
                  compute_capabilities=tuple(compute_capabilities))


def this_machine(trt_version: str, gpu: str, compute_capability: str) -> BuiltFor:
    l4t, board = read_jetson()
    return BuiltFor(str(trt_version), gpu, compute_capability, l4t, board)


def mismatch(built: BuiltFor, here: BuiltFor) -> str | None:
    """What differs between where an engine was built and where it is asked to run, or None."""
    if built.rtx != here.rtx:
        return "runtime"
    if built.rtx:  # the GPU class and compute capability are checked by rtx.check_gpu
        return None if TrtVersion.parse(built.tensorrt).same_release(TrtVersion.parse(here.tensorrt)) else "TensorRT-RTX"
    if not TrtVersion.parse(built.tensorrt).same_release(TrtVersion.parse(here.tensorrt)):
        return "TensorRT"
    if (built.gpu, built.compute_capability) != (here.gpu, here.compute_capability):
        return "GPU"
    if built.board and here.board and built.board != here.board:
        return "board"
    if built.l4t and here.l4t and built.l4t != here.l4t:
        return "L4T"
    return None


def check_compatible(engine_path, meta: ArtifactMetadata | dict, here: BuiltFor) -> None:
    """Refuse an engine built for another TensorRT, GPU, board or L4T release, in one line."""
    engine_path = Path(engine_path)
    built = BuiltFor.from_dict(typed(meta).target or {})
    if mismatch(built, here) is None:
        return
    onnx = parent_hint(engine_path, meta)
    runtime = " --runtime tensorrt-rtx" if built.rtx else ""
    here_text = (f"TensorRT-RTX {here.tensorrt}" if built.rtx and here.rtx else here.describe())
    raise EdgesegError(f"engine {engine_path.name} was built with {built.describe()}; this machine has "
                       f"{here_text}: rebuild it here with `edgeseg build {onnx} -o {engine_path}{runtime}`")


def check_plan_hash(engine_path, meta: ArtifactMetadata | dict) -> None:
    """Refuse a plan replaced after edgeseg built it (its sidecar would describe another engine)."""
    recorded = (typed(meta).engine or {}).get("sha256")
    if recorded and sha256_file(engine_path) != recorded:
        onnx = parent_hint(engine_path, meta)
        raise EdgesegError(f"{sidecar_path(engine_path)}: stale sidecar, it describes another plan (sha256 differs "
                           f"from {engine_path.name}; rebuilt by another tool?): delete it and rebuild with "
                           f"`edgeseg build {onnx} -o {engine_path}`")


# -- The sidecar itself -------------------------------------------------------------------------
def io_from_tensors(tensors: list[dict]) -> dict:
    """The artifact `io` block (first input, first output) from the engine's I/O tensors."""
    inputs = [t for t in tensors if t["mode"] == "input"]
    outputs = [t for t in tensors if t["mode"] == "output"]
    if not inputs or not outputs:
        raise EdgesegError("the engine needs at least one input and one output tensor")
    return io_block(*({"name": t["name"], "dtype": t["dtype"], "shape": t["shape"]} for t in (inputs[0], outputs[0])))


def build_sidecar(*, onnx_path, plan: bytes, built_for: BuiltFor, precision: str, tensors: list[dict], build: dict,
                  build_seconds: float, dla: dict | None = None, qdq_fusion: dict | None = None,
                  engine_path=None) -> ArtifactMetadata:
    """The metadata of the engine `plan`, in the schema every edgeseg artifact's metadata has.

    The ONNX is recorded relative to the engine's folder (`engine_path`; default: beside the ONNX).
    """
    import hashlib

    onnx_meta = read_artifact(onnx_path)
    return ArtifactMetadata(
        kind="engine", stage="engine", precision=precision, model=onnx_meta.model,
        preprocess=onnx_meta.preprocess, dataset=onnx_meta.dataset, io=io_from_tensors(tensors),
        target=built_for.to_dict(),  # the sidecar's field keeps its name
        engine={"sha256": hashlib.sha256(plan).hexdigest(), "bytes": len(plan), "tensors": tensors, "build": build, "dla": dla,
                **({"qdq_fusion": qdq_fusion} if qdq_fusion is not None else {})},
        provenance={"parent": parent_entry(onnx_path, engine_path or onnx_path),
                    "options": build.get("options", {}),
                    "versions": versions("tensorrt_rtx" if built_for.rtx else "tensorrt", "onnx"),
                    "build_seconds": round(build_seconds, 2), "created": now()})


def write(engine_path, meta: ArtifactMetadata) -> Path:
    return write_sidecar(engine_path, meta.to_dict())


def read(engine_path) -> dict:
    """`read_engine` as JSON (a runner's `metadata`)."""
    return read_engine(engine_path).to_dict()


def read_engine(engine_path) -> ArtifactMetadata:
    """The engine's metadata (its sidecar, read by artifacts.read_artifact); an engine without one
    cannot be checked or fed, so it is refused."""
    engine_path = Path(engine_path)
    side = sidecar_path(engine_path)
    if not side.exists():
        raise EdgesegError(f"{engine_path}: no sidecar {side.name} beside it; edgeseg needs it for the "
                           "preprocessing contract and to know where the engine was built "
                           "(rebuild with `edgeseg build MODEL.onnx -o ENGINE`)")
    meta = read_artifact(engine_path)
    if meta.kind != "engine" or meta.target is None:
        raise EdgesegError(f"{side}: not an edgeseg engine sidecar (no 'target' block)")
    require_io(meta, side)
    check_plan_hash(engine_path, meta)  # a sidecar of another plan would describe the wrong engine
    return meta
