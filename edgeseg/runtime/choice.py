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
from edgeseg.platform import hardware
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
