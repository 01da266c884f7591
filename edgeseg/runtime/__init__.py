"""One Runner interface for every backend; `open_runner` picks the backend from the file.

Nothing heavy is imported here: each runner imports its library in `activate()`.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from pathlib import Path

from edgeseg.errors import EdgesegError
from edgeseg.runtime.base import IOSpec, Runner, Timing

__all__ = ["IOSpec", "Runner", "Timing", "open_runner", "backend_of", "runner_class", "installed", "parse_backend"]

SUFFIXES = {".onnx": "onnxruntime", ".pth": "torch", ".pt": "torch", ".engine": "tensorrt", ".plan": "tensorrt",
            ".xml": "openvino"}
# backend -> (module, class); modules import their library only in activate(), so loading them is cheap.
CLASSES = {
    "onnxruntime": ("edgeseg.runtime.onnx_runner", "OrtRunner"),
    "torch": ("edgeseg.runtime.torch_runner", "TorchRunner"),
    "tensorrt": ("edgeseg.runtime.tensorrt_runner", "TensorRTRunner"),
    "openvino": ("edgeseg.runtime.openvino_runner", "OpenVINORunner"),
}
# Which backends can read which files besides the suffix's own (`--backend` picks among them).
READS = {"openvino": {".onnx"}, "onnxruntime": {".onnx"}}
LIBRARIES = {"onnxruntime": "onnxruntime", "torch": "torch", "tensorrt": "tensorrt", "openvino": "openvino"}


def backend_of(path) -> str:
    backend = SUFFIXES.get(Path(path).suffix.lower())
    if backend is None:
        raise EdgesegError(f"{path}: unknown artifact type (expected {', '.join(sorted(SUFFIXES))})")
    return backend


def parse_backend(spec: str) -> tuple[str, str | None]:
    """'openvino:GPU' -> ('openvino', 'GPU'); the device part is OpenVINO's device name."""
    name, _, device = spec.partition(":")
    name = name.strip().lower()
    if name not in CLASSES:
        raise EdgesegError(f"unknown backend {spec!r}; known: {', '.join(CLASSES)}")
    if device and name != "openvino":
        raise EdgesegError(f"--backend {spec}: only openvino takes a device (openvino:CPU, openvino:GPU, ...)")
    return name, device or None


def installed(backend: str) -> bool:
    """Whether the backend's library can be imported (found, not imported: cheap)."""
    try:
        return importlib.util.find_spec(LIBRARIES[backend]) is not None
    except (ImportError, ValueError):
        return False


def runner_class(backend: str) -> type:
    module, name = CLASSES[backend]
    return getattr(importlib.import_module(module), name)


def _options_of(cls) -> set[str]:
    params = list(inspect.signature(cls.__init__).parameters.values())[2:]  # skip self, path
    return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def open_runner(path, backend: str | None = None, **options) -> Runner:
    """A runner for `path`, built with the options its backend takes.

    `backend` ('openvino', 'openvino:GPU', 'onnxruntime') applies to the files it can read; the
    others (a checkpoint or engine next to ONNX models) keep the backend of their suffix, but an
    OpenVINO IR asked to run on ONNX Runtime is refused rather than run on OpenVINO silently.

    One command line serves a mix of artifacts (a checkpoint, ONNX models, engines), so an
    option another backend understands (`provider` for a checkpoint) is dropped; a name no
    backend knows is a mistake and raises.
    """
    own = backend_of(path)
    if backend:
        name, device = parse_backend(backend)
        if Path(path).suffix.lower() in READS.get(name, ()):
            own = name
            if device:
                options["ov_device"] = device
        elif name != own and own in READS:  # a model file another runtime of the pair cannot read: say so
            raise EdgesegError(f"{path}: --backend {name} cannot read a {Path(path).suffix} file; "
                               f"it runs on {own} (drop --backend or use --backend {own})")
    backend = own
    if not Path(path).is_file():
        raise EdgesegError(f"{path}: no such file")
    cls = runner_class(backend)
    accepted = _options_of(cls)
    if set(options) - accepted:
        known = set().union(*(_options_of(runner_class(b)) for b in CLASSES))
        unknown = sorted(set(options) - known)
        if unknown:
            raise EdgesegError(f"unknown runner option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return cls(path, **{k: v for k, v in options.items() if k in accepted})
