"""A stand-in artifact for CLI tests: a 1x1 conv 3 -> 11 classes with CamVid metadata."""

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from edgeseg.artifacts import set_onnx_metadata, write_sidecar
from edgeseg.data.contract import DatasetInfo, Preprocess


def tiny_onnx(path, seed=0, precision="fp32", input_size=None, **preprocess):
    w = np.random.default_rng(seed).normal(size=(11, 3, 1, 1)).astype(np.float32)
    graph = helper.make_graph([helper.make_node("Conv", ["input", "w"], ["logits"])], "tiny",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, "h", "w"])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 11, "h", "w"])],
                              [numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    info = DatasetInfo.named("camvid")
    pre = Preprocess(mean_bgr=info.mean_bgr, input_size=tuple(input_size) if input_size else None, **preprocess)
    meta = {"precision": precision, "preprocess": pre.to_dict(),
            "dataset": info.to_dict(), "embedded_preprocess": False}
    set_onnx_metadata(model, meta)
    onnx.save(model, str(path))
    write_sidecar(path, meta)
    return path


