"""Which TensorRT: runtime names, "not installed" vs "installed but broken", and `edgeseg build` with
TensorRT importable on a machine without a GPU (one line, exit 1, nothing written)."""

import sys

import pytest

from edgeseg.cli.main import main
from edgeseg.engine import cuda as cuda_mod
from edgeseg.engine.flavors import TENSORRT, TENSORRT_RTX, Flavor, flavor, import_module
from edgeseg.errors import EdgesegError


def test_runtime_names():
    assert flavor(None) is TENSORRT and flavor("TensorRT_RTX") is TENSORRT_RTX and TENSORRT_RTX.aot
    with pytest.raises(EdgesegError, match="--runtime must be one of tensorrt, tensorrt-rtx, got 'onnxruntime'"):
        flavor("onnxruntime")


def test_not_installed_is_its_own_line():
    absent = Flavor("tensorrt", "edgeseg_test_no_such_module", "TensorRT", "tensorrt", False, "needs a GPU")
    with pytest.raises(EdgesegError, match=r"^TensorRT is not installed \(needs a GPU\); install it there with: "
                                           r"pip install 'edgeseg\[tensorrt\]'$"):
        import_module(absent)


def _fake_package(root, name: str, body: str):
    pkg = root / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text(body)


@pytest.fixture
def fake_tensorrt(tmp_path, monkeypatch):
    """Put a stand-in `tensorrt` package first on sys.path; `body` is its __init__."""

    def install(body: str):
        _fake_package(tmp_path, "tensorrt", body)
        monkeypatch.syspath_prepend(str(tmp_path))
        monkeypatch.delitem(sys.modules, "tensorrt", raising=False)

    yield install
    sys.modules.pop("tensorrt", None)


def test_bindings_without_libnvinfer_are_broken_not_missing(fake_tensorrt):
    # What CPython raises when the bindings' extension cannot dlopen libnvinfer: an ImportError whose
    # `name` is the extension's module name, `tensorrt` -- which used to read as "not installed".
    fake_tensorrt('raise ImportError("libnvinfer.so.10: cannot open shared object file: No such file or '
                  'directory", name="tensorrt")\n')
    with pytest.raises(EdgesegError) as info:
        import_module(TENSORRT)
    line = str(info.value)
    assert line.startswith("TensorRT is installed but cannot be loaded (libnvinfer.so.10: cannot open shared object")
    assert "not installed" not in line and "\n" not in line and "pip install 'edgeseg[tensorrt]'" in line


def test_build_with_tensorrt_but_no_gpu(tmp_path, fake_tensorrt, monkeypatch, capsys):
    """TensorRT imports, CUDA finds no device: `edgeseg build` says so in one line and writes nothing."""
    import onnx
    from onnx import TensorProto, helper

    from test_cuda import Err, FakeRuntime

    fake_tensorrt('__version__ = "10.3.0.30"\n')
    monkeypatch.setattr(cuda_mod, "_cudart", lambda: FakeRuntime(Err.cudaErrorNoDevice))
    graph = helper.make_graph([helper.make_node("Relu", ["input"], ["logits"])], "g",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 3, 8, 8])])
    model = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph), str(model))
    before = sorted(p.name for p in tmp_path.iterdir())
    code = main(["build", str(model), "-o", str(tmp_path / "m.engine"), "--timing-cache", str(tmp_path / "t.cache")])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert "no CUDA GPU is visible here" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
