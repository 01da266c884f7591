"""The cuda-python backend against a stand-in for `cuda.bindings.runtime`: the (status, value) tuples,
the calls and enums it names, and the line it gives when the driver is older than cuda-python."""

import enum
from types import SimpleNamespace

import pytest

from edgeseg.engine.cuda import CudaPython
from edgeseg.errors import EdgesegError


class Err(enum.IntEnum):
    cudaSuccess = 0
    cudaErrorInsufficientDriver = 35
    cudaErrorNoDevice = 100


class FakeRuntime:
    """Answers like cuda-python 12/13: every call returns a tuple whose first item is the status."""

    cudaError_t = Err
    cudaStreamCaptureMode = SimpleNamespace(cudaStreamCaptureModeGlobal=0, cudaStreamCaptureModeThreadLocal=1)
    cudaMemcpyKind = SimpleNamespace(cudaMemcpyHostToDevice=1, cudaMemcpyDeviceToHost=2)

    def __init__(self, count_status=Err.cudaSuccess, runtime=13050, driver=13050):
        self.count_status, self.runtime, self.driver = count_status, runtime, driver
        self.calls = []

    def cudaGetDeviceCount(self):
        return (self.count_status, None if self.count_status else 1)

    def cudaRuntimeGetVersion(self):
        return (Err.cudaSuccess, self.runtime)

    def cudaDriverGetVersion(self):
        return (Err.cudaSuccess, self.driver)

    def cudaGetErrorName(self, status):
        return (Err.cudaSuccess, Err(status).name.encode())

    def __getattr__(self, name):  # any other call: recorded, answers success and a handle
        def call(*args):
            self.calls.append((name, args))
            return (Err.cudaSuccess, f"{name}-result") if name in self.RETURNS_VALUE else (Err.cudaSuccess,)
        return call

    RETURNS_VALUE = {"cudaStreamEndCapture", "cudaGraphInstantiate", "cudaStreamCreate"}


def test_driver_older_than_cuda_python_is_named():
    """cuda-python 13 on a JetPack 6 driver (CUDA 12.6) answers cudaErrorInsufficientDriver, not 'no GPU'."""
    cuda = CudaPython(FakeRuntime(Err.cudaErrorInsufficientDriver, runtime=13050, driver=12060))
    with pytest.raises(EdgesegError, match=r"built for CUDA 13\.5 .* supports CUDA 12\.6: .*'cuda-python<13'"):
        cuda.device_count()


def test_no_driver_is_no_gpu():
    assert CudaPython(FakeRuntime(Err.cudaErrorInsufficientDriver, driver=0)).device_count() == 0
    assert CudaPython(FakeRuntime(Err.cudaErrorNoDevice)).device_count() == 0
    assert CudaPython(FakeRuntime()).device_count() == 1


def test_status_tuples_are_unpacked_and_failures_named():
    cuda = CudaPython(FakeRuntime())
    assert cuda._ok((Err.cudaSuccess,), "x") is None
    assert cuda._ok((Err.cudaSuccess, 7), "x") == 7
    assert cuda._ok((Err.cudaSuccess, 7, 8), "x") == (7, 8)
    with pytest.raises(EdgesegError, match="CUDA cudaMalloc failed: cudaErrorNoDevice"):
        cuda._ok((Err.cudaErrorNoDevice, None), "cudaMalloc")


def test_graph_capture_uses_the_cuda_12_signatures():
    rt = FakeRuntime()
    cuda = CudaPython(rt)
    cuda.begin_capture("s")
    graph = cuda.end_capture("s")
    cuda.launch(graph, "s")
    cuda.destroy_graph(graph)
    assert rt.calls == [
        ("cudaStreamBeginCapture", ("s", 1)),  # thread-local capture mode
        ("cudaStreamEndCapture", ("s",)),
        ("cudaGraphInstantiate", ("cudaStreamEndCapture-result", 0)),  # (graph, flags) since CUDA 12
        ("cudaGraphLaunch", ("cudaGraphInstantiate-result", "s")),
        ("cudaGraphExecDestroy", ("cudaGraphInstantiate-result",)),
        ("cudaGraphDestroy", ("cudaStreamEndCapture-result",)),
    ]


def test_stream_handle_is_the_raw_address():
    cuda = CudaPython(FakeRuntime())
    cuda._native = lambda stream: stream.address  # what cuda.bindings.utils.get_cuda_native_handle returns
    assert cuda.handle(SimpleNamespace(address=0x7F00)) == 0x7F00
