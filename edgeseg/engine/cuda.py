"""The few CUDA runtime calls the TensorRT runner needs, over cuda-python or pycuda.

cuda-python (`cuda.bindings.runtime`, or `cuda.cudart` in older releases) is the default;
pycuda is used when it is what is installed. Every call checks its status.
"""

from __future__ import annotations

import ctypes

import numpy as np

from edgeseg.errors import EdgesegError


def _cudart():
    try:
        from cuda.bindings import runtime as cudart  # cuda-python >= 12.6
        return cudart
    except ImportError:
        pass
    try:
        from cuda import cudart  # older cuda-python
        return cudart
    except ImportError:
        return None


class CudaPython:
    """cuda-python backend: calls return (status, value...) tuples."""

    name = "cuda-python"

    def __init__(self, rt):
        self.rt = rt
        self._pinned: dict[int, int] = {}  # array address -> pinned allocation

    def _ok(self, result, what: str):
        status, *rest = result if isinstance(result, tuple) else (result,)
        if int(status) != 0:
            raise EdgesegError(f"CUDA {what} failed: {self.rt.cudaGetErrorName(status)[1]}")
        return rest[0] if len(rest) == 1 else (rest or None)

    def device_name(self, index: int = 0) -> tuple[str, str]:
        props = self._ok(self.rt.cudaGetDeviceProperties(index), "cudaGetDeviceProperties")
        name = props.name.decode() if isinstance(props.name, bytes) else str(props.name)
        return name.rstrip("\0"), f"{props.major}.{props.minor}"

    def malloc(self, nbytes: int) -> int:
        return int(self._ok(self.rt.cudaMalloc(max(nbytes, 1)), "cudaMalloc"))

    def free(self, ptr: int) -> None:
        self._ok(self.rt.cudaFree(ptr), "cudaFree")

    def pinned(self, shape, dtype) -> np.ndarray:
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        ptr = int(self._ok(self.rt.cudaMallocHost(max(nbytes, 1)), "cudaMallocHost"))
        buf = (ctypes.c_byte * max(nbytes, 1)).from_address(ptr)
        arr = np.frombuffer(buf, dtype=dtype, count=int(np.prod(shape))).reshape(shape)
        self._pinned[arr.ctypes.data] = ptr
        return arr

    def free_pinned(self, arr: np.ndarray) -> None:
        ptr = self._pinned.pop(arr.ctypes.data, None)
        if ptr is not None:
            self._ok(self.rt.cudaFreeHost(ptr), "cudaFreeHost")

    def stream(self):
        return self._ok(self.rt.cudaStreamCreate(), "cudaStreamCreate")

    def h2d(self, dst: int, src: np.ndarray, stream) -> None:
        kind = self.rt.cudaMemcpyKind.cudaMemcpyHostToDevice
        self._ok(self.rt.cudaMemcpyAsync(dst, src.ctypes.data, src.nbytes, kind, stream), "cudaMemcpyAsync H2D")

    def d2h(self, dst: np.ndarray, src: int, stream) -> None:
        kind = self.rt.cudaMemcpyKind.cudaMemcpyDeviceToHost
        self._ok(self.rt.cudaMemcpyAsync(dst.ctypes.data, src, dst.nbytes, kind, stream), "cudaMemcpyAsync D2H")

    def sync(self, stream) -> None:
        self._ok(self.rt.cudaStreamSynchronize(stream), "cudaStreamSynchronize")

    def event(self):
        return self._ok(self.rt.cudaEventCreate(), "cudaEventCreate")

    def record(self, event, stream) -> None:
        self._ok(self.rt.cudaEventRecord(event, stream), "cudaEventRecord")

    def elapsed_ms(self, start, end) -> float:
        return float(self._ok(self.rt.cudaEventElapsedTime(start, end), "cudaEventElapsedTime"))

    def stream_handle(self, stream) -> int:
        return int(stream)

    def begin_capture(self, stream) -> None:
        mode = self.rt.cudaStreamCaptureMode.cudaStreamCaptureModeGlobal
        self._ok(self.rt.cudaStreamBeginCapture(stream, mode), "cudaStreamBeginCapture")

    def end_capture(self, stream):
        graph = self._ok(self.rt.cudaStreamEndCapture(stream), "cudaStreamEndCapture")
        return self._ok(self.rt.cudaGraphInstantiate(graph, 0), "cudaGraphInstantiate")

    def launch(self, graph_exec, stream) -> None:
        self._ok(self.rt.cudaGraphLaunch(graph_exec, stream), "cudaGraphLaunch")


class PyCuda:
    """pycuda backend (Jetson images often ship it)."""

    name = "pycuda"

    def __init__(self):
        import pycuda.autoinit  # noqa: F401  (creates the context)
        import pycuda.driver as drv

        self.drv = drv
        self._allocs = {}

    def device_name(self, index: int = 0) -> tuple[str, str]:
        dev = self.drv.Device(index)
        major, minor = dev.compute_capability()
        return dev.name(), f"{major}.{minor}"

    def malloc(self, nbytes: int) -> int:
        alloc = self.drv.mem_alloc(max(nbytes, 1))
        self._allocs[int(alloc)] = alloc
        return int(alloc)

    def free(self, ptr: int) -> None:
        self._allocs.pop(ptr, None)

    def pinned(self, shape, dtype) -> np.ndarray:
        return self.drv.pagelocked_empty(tuple(shape), dtype)

    def free_pinned(self, arr) -> None:
        pass  # released with the array

    def stream(self):
        return self.drv.Stream()

    def h2d(self, dst: int, src: np.ndarray, stream) -> None:
        self.drv.memcpy_htod_async(dst, src, stream)

    def d2h(self, dst: np.ndarray, src: int, stream) -> None:
        self.drv.memcpy_dtoh_async(dst, src, stream)

    def sync(self, stream) -> None:
        stream.synchronize()

    def event(self):
        return self.drv.Event()

    def record(self, event, stream) -> None:
        event.record(stream)

    def elapsed_ms(self, start, end) -> float:
        end.synchronize()
        return start.time_till(end)

    def stream_handle(self, stream) -> int:
        return stream.handle

    def begin_capture(self, stream) -> None:
        raise EdgesegError("CUDA graph capture needs cuda-python; pycuda does not expose stream capture")


def open_cuda():
    rt = _cudart()
    if rt is not None:
        return CudaPython(rt)
    try:
        return PyCuda()
    except ImportError:
        raise EdgesegError("neither cuda-python nor pycuda is installed; install with: pip install 'edgeseg[tensorrt]'") from None
