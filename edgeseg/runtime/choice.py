"""The one rule for which backend runs an ONNX model when the user names none.

`predict`, `eval`, `run` and `bench` all ask here, so the same file segments the same way
whichever command runs it: the device profile's backends for the model's precision, fastest
first (devices.json, measured; for INT8 on a CPU, its per-ISA row's backend first), the first one installed. Checkpoints, engines and IRs keep the
backend of their suffix, and an ONNX Runtime GPU provider asked for keeps ONNX Runtime.
"""

from __future__ import annotations

from pathlib import Path

from edgeseg import runtime
from edgeseg.artifacts import read_artifact
from edgeseg.errors import EdgesegError
from edgeseg.platform.devices import backends_for, load_profile


def default_backend(path, profile: str = "cpu", provider: str = "cpu") -> str | None:
    """The backend `path` runs on when none is named (None: its suffix's own)."""
    if provider != "cpu" or Path(path).suffix.lower() != ".onnx":
        return None
    try:
        precision = read_artifact(path).precision
    except EdgesegError:
        return None  # the runner says what is wrong with the file
    return next((b for b in backends_for(load_profile(profile), precision) if runtime.installed(b)), None)
