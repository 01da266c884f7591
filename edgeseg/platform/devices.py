"""Device profiles: defaults per target, kept as data in devices.json."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from edgeseg.errors import EdgesegError, OptionError
from edgeseg.errors import field as f

DEVICE, PRECISION = f("device"), f("precision")  # the options a profile is checked for
from edgeseg.platform import hardware


@dataclass(frozen=True)
class DeviceProfile:
    name: str
    description: str
    jetson: bool
    gpu: bool
    precisions: tuple[str, ...]
    workspace_gb: float
    dla_cores: int
    input_sizes: tuple[tuple[int, int], ...]
    shapes: dict  # {"min": [N,C,H,W], "opt": [...], "max": [...]}
    model_match: tuple[str, ...] = ()
    compute_capability: str | None = None  # "8.7"; None for profiles that name no one GPU (cpu, cuda)
    gpu_arch: str | None = None  # "Ampere", "Blackwell"
    power_modes: tuple[str, ...] = ()  # nvpmodel mode names NVIDIA documents for the board
    backends: dict = field(default_factory=dict)  # precision -> backends for ONNX models, fastest first (measured)
    int8_by_isa: tuple = ()  # CPU: ({"isa", "preset", "measured"}, ...), first matching row wins

    def int8_row(self, isa: tuple[str, ...] | None = None) -> dict | None:
        """The first per-ISA row whose feature this CPU has (`isa`, default: this machine's as its
        kernels see it), each naming where it was measured; None on a CPU kind nobody measured."""
        if not self.int8_by_isa:
            return None
        if isa is None:
            isa = hardware.this_isa()
        return next((r for r in self.int8_by_isa if r["isa"] in isa), None)

    def int8_preset(self, isa: tuple[str, ...] | None = None) -> str:
        """The quantization preset for INT8 (which sets its Q/DQ placement) without measuring here: the
        matching per-ISA row's, else TensorRT's, the export default (verified on each runtime here by the
        export). `edgeseg tune` measures instead."""
        row = self.int8_row(isa)
        return row["preset"] if row else "tensorrt"

    def describe_gpu(self) -> str:
        if self.compute_capability is None:
            return self.description
        return f"{self.description}, {self.gpu_arch} GPU (compute capability {self.compute_capability})"


@lru_cache(maxsize=None)
def _profiles() -> dict:
    """Profiles by name; keys starting with '_' hold the sources of the facts, not profiles."""
    data = json.loads(resources.files("edgeseg.platform").joinpath("devices.json").read_text())
    return {name: entry for name, entry in data.items() if not name.startswith("_")}


def backends_for(profile: DeviceProfile, precision: str, isa: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The profile's backends for ONNX models of this precision, fastest first ('default' for the
    rest); for INT8 on a CPU whose per-ISA row names a backend (measured there), that one first."""
    listed = tuple(profile.backends.get(precision, profile.backends.get("default", ())))
    row = profile.int8_row(isa) if precision == "int8" else None
    if row and row.get("backend") in listed:
        return (row["backend"], *(b for b in listed if b != row["backend"]))
    return listed


def profile_names() -> list[str]:
    return list(_profiles())


def load_profile(name: str) -> DeviceProfile:
    entry = _profiles().get(name)
    if entry is None:
        raise EdgesegError(f"unknown device profile {name!r}; known: {', '.join(profile_names())}")
    return DeviceProfile(
        name=name,
        description=entry["description"],
        jetson=bool(entry["jetson"]),
        gpu=bool(entry["gpu"]),
        precisions=tuple(entry["precisions"]),
        workspace_gb=float(entry["workspace_gb"]),
        dla_cores=int(entry["dla_cores"]),
        input_sizes=tuple(tuple(s) for s in entry["input_sizes"]),
        shapes={k: tuple(v) for k, v in entry["shapes"].items()},
        model_match=tuple(entry.get("model_match", ())),
        compute_capability=entry.get("compute_capability"),
        gpu_arch=entry.get("gpu_arch"),
        power_modes=tuple(entry.get("power_modes", ())),
        backends={k: tuple(v) for k, v in entry.get("backends", {}).items()},
        int8_by_isa=tuple(dict(r) for r in entry.get("int8_by_isa", ())),
    )


