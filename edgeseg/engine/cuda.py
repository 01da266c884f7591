"""The few CUDA runtime calls the TensorRT runner and builder need, over cuda-python or pycuda.

cuda-python (`cuda.bindings.runtime`, `cuda.cudart` in releases before 12.6) is preferred:
it works on the primary context TensorRT uses and can capture CUDA graphs. pycuda, which
many Jetson images ship, is the fallback. Every call's status is checked and turned into an
EdgesegError naming the call.
"""

from __future__ import annotations

import ctypes

import numpy as np

from edgeseg.errors import EdgesegError, OptionError, field

INSTALL_HINT = "install it with: pip install 'edgeseg[tensorrt]'"


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
    """cuda-python backend: every call returns (status, values...)."""

    name = "cuda-python"

    def __init__(self, rt):
        self.rt = rt
        self._pinned: dict[int, int] = {}  # numpy data address -> cudaMallocHost pointer
        try:
            from cuda.bindings.utils import get_cuda_native_handle as native
        except ImportError:  # before cuda-bindings 13, int() was the way
            native = int
        self._native = native

    def _ok(self, result, what: str):
        status, *rest = result if isinstance(result, tuple) else (result,)
        if int(status) != 0:
            name = self.rt.cudaGetErrorName(status)[1]
            name = name.decode() if isinstance(name, bytes) else str(name)
            raise EdgesegError(f"CUDA {what} failed: {name}")
        return rest[0] if len(rest) == 1 else (tuple(rest) or None)

    def device_count(self) -> int:
        status, count = self.rt.cudaGetDeviceCount()
        if int(status) == int(self.rt.cudaError_t.cudaErrorInsufficientDriver):
            self._check_driver()
        return int(count) if int(status) == 0 else 0

    def _check_driver(self) -> None:
        """cuda-python links the CUDA runtime of its own major (13.x needs a CUDA 13 driver, JetPack 6 has 12):
        an older driver is not 'no GPU', so say which cuda-python fits. No driver at all stays 'no GPU'."""
        runtime = self.rt.cudaRuntimeGetVersion()[1] or 0
        driver = self.rt.cudaDriverGetVersion()[1] or 0
        if 0 < driver < runtime:
            major = runtime // 1000
            raise EdgesegError(
                f"cuda-python here is built for CUDA {major}.{runtime % 1000 // 10} but the NVIDIA driver supports "
                f"CUDA {driver // 1000}.{driver % 1000 // 10}: install the cuda-python of the driver's CUDA major "
                f"(pip install 'cuda-python<{major}') or update the driver")

    def set_device(self, index: int) -> None:
        self._ok(self.rt.cudaSetDevice(index), f"cudaSetDevice({index})")

    def device_info(self, index: int = 0) -> tuple[str, str]:
        """(name, compute capability 'major.minor')."""
        props = self._ok(self.rt.cudaGetDeviceProperties(index), "cudaGetDeviceProperties")
        name = props.name.decode(errors="replace") if isinstance(props.name, bytes) else str(props.name)
        return name.split("\0")[0].strip(), f"{props.major}.{props.minor}"

    def malloc(self, nbytes: int) -> int:
        return int(self._ok(self.rt.cudaMalloc(max(int(nbytes), 1)), "cudaMalloc"))

    def free(self, ptr: int) -> None:
        self._ok(self.rt.cudaFree(ptr), "cudaFree")

    def pinned(self, shape, dtype) -> np.ndarray:
        """A page-locked host array (async copies need it to overlap and not stage)."""
        count, dtype = int(np.prod(shape)), np.dtype(dtype)
        nbytes = max(count * dtype.itemsize, 1)
        ptr = int(self._ok(self.rt.cudaMallocHost(nbytes), "cudaMallocHost"))
        raw = (ctypes.c_uint8 * nbytes).from_address(ptr)
        arr = np.frombuffer(raw, dtype=dtype, count=count).reshape(tuple(shape))
        self._pinned[arr.ctypes.data] = ptr
        return arr

    def free_pinned(self, arr: np.ndarray) -> None:
        ptr = self._pinned.pop(arr.ctypes.data, None)
        if ptr is not None:
            self._ok(self.rt.cudaFreeHost(ptr), "cudaFreeHost")

    def stream(self):
        return self._ok(self.rt.cudaStreamCreate(), "cudaStreamCreate")

    def destroy_stream(self, stream) -> None:
        self._ok(self.rt.cudaStreamDestroy(stream), "cudaStreamDestroy")

    def handle(self, stream) -> int:
        """The raw cudaStream_t address TensorRT takes (int(obj) is deprecated since cuda-bindings 13.0)."""
        return int(self._native(stream))

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

    def destroy_event(self, event) -> None:
        self._ok(self.rt.cudaEventDestroy(event), "cudaEventDestroy")

    def record(self, event, stream) -> None:
        self._ok(self.rt.cudaEventRecord(event, stream), "cudaEventRecord")

    def wait(self, event) -> None:
        self._ok(self.rt.cudaEventSynchronize(event), "cudaEventSynchronize")

    def elapsed_ms(self, start, end) -> float:
        self._ok(self.rt.cudaEventSynchronize(end), "cudaEventSynchronize")
        return float(self._ok(self.rt.cudaEventElapsedTime(start, end), "cudaEventElapsedTime"))

    def begin_capture(self, stream) -> None:
        mode = self.rt.cudaStreamCaptureMode.cudaStreamCaptureModeThreadLocal
        self._ok(self.rt.cudaStreamBeginCapture(stream, mode), "cudaStreamBeginCapture")

    def end_capture(self, stream):
        """End capture; returns (graph, executable graph)."""
        graph = self._ok(self.rt.cudaStreamEndCapture(stream), "cudaStreamEndCapture")
        return graph, self._ok(self.rt.cudaGraphInstantiate(graph, 0), "cudaGraphInstantiate")

    def launch(self, graph, stream) -> None:
        self._ok(self.rt.cudaGraphLaunch(graph[1], stream), "cudaGraphLaunch")

    def destroy_graph(self, graph) -> None:
        self._ok(self.rt.cudaGraphExecDestroy(graph[1]), "cudaGraphExecDestroy")
        self._ok(self.rt.cudaGraphDestroy(graph[0]), "cudaGraphDestroy")

    def close(self) -> None:
        pass  # the primary context stays for TensorRT and others in this process


