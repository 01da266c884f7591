"""TensorRT engine runner: tensors by name, page-locked host buffers, one stream, optional CUDA graph.

The sidecar is checked before the plan is deserialized, so an engine built for another
TensorRT release or GPU fails with a line that says what to rebuild instead of TensorRT's
own error. Tensors are addressed by name (`set_tensor_address` + `execute_async_v3`), the
API TensorRT 8.5 introduced and 10/11 kept; the bindings API (execute_async_v2) is gone
from 10, so one code path serves 8.6, 10 and 11. Copies and the launch share one stream;
CUDA events around them give `last_timing` (H2D, GPU compute, D2H) as trtexec reports it.

TensorRT-RTX engines (sidecar runtime "tensorrt-rtx") take the same path with the
`tensorrt_rtx` module: refused in one line on a GPU that is not one of the RTX parts they
were built for, before anything is loaded; the JIT step's kernels are kept in a runtime
cache file (ENGINE.rtxcache unless `runtime_cache` names one), read on activate and written
back on deactivate.
"""

from __future__ import annotations

import contextlib

import numpy as np

from edgeseg.engine import builder
from edgeseg.engine import cuda as cuda_device
from edgeseg.engine import flavors, rtx, sidecar
from edgeseg.engine.tensors import dtype_name, numpy_dtype
from edgeseg.errors import EdgesegError
from edgeseg.runtime.base import IOSpec, Runner, Timing


def built_dla_core(meta: dict) -> int | None:
    """The DLA core an engine was built for (`edgeseg build --dla-core`), from its sidecar; None for the GPU."""
    core = meta.get("engine", {}).get("build", {}).get("options", {}).get("dla_core")
    return None if core is None else int(core)


