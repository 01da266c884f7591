"""One Runner interface for every backend; `open_runner` picks the backend from the file.

Nothing heavy is imported here: each runner imports its library in `activate()`.
"""

from __future__ import annotations

from pathlib import Path

from edgeseg.errors import EdgesegError
from edgeseg.runtime.base import IOSpec, Runner, Timing

__all__ = ["IOSpec", "Runner", "Timing", "open_runner", "backend_of"]

SUFFIXES = {".onnx": "onnxruntime", ".pth": "torch", ".pt": "torch", ".engine": "tensorrt", ".plan": "tensorrt"}


def backend_of(path) -> str:
    backend = SUFFIXES.get(Path(path).suffix.lower())
    if backend is None:
        raise EdgesegError(f"{path}: unknown artifact type (expected {', '.join(sorted(SUFFIXES))})")
    return backend


def open_runner(path, *, provider: str = "cpu", threads: int | None = None, device: str = "cpu",
                variant: str | None = None, dataset: str | None = None, input_size=None,
                cuda_graph: bool = False) -> Runner:
    """A runner for `path`; options that do not apply to its backend are ignored."""
    backend = backend_of(path)
    if not Path(path).exists():
        raise EdgesegError(f"{path}: no such file")
    if backend == "onnxruntime":
        from edgeseg.runtime.onnx_runner import OrtRunner

        return OrtRunner(path, provider=provider, threads=threads)
    if backend == "torch":
        from edgeseg.runtime.torch_runner import TorchRunner

        return TorchRunner(path, device=device, variant=variant, dataset=dataset, input_size=input_size, threads=threads)
    from edgeseg.runtime.tensorrt_runner import TensorRTRunner

    return TensorRTRunner(path, cuda_graph=cuda_graph)