class PyCuda:
    """pycuda backend: pushes the device's primary context, the one TensorRT works in."""

    name = "pycuda"

    def __init__(self):
        import pycuda.driver as drv

        self.drv = drv
        try:
            drv.init()
        except drv.Error as exc:
            raise EdgesegError(f"pycuda cannot initialise CUDA ({exc}); check the NVIDIA driver") from None
        self._allocs: dict[int, object] = {}
        self._context = None

    def device_count(self) -> int:
        try:
            return self.drv.Device.count()
        except self.drv.Error:
            return 0

    def set_device(self, index: int) -> None:
        if self._context is not None:
            self._context.pop()
        self._context = self.drv.Device(index).retain_primary_context()
        self._context.push()

    def device_info(self, index: int = 0) -> tuple[str, str]:
        dev = self.drv.Device(index)
        major, minor = dev.compute_capability()
        return dev.name(), f"{major}.{minor}"

    def malloc(self, nbytes: int) -> int:
        alloc = self.drv.mem_alloc(max(int(nbytes), 1))
        self._allocs[int(alloc)] = alloc
        return int(alloc)

    def free(self, ptr: int) -> None:
        alloc = self._allocs.pop(ptr, None)
        if alloc is not None:
            alloc.free()

    def pinned(self, shape, dtype) -> np.ndarray:
        return self.drv.pagelocked_empty(tuple(shape), dtype)

    def free_pinned(self, arr) -> None:
        base = getattr(arr, "base", None)
        if base is not None and hasattr(base, "free"):
            base.free()

    def stream(self):
        return self.drv.Stream()

    def destroy_stream(self, stream) -> None:
        pass  # released with the object

    def handle(self, stream) -> int:
        return int(stream.handle)

    def h2d(self, dst: int, src: np.ndarray, stream) -> None:
        self.drv.memcpy_htod_async(dst, src, stream)

    def d2h(self, dst: np.ndarray, src: int, stream) -> None:
        self.drv.memcpy_dtoh_async(dst, src, stream)

    def sync(self, stream) -> None:
        stream.synchronize()

    def event(self):
        return self.drv.Event()

    def destroy_event(self, event) -> None:
        pass

    def record(self, event, stream) -> None:
        event.record(stream)

    def wait(self, event) -> None:
        event.synchronize()

    def elapsed_ms(self, start, end) -> float:
        end.synchronize()
        return float(start.time_till(end))

    def begin_capture(self, stream) -> None:
        raise OptionError("CUDA graph capture needs cuda-python (pycuda cannot capture streams): "
                           f"pip install cuda-python, or run without {field('cuda_graph')}")

    def close(self) -> None:
        if self._context is not None:
            self._context.pop()
            self._context = None


def open_cuda():
    """cuda-python if installed, else pycuda; one clear line when neither is."""
    rt = _cudart()
    if rt is not None:
        return CudaPython(rt)
    try:
        return PyCuda()
    except ImportError:
        raise EdgesegError(f"neither cuda-python nor pycuda is installed (TensorRT needs one to move data); "
                           f"{INSTALL_HINT}") from None


def open_device(index: int = 0):
    """(cuda api, device name, compute capability) for GPU `index`, made current."""
    cuda = open_cuda()
    count = cuda.device_count()
    if count == 0:
        raise EdgesegError("no CUDA GPU is visible here (check the NVIDIA driver and CUDA_VISIBLE_DEVICES)")
    if not 0 <= index < count:
        raise EdgesegError(f"GPU {index} does not exist: this machine has {count} CUDA device(s)")
    cuda.set_device(index)
    name, cc = cuda.device_info(index)
    return cuda, name, cc
