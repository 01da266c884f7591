"""GPU candidates from what the machine has (TensorRT, PyTorch CUDA, compute capability)."""

import pytest

from edgeseg.errors import EdgesegError
from edgeseg.tune.gpu import gpu_candidates, runner_options


def names(**facts):
    base = {"tensorrt": False, "torch_cuda": False, "compute_cap": None}
    return [c.name for c in gpu_candidates({**base, **facts})[0]]


def test_tensorrt_engines_and_fp8_only_from_ada():
    orin_like = names(tensorrt=True, compute_cap="8.7")
    assert orin_like == ["fp32 onnxruntime", "engine-fp16 tensorrt", "engine-int8 tensorrt",
                         "engine-int8-fallback tensorrt"]
    assert "engine-fp8 tensorrt" in names(tensorrt=True, compute_cap="8.9")
    assert "engine-fp8 tensorrt" in names(tensorrt=True, compute_cap="12.0")


def test_pytorch_only_gets_eager_and_compiled_torch():
    got = names(torch_cuda=True, compute_cap="9.0")
    assert {"torch-eager fp32 cuda", "torch-eager fp16 cuda", "torch-eager bf16 cuda", "torch-compile fp32 cuda",
            "torch-compile bf16 cuda"} <= set(got)
    assert "torch-eager bf16 cuda" not in names(torch_cuda=True, compute_cap="7.5")  # Turing: no bf16 tensor cores


def test_runner_options_of_torch_candidates():
    cands = gpu_candidates({"tensorrt": False, "torch_cuda": True, "compute_cap": "9.0"})[0]
    compiled = next(c for c in cands if c.name == "torch-compile bf16 cuda")
    assert runner_options(compiled) == {"torch_device": "cuda", "amp": "bf16", "compile_mode": "reduce-overhead"}
    assert runner_options(cands[0]) == {}


def test_no_gpu_path_is_refused():
    with pytest.raises(EdgesegError, match="neither TensorRT nor PyTorch"):
        gpu_candidates({"tensorrt": False, "torch_cuda": False, "compute_cap": None})


@pytest.mark.gpu
@pytest.mark.slow
def test_tune_on_cuda(tmp_path_factory):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU here: the GPU candidates are built and timed only on one")
    import tuned
    from edgeseg.tune import tune

    folder = tmp_path_factory.mktemp("cuda")
    opts = tuned.options(folder / "sets", device="cuda")
    result = tune(tuned.TRAINED, folder / "out", opts)
    assert all(r.get("median_ms") or r.get("error") for r in result.report["candidates"])
    assert result.path.is_file()
