"""open_runner: the backend follows the file suffix; options go to the backend that takes them."""

import pytest

from edgeseg.errors import EdgesegError
from edgeseg.runtime import backend_of, open_runner

from tiny import tiny_onnx


def test_onnx_gets_provider_and_threads(tmp_path):
    runner = open_runner(tiny_onnx(tmp_path / "m.onnx"), provider="cpu", threads=3, device="cuda", variant=None)
    assert type(runner).__name__ == "OrtRunner" and runner.backend == "onnxruntime"
    assert (runner.provider, runner.threads) == ("cpu", 3)
    assert not runner.active  # building a runner loads nothing


@pytest.mark.parametrize("suffix", [".pth", ".pt"])
def test_checkpoint_gets_torch_options_and_drops_others(tmp_path, suffix):
    path = tmp_path / f"ckpt{suffix}"
    path.write_bytes(b"not loaded until activate()")
    runner = open_runner(path, provider="tensorrt", input_size=(180, 240), dataset="camvid", variant="s2fpn34m")
    assert type(runner).__name__ == "TorchRunner" and runner.backend == "torch"
    assert (runner.input_size, runner.dataset_name, runner.variant, runner.device) == ((180, 240), "camvid", "s2fpn34m", "cpu")


@pytest.mark.parametrize("suffix", [".engine", ".plan"])
def test_engine_goes_to_tensorrt(tmp_path, suffix):
    path = tmp_path / f"m{suffix}"
    path.write_bytes(b"plan")
    runner = open_runner(path, provider="cuda", threads=2, cuda_graph=True)
    assert type(runner).__name__ == "TensorRTRunner" and runner.cuda_graph is True


def test_errors(tmp_path):
    with pytest.raises(EdgesegError, match="unknown artifact type"):
        open_runner(tmp_path / "model.tflite")
    with pytest.raises(EdgesegError, match="nope.onnx: no such file"):
        open_runner(tmp_path / "nope.onnx")
    with pytest.raises(EdgesegError, match="unknown runner option.*provder"):
        open_runner(tiny_onnx(tmp_path / "m.onnx"), provder="cpu")


def test_backend_of_is_case_insensitive():
    assert backend_of("A.ONNX") == "onnxruntime" and backend_of("x.Engine") == "tensorrt"