class TensorRTRunner(Runner):
    backend = "tensorrt"

    def __init__(self, path, cuda_graph: bool = False, gpu_index: int = 0, runtime_cache=None):
        super().__init__(path)
        self.cuda_graph, self.gpu_index = bool(cuda_graph), int(gpu_index)
        self.runtime_cache = runtime_cache  # TensorRT-RTX: JIT kernel cache file (default ENGINE.rtxcache)
        self._rtx_cache = None
        self._meta: dict | None = None
        self.cuda = self.engine = self.context = self.stream = self.graph = None
        self.buffers: dict[str, tuple] = {}  # name -> (shape, device pointer, pinned host array)
        self.events: list = []
        self._slot_events: list = []  # `submit`: one "done" event per slot
        self._turn = 0  # `submit`: which of the two slots is next
        self._slots_used = False  # `submit` pointed the context at a slot's buffers

    @property
    def metadata(self) -> dict:
        if self._meta is None:
            self._meta = sidecar.read(self.path)
        return self._meta

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def rtx(self) -> bool:
        return self.metadata.get("target", {}).get("runtime") == "tensorrt-rtx"

    def check_here(self):
        """Refuse, in one line, an engine that cannot run on this machine; returns the TensorRT module.

        Nothing is deserialized, so the export's engine stage asks this before verifying.
        """
        meta = self.metadata  # no sidecar: refused before anything is loaded
        if self.rtx:  # the GPU class is known before TensorRT-RTX is loaded
            self.cuda, gpu, cc = cuda_device.open_device(self.gpu_index)
            rtx.check_gpu(self.path, meta, gpu, cc, sidecar.this_machine("0", gpu, cc).board)
            trt = flavors.import_module(flavors.TENSORRT_RTX)
            here = sidecar.rtx_built_for(str(trt.__version__), (cc,))
        else:
            trt = builder.import_tensorrt()
            self.cuda, gpu, cc = cuda_device.open_device(self.gpu_index)
            here = sidecar.this_machine(str(trt.__version__), gpu, cc)
        sidecar.check_compatible(self.path, meta, here)
        sidecar.check_plan_hash(self.path, meta)
        return trt

    def _activate(self) -> None:
        trt = self.check_here()
        meta = self.metadata
        self._logger = trt.Logger(trt.Logger.ERROR)
        self._runtime = builder.runtime_for(trt, self._logger, built_dla_core(meta))
        with open(self.path, "rb") as f:
            self.engine = self._runtime.deserialize_cuda_engine(f.read())
        if self.engine is None:
            raise EdgesegError(f"{self.path}: TensorRT could not deserialize the engine (see its error above)")
        self.context = self._create_context()
        self.stream = self.cuda.stream()
        self.events = [self.cuda.event() for _ in range(4)]
        self._slot_events = [self.cuda.event() for _ in range(self.async_depth)]
        self._split_io(trt)

    def _create_context(self):
        if not self.rtx:
            return self.engine.create_execution_context()

        self._rtx_config = self.engine.create_runtime_config()
        self._rtx_cache = rtx.attach_runtime_cache(self._rtx_config, rtx.cache_path(self.path, self.runtime_cache))
        return self.engine.create_execution_context(self._rtx_config)

    def _split_io(self, trt) -> None:
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        is_input = {n: self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT for n in names}
        self.inputs = [n for n in names if is_input[n]]
        self.outputs = [n for n in names if not is_input[n]]
        if len(self.inputs) != 1 or not self.outputs:
            raise EdgesegError(f"{self.path}: expected one input and at least one output, got inputs {self.inputs}")
        wanted = self.metadata.get("io", {}).get("output", {}).get("name")
        self.output = wanted if wanted in self.outputs else self.outputs[0]
        self.dtypes = {n: numpy_dtype(dtype_name(self.engine.get_tensor_dtype(n)), n) for n in names}

    def _deactivate(self) -> None:
        self._drop_graph()
        if self._rtx_cache is not None:  # keep the kernels the JIT step compiled for the next run
            rtx.save_runtime_cache(self._rtx_cache, rtx.cache_path(self.path, self.runtime_cache))
            self._rtx_cache = self._rtx_config = None
        for _, ptr, host in self.buffers.values():
            self.cuda.free(ptr)
            self.cuda.free_pinned(host)
        for event in self.events + self._slot_events:
            self.cuda.destroy_event(event)
        self._slot_events = []
        self.cuda.destroy_stream(self.stream)
        self.buffers, self.events = {}, []
        self.context = self.engine = self._runtime = self.stream = None
        self.cuda.close()

    # -- buffers -----------------------------------------------------------------------------
    def _alloc(self, key: str, name: str, shape: tuple) -> tuple[tuple, bool]:
        """(shape, device pointer, pinned host array) of tensor `name`, kept under `key` in self.buffers
        (deactivate frees them all); True when it was (re)allocated."""
        current = self.buffers.get(key)
        if current is not None and current[0] == shape:
            return current, False
        if current is not None:
            self.cuda.free(current[1])
            self.cuda.free_pinned(current[2])
        host = self.cuda.pinned(shape, self.dtypes[name])
        self.buffers[key] = (shape, self.cuda.malloc(host.nbytes), host)
        return self.buffers[key], True

    def _buffer(self, name: str, shape: tuple) -> tuple:
        entry, new = self._alloc(name, name, shape)
        if new:
            self.context.set_tensor_address(name, entry[1])
            self._drop_graph()  # a captured graph holds the old addresses
        return entry

    def _set_shape(self, batch: np.ndarray) -> None:
        name = self.inputs[0]
        if tuple(self.context.get_tensor_shape(name)) == batch.shape:
            return
        if not self.context.set_input_shape(name, batch.shape):
            raise EdgesegError(f"{self.path}: input shape {batch.shape} does not fit the engine, which takes "
                               f"{self._accepted_shapes(name)}")
        self._drop_graph()

    def _accepted_shapes(self, name: str) -> str:
        declared = tuple(self.engine.get_tensor_shape(name))
        if all(d > 0 for d in declared):
            return f"only {declared}"
        lo, opt, hi = (tuple(s) for s in self.engine.get_tensor_profile_shape(name, 0))
        return f"shapes from {lo} to {hi} (optimized for {opt})"

    # -- inference ---------------------------------------------------------------------------
    def _infer(self, batch: np.ndarray) -> np.ndarray:
        name = self.inputs[0]
        batch = np.ascontiguousarray(batch, dtype=self.dtypes[name])
        self._set_shape(batch)
        _, in_ptr, in_host = self._buffer(name, batch.shape)
        outs = {o: self._buffer(o, tuple(self.context.get_tensor_shape(o))) for o in self.outputs}
        if self._slots_used:  # `submit` left the context on a slot's buffers
            self._point_at(name, in_ptr, outs)
            self._slots_used = False
        cuda, stream, (e0, e1, e2, e3) = self.cuda, self.stream, self.events
        np.copyto(in_host, batch)
        cuda.record(e0, stream)
        cuda.h2d(in_ptr, in_host, stream)
        cuda.record(e1, stream)
        self._launch()
        cuda.record(e2, stream)
        _, out_ptr, out_host = outs[self.output]
        cuda.d2h(out_host, out_ptr, stream)
        cuda.record(e3, stream)
        cuda.sync(stream)
        self.last_timing = Timing(compute_ms=cuda.elapsed_ms(e1, e2), h2d_ms=cuda.elapsed_ms(e0, e1),
                                  d2h_ms=cuda.elapsed_ms(e2, e3), extra={"cuda_graph": self.graph is not None})
        out = out_host.copy()
        return out.astype(np.float32) if np.issubdtype(out.dtype, np.floating) and out.dtype != np.float32 else out

    # -- streaming: two slots in flight -------------------------------------------------------
    async_depth = 2

    def submit(self, batch: np.ndarray):
        """Queue copy-in, launch and copy-out of one batch on the stream and return at once; the
        returned function waits for that batch alone (its event), so the caller's work on frame i
        overlaps the GPU's on frame i+1. Two slots of page-locked and device buffers take turns;
        collect in submission order with at most two in flight. A CUDA graph holds one set of
        addresses, so with `cuda_graph` each batch runs synchronously."""
        if self.cuda_graph or not self.active:
            return super().submit(batch)
        name = self.inputs[0]
        batch = np.ascontiguousarray(batch, dtype=self.dtypes[name])
        self._set_shape(batch)
        slot, self._turn = self._turn % self.async_depth, self._turn + 1
        _, in_ptr, in_host = self._slot_buffer(slot, name, batch.shape)
        outs = {o: self._slot_buffer(slot, o, tuple(self.context.get_tensor_shape(o))) for o in self.outputs}
        self._point_at(name, in_ptr, outs)
        self._slots_used = True
        np.copyto(in_host, batch)  # this slot's previous batch was collected: its buffers are free
        self.cuda.h2d(in_ptr, in_host, self.stream)
        self._enqueue()
        _, out_ptr, out_host = outs[self.output]
        self.cuda.d2h(out_host, out_ptr, self.stream)
        done = self._slot_events[slot]
        self.cuda.record(done, self.stream)

        def result() -> np.ndarray:
            self.cuda.wait(done)
            out = out_host.copy()
            return out.astype(np.float32) if np.issubdtype(out.dtype, np.floating) and out.dtype != np.float32 else out

        return result

    def _slot_buffer(self, slot: int, name: str, shape: tuple) -> tuple:
        return self._alloc(f"{name}@slot{slot}", name, shape)[0]

    def _point_at(self, name: str, in_ptr: int, outs: dict) -> None:
        self.context.set_tensor_address(name, in_ptr)  # read at enqueue time: each launch its own slot
        for o, (_, ptr, _) in outs.items():
            self.context.set_tensor_address(o, ptr)

    def _enqueue(self) -> None:
        if not self.context.execute_async_v3(self.cuda.handle(self.stream)):
            raise EdgesegError(f"{self.path}: TensorRT execution failed")

    def _launch(self) -> None:
        if not self.cuda_graph:
            self._enqueue()
            return
        if self.graph is None:
            self._enqueue()  # TensorRT settles shape-dependent state in one plain run before capture
            self.cuda.sync(self.stream)
            self.cuda.begin_capture(self.stream)
            try:
                self._enqueue()
            except Exception:
                with contextlib.suppress(EdgesegError):
                    self.cuda.end_capture(self.stream)
                raise
            self.graph = self.cuda.end_capture(self.stream)
        self.cuda.launch(self.graph, self.stream)

    def _drop_graph(self) -> None:
        if self.graph is not None:
            self.cuda.destroy_graph(self.graph)
            self.graph = None

    # -- description -------------------------------------------------------------------------
    @property
    def io_spec(self) -> IOSpec:
        io = self.metadata.get("io", {})
        inp, out = io.get("input", {}), io.get("output", {})
        dtype = inp.get("dtype", "float32")
        shape = tuple(d if isinstance(d, int) and d > 0 else None for d in inp.get("shape", []))
        return IOSpec(dtype, inp.get("layout", "NHWC" if dtype == "uint8" else "NCHW"), shape,
                      out.get("kind", "logits"))

    @property
    def description(self) -> str:
        return ("tensorrt-rtx" if self.rtx else "tensorrt") + (" cuda-graph" if self.cuda_graph else "")
