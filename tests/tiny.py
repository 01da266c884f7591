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




def tiny_camvid(root, images: int = 3):
    """A CamVid-layout folder (`val/`, `valannot/`) of random 12 x 16 images and labels, for commands
    that score a tiny model end to end."""
    import cv2

    rng = np.random.default_rng(0)
    for i in range(images):
        for sub, arr in (("val", rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)),
                         ("valannot", rng.integers(0, 12, (12, 16), dtype=np.uint8))):
            (root / sub).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / sub / f"im{i}.png"), arr)
    return root
