"""Which backend and which runner options run an artifact on this device: `runner_for`, the one
place `predict`, `eval`, `run`, `bench`, `tune` and the Python API ask.

The backend of an ONNX model, when the user names none: the device profile's backends for the
model's precision, fastest first (devices.json, measured; for INT8 on a CPU, its per-ISA row's
backend first), the first one installed. Checkpoints, engines and IRs keep the backend of their
suffix, and an ONNX Runtime GPU provider asked for keeps ONNX Runtime.

The options: a command asks the same of every artifact on its line (`RunnerRequest`); each
setting goes to the artifacts whose runner honours it (`--provider` to ONNX Runtime,
`--input-size` to checkpoints, the GPU of a GPU profile to PyTorch), so a checkpoint next to
ONNX models next to an engine each get RunnerOptions their backend takes, and open_runner
refuses, rather than drops, anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgeseg import runtime
from edgeseg.artifacts import read_artifact
from edgeseg.errors import EdgesegError, OptionError, field
from edgeseg.platform import hardware
from edgeseg.platform.devices import backends_for, check_profile, load_profile
from edgeseg.runtime.options import RunnerOptions


@dataclass(frozen=True, kw_only=True)
class RunnerRequest:
    """What a command asks of every artifact it runs; `runner_for` makes each one's RunnerOptions."""

    profile: str = "cpu"  # device profile (devices.json)
    backend: str | None = None  # ONNX models: onnxruntime | openvino[:DEVICE]; None: the profile's fastest installed
    provider: str | None = None  # ONNX Runtime; None: cuda on GPU profiles, else cpu
    threads: int | None = None
    input_size: tuple[int, int] | None = None  # checkpoints (default: the image's own size)
    variant: str | None = None  # checkpoints
    dataset: str | None = None  # checkpoints: the contract's dataset
    cuda_graph: bool = False  # engines
    class_map: bool = False  # class maps from the runtime where its backend appends the argmax
    streams: int | None = None  # OpenVINO throughput streams; None: what a tune pick recorded, else latency

    def __post_init__(self):
        if self.streams is not None and self.streams < 1:  # refused before any artifact is opened
            raise OptionError(f"{field('streams')} must be at least 1, got {self.streams}")


def runner_for(path, request: RunnerRequest = RunnerRequest()) -> tuple[str | None, RunnerOptions]:
    """(backend for open_runner, RunnerOptions) of `path` under `request`."""
    profile = load_profile(request.profile)
    provider = request.provider or ("cuda" if profile.gpu else "cpu")
    backend = request.backend or default_backend(path, profile.name, provider)
    name = runtime.backend_of(path)
    if backend and Path(path).suffix.lower() in runtime.READS.get(runtime.parse_backend(backend)[0], ()):
        name = runtime.parse_backend(backend)[0]
    wanted = {"threads": request.threads, "class_map": request.class_map, "provider": provider,
              "torch_device": "cuda" if profile.gpu and provider != "cpu" else "cpu",
              "input_size": request.input_size, "variant": request.variant, "dataset": request.dataset,
              "cuda_graph": request.cuda_graph,
              "streams": request.streams or (recorded_streams(path) if name == "openvino" else None)}
    honoured = runtime.honoured_by(name)
    return backend, RunnerOptions(**{k: v for k, v in wanted.items() if k in honoured and v is not None})


def recorded_streams(path) -> int | None:
    """The stream count a throughput `tune` pick was measured with (its sidecar's `tuned` block), so the
    artifact runs as it was chosen."""
    try:
        return ((read_artifact(path).other or {}).get("tuned") or {}).get("streams")
    except EdgesegError:
        return None  # the runner says what is wrong with the file


def checked_profile(name: str):
    """The device profile `name`, refused in one line when it does not describe this machine."""
    profile = load_profile(name)
    check_profile(profile, hardware.detect())
    return profile


def class_map_fits(path, size, request: RunnerRequest = RunnerRequest()) -> bool:
    """Whether class maps from the runtime are the host's for images of `size` (H, W): the model
    takes such an image at its own size (runtime/class_map.py), so no resize lies between."""
    if Path(path).suffix.lower() in (".pth", ".pt"):
        return request.input_size is not None and tuple(request.input_size) == tuple(size)  # else capped per image
    try:
        pre = read_artifact(path).preprocess or {}
    except EdgesegError:
        return False  # the runner says what is wrong with the file
    return bool(pre.get("input_size")) and tuple(pre["input_size"]) == tuple(size)


def default_backend(path, profile: str = "cpu", provider: str = "cpu") -> str | None:
    """The backend `path` runs on when none is named (None: its suffix's own)."""
    if provider != "cpu" or Path(path).suffix.lower() != ".onnx":
        return None
    try:
        precision = read_artifact(path).precision
    except EdgesegError:
        return None  # the runner says what is wrong with the file
    return next((b for b in backends_for(load_profile(profile), precision) if runtime.installed(b)), None)


def unverified(metadata: dict, backend: str) -> str | None:
    """Why a quantized artifact's verification does not cover `backend` on this CPU kind, or None:
    its export checked each runtime it would run on (edgeseg/export/runtimes.py) and recorded
    where; a row timed or scored elsewhere says so instead of reading plain "ok"."""
    if metadata.get("precision") not in ("int8", "fp8") or backend not in ("onnxruntime", "openvino"):
        return None
    checks = ((metadata.get("verification") or {}).get("checks") or {})
    rec = (checks.get("runtimes") or {}).get(backend)
    if not rec or rec.get("verified") is False:
        return f"not verified on {backend}"
    if rec.get("mismatch"):
        return f"MISMATCH on {backend} at export"
    if rec.get("isa") is not None and list(rec["isa"]) != list(hardware.this_isa()):
        return f"verified on {backend} on another CPU kind ({'/'.join(rec['isa'])})"
    return None
