"""A small ONNX model carrying real edgeseg metadata, for the engine sidecar tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def tagged_onnx(tmp_path):
    """model.onnx with the CamVid preprocessing contract in its metadata_props (no JSON sidecar)."""
    import onnx
    from onnx import TensorProto, helper

    from edgeseg.artifacts import FORMAT, set_onnx_metadata
    from edgeseg.data.contract import DatasetInfo, Preprocess

    camvid = DatasetInfo.named("camvid")
    graph = helper.make_graph([helper.make_node("Identity", ["input"], ["logits"])], "g",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 180, 240])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 3, 180, 240])])
    model = helper.make_model(graph)
    set_onnx_metadata(model, {
        "format": FORMAT, "kind": "onnx", "stage": "simplified", "precision": "fp32",
        "model": {"family": "s2fpn", "generation": "current", "encoder": "resnet18", "variant": "s2fpn18",
                  "classes": 11},
        "preprocess": Preprocess.official(camvid, (180, 240)).to_dict(), "dataset": camvid.to_dict(),
        "embedded_preprocess": False,
    })
    path = tmp_path / "model.onnx"
    onnx.save(model, str(path))
    return path
