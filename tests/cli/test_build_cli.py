"""`edgeseg build` where TensorRT cannot run: one line saying so, exit 1, no traceback, nothing written."""

import importlib.util
import subprocess
import sys

import pytest

from edgeseg.cli.main import main

HAS_TRT = importlib.util.find_spec("tensorrt") is not None


@pytest.fixture
def model(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Relu", ["input"], ["logits"])], "g",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 3, 8, 8])])
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph), str(path))
    return path


@pytest.mark.slow
@pytest.mark.skipif(HAS_TRT, reason="TensorRT is installed here")
def test_build_without_tensorrt(tmp_path, model):
    proc = subprocess.run([sys.executable, "-m", "edgeseg.cli.main", "build", str(model), "-o", str(tmp_path / "m.engine"),
                           "--timing-cache", str(tmp_path / "t.cache")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("error: TensorRT is not installed") and "pip install 'edgeseg[tensorrt]'" in proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]


@pytest.mark.parametrize("args,message", [
    (["-o", "m.trt"], "must end in .engine or .plan"),
    (["-o", "m.engine", "--opt-level", "6"], "--opt-level must be 0..5"),
    (["-o", "m.engine", "--shapes", "1x3x8:1x3x4:1x3x8"], "min <= opt <= max"),
    (["-o", "m.engine", "--device", "jetson-nano-2gb"], "unknown device profile"),
])
def test_option_errors_are_one_line(tmp_path, model, capsys, args, message):
    args = [a if not a.startswith("m.") else str(tmp_path / a) for a in args]
    code = main(["build", str(model), *args])
    err = capsys.readouterr().err
    assert code == 1 and message in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]


def test_help_lists_the_build_options(capsys):
    assert main(["build", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--out", "--device", "--workspace", "--opt-level", "--timing-cache", "--shapes", "--dla-core"):
        assert option in out
