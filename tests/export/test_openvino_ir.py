"""OpenVINO IR artifacts: the contract in rt_info and the sidecar; the file decides."""

import json

import numpy as np
import pytest

from edgeseg.artifacts import read_metadata, sidecar_path
from edgeseg.errors import EdgesegError

META = {"precision": "int8", "preprocess": {"mean_bgr": [1, 2, 3], "input_size": [4, 4]}, "stage": "nncf",
        "provenance": {"stage_key": "k1"}}


@pytest.fixture
def ir(tmp_path):
    ov = pytest.importorskip("openvino")
    from openvino import opset13 as ops

    from edgeseg.export.openvino_ir import write_ir

    p = ops.parameter([1, 3, 4, 4], np.float32)
    w = ops.constant(np.ones((2, 3, 1, 1), np.float32))
    model = ov.Model([ops.convolution(p, w, [1, 1], [0, 0], [0, 0], [1, 1])], [p])
    return write_ir(model, tmp_path / "m.xml", META)


def test_contract_in_the_file_and_the_sidecar(ir):
    meta = read_metadata(ir)
    assert meta["preprocess"] == META["preprocess"] and meta["bin_sha256"]
    sidecar_path(ir).unlink()
    assert read_metadata(ir)["precision"] == "int8"  # rt_info alone still knows its contract


def test_reusable_only_with_the_same_key(ir):
    from edgeseg.export.openvino_ir import reusable

    assert reusable(ir, "k1") and not reusable(ir, "k2")


def test_a_sidecar_of_other_weights_is_refused(ir):
    data = bytearray(ir.with_suffix(".bin").read_bytes())
    data[0] ^= 0xFF
    ir.with_suffix(".bin").write_bytes(bytes(data))
    with pytest.raises(EdgesegError, match="stale sidecar"):
        read_metadata(ir)


def test_a_sidecar_that_disagrees_on_the_contract_is_refused(ir):
    side = json.loads(sidecar_path(ir).read_text())
    side.pop("sha256")
    side.pop("bin_sha256")
    sidecar_path(ir).write_text(json.dumps({**side, "precision": "fp32"}))
    with pytest.raises(EdgesegError, match="precision"):
        read_metadata(ir)


def test_an_ir_opens_in_the_openvino_runner(ir):
    from edgeseg.runtime import open_runner

    with open_runner(ir, threads=1) as runner:
        assert runner.backend == "openvino"
        assert runner.infer(np.ones((1, 3, 4, 4), np.float32)).shape == (1, 2, 4, 4)