def check_profile(profile: DeviceProfile, hw) -> None:
    """Stop before running anything when the profile does not describe this machine."""
    where = f"this machine is {hw.machine} ({hw.cpu})"
    instead = f"use {DEVICE} cpu" + (f" or {DEVICE} cuda" if hw.has_gpu and not hw.is_jetson else "")
    if profile.jetson:
        if not hw.is_jetson:
            raise OptionError(f"{DEVICE} {profile.name} needs a {profile.description}; {where} with no "
                              f"/etc/nv_tegra_release: {instead}")
        model = hw.jetson_model or ""
        if profile.model_match and model and not any(m.lower() in model.lower() for m in profile.model_match):
            raise OptionError(f"{DEVICE} {profile.name} is for {profile.description}; this board is {model}"
                              + _jetson_hint(model))
    elif profile.gpu and not hw.has_gpu:
        raise OptionError(f"{DEVICE} {profile.name} needs an NVIDIA GPU; {where} and nvidia-smi finds none: {instead}")
    elif profile.gpu and profile.compute_capability and hw.gpus:
        found = {g.get("compute_cap") for g in hw.gpus}
        if profile.compute_capability not in found:
            names = ", ".join(f"{g['name']} ({g.get('compute_cap')})" for g in hw.gpus)
            raise OptionError(f"{DEVICE} {profile.name} is for {profile.describe_gpu()}; this machine's GPU is "
                              f"{names}: use {DEVICE} cuda")


def profile_for_board(model: str) -> str | None:
    """The Jetson profile whose model_match names this board, if any."""
    for name in profile_names():
        entry = _profiles()[name]
        if entry["jetson"] and any(m.lower() in model.lower() for m in entry.get("model_match", ())):
            return name
    return None


def _jetson_hint(model: str) -> str:
    name = profile_for_board(model)
    return f": use {DEVICE} {name}" if name else ""


# -- precisions a GPU accelerates ----------------------------------------------------------
FP8_MIN_CC = (8, 9)  # FP8 tensor cores: Ada 8.9, Hopper 9.0, Blackwell 10.x / 11.0 / 12.x
_PRECISION_NAMES = {"fp8": "FP8", "int8": "INT8", "fp16": "FP16"}


def _cc(text: str | None) -> tuple[int, ...] | None:
    try:
        return tuple(int(p) for p in str(text).split(".")) if text else None
    except ValueError:
        return None


def require_precision(profile: DeviceProfile, precision: str, compute_capability: str | None = None) -> None:
    """Refuse a precision the profile's GPU does not accelerate, in one line naming what it has.

    fp32 always runs. `compute_capability` (from nvidia-smi or the CUDA device) decides FP8 for
    profiles that name no one GPU (`cuda`); a profile's own compute capability wins otherwise.
    """
    if precision == "fp32" or precision not in _PRECISION_NAMES:
        return
    cc_text = profile.compute_capability or compute_capability
    cc = _cc(cc_text)
    if precision == "fp8" and cc is not None and cc < FP8_MIN_CC:
        has = ", ".join(p for p in profile.precisions if p != "fp8")
        what = profile.describe_gpu() if profile.compute_capability else f"a GPU of compute capability {cc_text}"
        raise OptionError(f"{PRECISION} fp8 needs FP8 tensor cores (compute capability 8.9+: Ada, Hopper, "
                          f"Blackwell); {DEVICE} {profile.name} is {what}, which accelerates {has}: "
                          f"use {PRECISION} int8 or fp16")
    if precision not in profile.precisions:
        raise OptionError(f"{DEVICE} {profile.name} ({profile.describe_gpu()}) has no "
                          f"{_PRECISION_NAMES[precision]} path; it runs {', '.join(profile.precisions)}")
