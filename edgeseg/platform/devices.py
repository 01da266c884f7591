"""Device profiles: defaults per target, kept as data in devices.json."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from edgeseg.errors import EdgesegError


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
    backends: dict = field(default_factory=dict)  # precision -> backends for ONNX models, fastest first (measured)
    int8_target: dict = field(default_factory=dict)  # backend -> INT8 Q/DQ placement chosen for it (measured)


@lru_cache(maxsize=None)
def _profiles() -> dict:
    return json.loads(resources.files("edgeseg.platform").joinpath("devices.json").read_text())


def backends_for(profile: DeviceProfile, precision: str) -> tuple[str, ...]:
    """The profile's backends for ONNX models of this precision, fastest first ('default' for the rest)."""
    return profile.backends.get(precision, profile.backends.get("default", ()))


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
        backends={k: tuple(v) for k, v in entry.get("backends", {}).items()},
        int8_target=dict(entry.get("int8_target", {})),
    )


def check_profile(profile: DeviceProfile, hw) -> None:
    """Stop before running anything when the profile does not describe this machine."""
    where = f"this machine is {hw.machine} ({hw.cpu})"
    instead = "use --device cpu" + (" or --device cuda" if hw.has_gpu and not hw.is_jetson else "")
    if profile.jetson:
        if not hw.is_jetson:
            raise EdgesegError(f"--device {profile.name} needs a {profile.description}; {where} with no "
                               f"/etc/nv_tegra_release: {instead}")
        model = hw.jetson_model or ""
        if profile.model_match and model and not any(m.lower() in model.lower() for m in profile.model_match):
            raise EdgesegError(f"--device {profile.name} is for {profile.description}; this board is {model}"
                               + _jetson_hint(model))
    elif profile.gpu and not hw.has_gpu:
        raise EdgesegError(f"--device {profile.name} needs an NVIDIA GPU; {where} and nvidia-smi finds none: {instead}")


def profile_for_board(model: str) -> str | None:
    """The Jetson profile whose model_match names this board, if any."""
    for name in profile_names():
        entry = _profiles()[name]
        if entry["jetson"] and any(m.lower() in model.lower() for m in entry.get("model_match", ())):
            return name
    return None


def _jetson_hint(model: str) -> str:
    name = profile_for_board(model)
    return f": use --device {name}" if name else ""
