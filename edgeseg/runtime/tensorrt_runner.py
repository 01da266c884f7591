"""TensorRT engine runner: tensors by name, pinned host buffers, one stream, optional CUDA graph.

The sidecar is checked before the plan is deserialized, so an engine built for another
TensorRT or GPU fails with a line that says what to rebuild instead of TensorRT's own error.
"""

from __future__ import annotations

import numpy as np

from edgeseg.errors import EdgesegError
from edgeseg.runtime.base import IOSpec, Runner, Timing

_NP = {"FLOAT": np.float32, "HALF": np.float16, "INT8": np.int8, "INT32": np.int32, "INT64": np.int64,
       "UINT8": np.uint8, "BOOL": np.bool_}


class TensorRTRunner(Runner):
    backend = "tensorrt"

    def __init__(self, path, cuda_graph: bool = False, device_index: int = 0):
        super().__init__(path)
        self.cuda_graph, self.device_index = cuda_graph, device_index
        self._meta: dict | None = None

    @property
    def metadata(self) -> dict:
        if self._meta is None:
            from edgeseg.engine import sidecar

            self._meta = sidecar.read(self.path)
        return self._meta

    def _activate(self) -> None:
        from edgeseg.bench.hardware import detect
        from edgeseg.engine import sidecar
        from edgeseg.engine.builder import _trt
        from edgeseg.engine.cuda import open_cuda

        trt = _trt()
        self.cuda = open_cuda()
        name, cc = self.cuda.device_name(self.device_index)
        sidecar.check_compatible(self.path, self.metadata, trt.__version__, {"name": name, "compute_capability": cc},
                                 detect().l4t)
        self.trt = trt
        self.logger = trt.Logger(trt.Logger.WARNING)
        with open(self.path, "rb") as f:
            self.engine = trt.Runtime(self.logger).deserialize_cuda_engine(f.read())
        if self.engine is None:
            raise EdgesegError(f"{self.path}: TensorRT could not deserialize the engine")
        self.context = self.engine.create_execution_context()
        self.stream = self.cuda.stream()
        self.events = [self.cuda.event() for _ in range(4)]
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        mode = trt.TensorIOMode.INPUT
        self.inputs = [n for n in names if self.engine.get_tensor_mode(n) == mode]
        self.outputs = [n for n in names if self.engine.get_tensor_mode(n) != mode]
        self.buffers: dict[str, tuple] = {}  # name -> (shape, device ptr, pinned host array)
        self.graph = None

    def _dtype(self, name: str):
        return _NP[self.engine.get_tensor_dtype(name).name]

    def _buffer(self, name: str, shape) -> tuple:
        current = self.buffers.get(name)
        if current is not None and current[0] == tuple(shape):
            return current
        if current is not None:
            self.cuda.free(current[1])
            self.cuda.free_pinned(current[2])
            self.graph = None  # addresses changed: recapture
        host = self.cuda.pinned(tuple(shape), self._dtype(name))
        entry = (tuple(shape), self.cuda.malloc(host.nbytes), host)
        self.buffers[name] = entry
        self.context.set_tensor_address(name, entry[1])
        return entry

    def _enqueue(self) -> None:
        if not self.context.execute_async_v3(self.cuda.stream_handle(self.stream)):
            raise EdgesegError(f"{self.path}: TensorRT execution failed")

    def _infer(self, batch: np.ndarray) -> np.ndarray:
        name = self.inputs[0]
        batch = np.ascontiguousarray(batch, dtype=self._dtype(name))
        if tuple(self.context.get_tensor_shape(name)) != batch.shape:
            self.context.set_input_shape(name, batch.shape)
            self.graph = None
        _, dptr, host = self._buffer(name, batch.shape)
        outs = [self._buffer(o, tuple(self.context.get_tensor_shape(o))) for o in self.outputs]
        c, s, (e0, e1, e2, e3) = self.cuda, self.stream, self.events
        np.copyto(host, batch)
        c.record(e0, s)
        c.h2d(dptr, host, s)
        c.record(e1, s)
        self._run_graph_or_enqueue()
        c.record(e2, s)
        for _, optr, ohost in outs:
            c.d2h(ohost, optr, s)
        c.record(e3, s)
        c.sync(s)
        self.last_timing = Timing(compute_ms=c.elapsed_ms(e1, e2), h2d_ms=c.elapsed_ms(e0, e1), d2h_ms=c.elapsed_ms(e2, e3))
        out = outs[0][2].copy()
        return out.astype(np.float32) if out.dtype == np.float16 else out

    def _run_graph_or_enqueue(self) -> None:
        if not self.cuda_graph:
            self._enqueue()
            return
        if self.graph is None:
            self._enqueue()  # TensorRT needs one plain run after a shape change before capture
            self.cuda.sync(self.stream)
            self.cuda.begin_capture(self.stream)
            self._enqueue()
            self.graph = self.cuda.end_capture(self.stream)
        self.cuda.launch(self.graph, self.stream)

    def _deactivate(self) -> None:
        for _, ptr, host in self.buffers.values():
            self.cuda.free(ptr)
            self.cuda.free_pinned(host)
        self.buffers, self.context, self.engine, self.graph = {}, None, None, None

    @property
    def io_spec(self) -> IOSpec:
        io = {t["mode"]: t for t in self.metadata.get("io", [])}
        inp, out = io.get("input", {}), io.get("output", {})
        dtype = "uint8" if "UINT8" in str(inp.get("dtype", "")) else ("float16" if "HALF" in str(inp.get("dtype", "")) else "float32")
        shape = tuple(d if isinstance(d, int) and d > 0 else None for d in inp.get("shape", []))
        kind = "labels" if any(k in str(out.get("dtype", "")) for k in ("INT32", "UINT8", "INT64")) else "logits"
        return IOSpec(dtype, "NHWC" if dtype == "uint8" else "NCHW", shape, kind)

    @property
    def description(self) -> str:
        return "tensorrt" + (" cuda-graph" if self.cuda_graph else "")
