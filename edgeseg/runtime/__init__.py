"""One Runner interface for every backend; `open_runner` picks the backend from the file.

Nothing heavy is imported here: each runner imports its library in `activate()`.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from dataclasses import replace
from pathlib import Path

from edgeseg.errors import EdgesegError, OptionError, field
from edgeseg.runtime.base import IOSpec, Runner, Timing
from edgeseg.runtime.options import RunnerOptions, runner_options

__all__ = ["IOSpec", "Runner", "RunnerOptions", "Timing", "open_runner", "runner_options", "honoured_by", "backend_of", "runner_class", "installed", "parse_backend"]

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
        raise OptionError(f"{field('backend')} {spec}: only openvino takes a device (openvino:CPU, openvino:GPU, ...)")
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


def honoured_by(backend: str) -> set[str]:
    """The RunnerOptions fields `backend`'s runner honours: its constructor's keywords."""
    params = list(inspect.signature(runner_class(backend).__init__).parameters.values())[2:]  # skip self, path
    return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def open_runner(path, backend: str | None = None, options: RunnerOptions | None = None, **fields) -> Runner:
    """A runner for `path` with `options` (or their fields as keywords, a shorthand).

    `backend` ('openvino', 'openvino:GPU', 'onnxruntime') applies to the files it can read; the
    others (a checkpoint or engine next to ONNX models) keep the backend of their suffix, but an
    OpenVINO IR asked to run on ONNX Runtime is refused rather than run on OpenVINO silently.

    An option the backend cannot honour (`provider` for a checkpoint, `cuda_graph` for an ONNX
    model) is refused in one line, never dropped: commands that mix artifacts get each one its
    own options from edgeseg.runtime.choice.runner_for.
    """
    if options is not None and fields:
        raise TypeError("give either options or their fields, not both")
    options = options if options is not None else runner_options(**fields)
    own = backend_of(path)
    if backend:
        name, device = parse_backend(backend)
        if Path(path).suffix.lower() in READS.get(name, ()):
            own = name
            if device:
                options = replace(options, ov_device=device)
        elif name != own and own in READS:  # a model file another runtime of the pair cannot read: say so
            raise EdgesegError(f"{path}: --backend {name} cannot read a {Path(path).suffix} file; "
                               f"it runs on {own} (drop --backend or use --backend {own})")
    backend = own
    if not Path(path).is_file():
        raise EdgesegError(f"{path}: no such file")
    accepted = honoured_by(backend)
    refused = {k: v for k, v in options.changed().items() if k not in accepted}
    if refused:
        each = ", ".join(f"{field(k)}={v}" for k, v in refused.items())
        raise OptionError(f"{Path(path).name} runs on {backend}, which cannot honour {each} "
                          f"(it takes {', '.join(sorted(accepted))})")
    return runner_class(backend)(path, **options.for_runner(accepted))
