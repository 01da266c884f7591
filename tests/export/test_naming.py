"""Every artifact's file name comes from naming.path_for (issue 29): the names the stages had."""

from pathlib import Path

import pytest

from edgeseg.export.naming import path_for
from edgeseg.quant.config import QuantConfig

OUT, STEM = Path("/w"), "s2fpn18_180x240"


@pytest.mark.parametrize("stage,facts,name", [
    ("deploy", {}, "s2fpn18_180x240.deploy.pt"),
    ("raw", {}, "s2fpn18_180x240.raw.onnx"),
    ("simplified", {}, "s2fpn18_180x240.fp32.onnx"),
    ("fp16", {"fp16_io": False}, "s2fpn18_180x240.fp16.onnx"),
    ("fp16", {"fp16_io": True}, "s2fpn18_180x240.fp16-io16.onnx"),
])
def test_work_directory_names(stage, facts, name):
    assert path_for(stage, out_dir=OUT, stem=STEM, **facts) == OUT / name


def test_quantized_names_carry_the_quantization_tag():
    from edgeseg.quant.config import artifact_tag

    config = QuantConfig()
    assert path_for("int8", out_dir=OUT, stem=STEM, quant=config).name == f"{STEM}.{artifact_tag(config)}.onnx"


@pytest.mark.parametrize("stage,parent,facts,name", [
    ("io", "m.int8.onnx", {"embed_preprocess": True, "argmax": "uint8"}, "m.int8.bgr8in-labels-uint8.onnx"),
    ("io", "m.fp32.onnx", {"argmax": "int32"}, "m.fp32.labels-int32.onnx"),
    ("engine", "m.fp16.onnx", {}, "m.fp16.engine"),
    ("openvino", "m.fp32.onnx", {}, "m.fp32.xml"),
    ("openvino", "m.fp32.onnx", {"hint": "bf16"}, "m.fp32.bf16.xml"),
    ("nncf", "m.fp32.onnx", {}, "m.nncf-int8.xml"),
    ("nncf-ac", "m.fp32.onnx", {}, "m.nncf-ac-int8.xml"),
    ("tail", "m.nncf-int8.xml", {"tail": "argmax"}, "m.nncf-int8.argmax.xml"),
])
def test_names_after_the_parent(stage, parent, facts, name):
    assert path_for(stage, parent=OUT / parent, **facts) == OUT / name


def test_an_unknown_stage_has_no_name():
    with pytest.raises(ValueError):
        path_for("mystery", parent=OUT / "m.onnx")
