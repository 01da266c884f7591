"""open_runner: the backend follows the file suffix; RunnerOptions go whole to the backend, and an
option it cannot honour is refused in one line, never dropped."""

import pytest

from edgeseg.errors import EdgesegError, OptionError
from edgeseg.runtime import RunnerOptions, backend_of, open_runner
from edgeseg.runtime.choice import RunnerRequest, runner_for

from tiny import tiny_onnx


def test_onnx_gets_provider_and_threads(tmp_path):
    runner = open_runner(tiny_onnx(tmp_path / "m.onnx"), None, RunnerOptions(provider="cpu", threads=3))
    assert type(runner).__name__ == "OrtRunner" and runner.backend == "onnxruntime"
    assert (runner.provider, runner.threads) == ("cpu", 3)
    assert not runner.active  # building a runner loads nothing


@pytest.mark.parametrize("suffix", [".pth", ".pt"])
def test_checkpoint_gets_torch_options(tmp_path, suffix):
    path = tmp_path / f"ckpt{suffix}"
    path.write_bytes(b"not loaded until activate()")
    runner = open_runner(path, input_size=(180, 240), dataset="camvid", variant="s2fpn34m")
    assert type(runner).__name__ == "TorchRunner" and runner.backend == "torch"
    assert (runner.input_size, runner.dataset_name, runner.variant, runner.torch_device) == \
        ((180, 240), "camvid", "s2fpn34m", "cpu")


@pytest.mark.parametrize("suffix", [".engine", ".plan"])
def test_engine_goes_to_tensorrt(tmp_path, suffix):
    path = tmp_path / f"m{suffix}"
    path.write_bytes(b"plan")
    runner = open_runner(path, cuda_graph=True, gpu_index=1)
    assert type(runner).__name__ == "TensorRTRunner" and runner.cuda_graph is True and runner.gpu_index == 1


def test_an_option_the_backend_cannot_honour_is_refused_in_one_line(tmp_path):
    ckpt = tmp_path / "c.pth"
    ckpt.write_bytes(b"x")
    with pytest.raises(OptionError) as info:
        open_runner(ckpt, provider="tensorrt")
    assert "c.pth runs on torch, which cannot honour --provider=tensorrt" in str(info.value)
    assert info.value.fields == ["provider"] and "\n" not in str(info.value)
    with pytest.raises(OptionError, match="cannot honour --cuda-graph"):
        open_runner(tiny_onnx(tmp_path / "m.onnx"), cuda_graph=True)
    with pytest.raises(OptionError, match="cannot honour --input-size"):
        open_runner(tmp_path / "m.onnx", None, RunnerOptions(input_size=(8, 8)))
    with pytest.raises(OptionError, match="threads.*at least 1"):
        RunnerOptions(threads=0)


def test_a_mixed_command_line_gets_each_artifact_its_own_options(tmp_path):
    """One request for a checkpoint, an ONNX model and an engine: each setting goes to the
    artifacts it is for, so open_runner has nothing to refuse."""
    onnx_path, ckpt, engine = tiny_onnx(tmp_path / "m.onnx"), tmp_path / "c.pth", tmp_path / "e.engine"
    ckpt.write_bytes(b"x")
    engine.write_bytes(b"plan")
    request = RunnerRequest(backend="onnxruntime", provider="cpu", threads=2, input_size=(36, 48), variant="s2fpn18",
                            cuda_graph=True, class_map=True)
    backend, onnx_options = runner_for(onnx_path, request)
    assert backend == "onnxruntime"
    assert onnx_options == RunnerOptions(provider="cpu", threads=2, class_map=True)
    assert runner_for(ckpt, request)[1] == RunnerOptions(threads=2, input_size=(36, 48), variant="s2fpn18",
                                                         class_map=True)
    assert runner_for(engine, request)[1] == RunnerOptions(cuda_graph=True)
    for path in (onnx_path, ckpt, engine):
        open_runner(path, *runner_for(path, request))


def test_errors(tmp_path):
    with pytest.raises(EdgesegError, match="unknown artifact type"):
        open_runner(tmp_path / "model.tflite")
    with pytest.raises(EdgesegError, match="nope.onnx: no such file"):
        open_runner(tmp_path / "nope.onnx")
    with pytest.raises(EdgesegError, match="unknown runner option.*provder"):
        open_runner(tiny_onnx(tmp_path / "m.onnx"), provder="cpu")
    with pytest.raises(EdgesegError, match="unknown runner option.*device"):
        open_runner(tmp_path / "m.onnx", device="cpu")  # `device` is the device profile, never a runner's


def test_backend_of_is_case_insensitive():
    assert backend_of("A.ONNX") == "onnxruntime" and backend_of("x.Engine") == "tensorrt"
