"""Without TensorRT: one line saying so, exit 1, nothing written."""

import importlib.util

import pytest

from edgeseg.cli.main import main

pytestmark = pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None, reason="TensorRT is installed here")


def test_build_without_tensorrt(tmp_path, capsys):
    onnx_path = tmp_path / "m.onnx"
    onnx_path.write_bytes(b"x")
    code = main(["build", str(onnx_path), "-o", str(tmp_path / "m.engine")])
    err = capsys.readouterr().err
    assert code == 1 and "TensorRT is not installed" in err and err.count("\n") == 1
    assert not (tmp_path / "m.engine").exists() and list(tmp_path.iterdir()) == [onnx_path]
