"""ONNX Runtime runner: CPU, CUDA or TensorRT execution provider, one model file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgeseg.errors import EdgesegError
from edgeseg.runtime.base import IOSpec, Runner, Timing, contract_mismatch
from edgeseg.runtime.class_map import onnx_with_class_map
from edgeseg.runtime.ort import session

PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider", "tensorrt": "TensorrtExecutionProvider"}
# Each provider falls back on the ones after it for the nodes it cannot run.
FALLBACKS = {"cpu": ["CPUExecutionProvider"], "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
             "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]}
_NP = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(uint8)": np.uint8}


class OrtRunner(Runner):
    backend = "onnxruntime"

    def __init__(self, path, provider: str = "cpu", threads: int | None = None, class_map: bool = False):
        super().__init__(path)
        if provider not in PROVIDERS:
            raise EdgesegError(f"unknown ONNX Runtime provider {provider!r}; choose one of {', '.join(PROVIDERS)}")
        self.provider, self.threads, self.class_map = provider, threads, class_map
        self.session = None

    def _activate(self) -> None:
        import onnxruntime as ort

        if not Path(self.path).is_file():
            raise EdgesegError(f"{self.path}: no such ONNX model")
        wanted = PROVIDERS[self.provider]
        if wanted not in ort.get_available_providers():
            raise EdgesegError(f"ONNX Runtime provider {self.provider} ({wanted}) is not available here; "
                               f"available: {', '.join(ort.get_available_providers())}")
        try:
            providers = [p for p in FALLBACKS[self.provider] if p in ort.get_available_providers()]
            self.session = session(self._graph(), providers, threads=self.threads)
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise EdgesegError(f"{self.path}: ONNX Runtime cannot load it ({first[:200]})") from None
        if self.session.get_providers()[0] != wanted:  # ORT falls back to CPU quietly when a GPU library is missing
            self.session = None
            raise EdgesegError(f"ONNX Runtime could not start provider {self.provider} ({wanted}) for {self.path}; "
                               "check its CUDA/TensorRT libraries, or use --provider cpu")
        self._input = self.session.get_inputs()[0]
        self._output = self.session.get_outputs()[0]
        problem = contract_mismatch(self.metadata, self._input.type == "tensor(uint8)", self._input.type,
                                    list(self._input.shape))
        if problem:
            self.session = None
            raise EdgesegError(f"{self.path}: {problem}")

    def _graph(self):
        """The file, or with `class_map` the in-memory graph with the argmax appended (runtime/class_map.py)."""
        if self.class_map:
            model = onnx_with_class_map(self.path)
            if model is not None:
                return model
        return self.path

    def _infer(self, batch: np.ndarray) -> np.ndarray:
        dtype = _NP.get(self._input.type, np.float32)
        try:
            out = self.session.run([self._output.name], {self._input.name: np.ascontiguousarray(batch, dtype=dtype)})[0]
        except Exception as exc:  # ORT's errors are multi-line C++ messages
            first = " ".join(str(exc).split())[:300] or type(exc).__name__
            raise EdgesegError(f"{self.path}: ONNX Runtime failed on an input of shape {tuple(batch.shape)} ({first})") from None
        self.last_timing = Timing()
        return out.astype(np.float32) if out.dtype == np.float16 else out

    def _deactivate(self) -> None:
        self.session = None

    @property
    def io_spec(self) -> IOSpec:
        meta_io = self.metadata.get("io", {})
        if self.session is not None:
            inp, out = self._input, self._output
            dtype = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(uint8)": "uint8"}.get(inp.type, "float32")
            kind = "logits" if "float" in out.type else "labels"
            return IOSpec(dtype, "NHWC" if dtype == "uint8" else "NCHW",
                          tuple(d if isinstance(d, int) else None for d in inp.shape), kind)
        inp, out = meta_io.get("input", {}), meta_io.get("output", {})
        return IOSpec(inp.get("dtype", "float32"), inp.get("layout", "NCHW"), tuple(inp.get("shape", ())),
                      "labels" if self.class_map else out.get("kind", "logits"))

    @property
    def description(self) -> str:
        return (f"onnxruntime {self.provider}" + (f" {self.threads} threads" if self.threads else "")
                + (" class-map" if self.class_map else ""))
