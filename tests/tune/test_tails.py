"""Output tails on a tiny model: `argmax` gives the logits model's class map exactly, on ONNX
Runtime and OpenVINO; `argmax-lowres` is the argmax at the head's resolution, upsampled nearest,
and is only as good as its score says (it is scored, never assumed equal)."""

import numpy as np
import pytest

from edgeseg.errors import EdgesegError
from edgeseg.tune.tails import check_tails, with_tail

H, W, K = 16, 24, 5


def tiny(path, final="linear"):
    """Conv (stride 2) to K classes at half size, then a bilinear Resize to the input size."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.standard_normal((K, 3, 3, 3)).astype(np.float32), "w")
    sizes = numpy_helper.from_array(np.array([1, K, H, W], np.int64), "sizes")
    nodes = [helper.make_node("Conv", ["x", "w"], ["head"], strides=[2, 2], pads=[1, 1, 1, 1])]
    if final:
        nodes.append(helper.make_node("Resize", ["head", "", "", "sizes"], ["logits"], mode=final))
    else:
        nodes.append(helper.make_node("Relu", ["head"], ["logits"]))
    out_hw = (H, W) if final else (H // 2, W // 2)
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, H, W])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, K, *out_hw])],
                              [weight, sizes])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))
    return path


def ort(path, x):
    import onnxruntime as rt

    return rt.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]


def ir_of(onnx_path):
    import openvino as ov

    from edgeseg.export.openvino_ir import write_ir
    from edgeseg.metadata import ArtifactMetadata

    return write_ir(ov.Core().read_model(str(onnx_path)), onnx_path.with_suffix(".xml"),
                    ArtifactMetadata.from_dict({"kind": "openvino-ir", "stage": "test"}))


def ov_run(path, x):
    import openvino as ov

    return ov.Core().compile_model(str(path), "CPU")(x)[0]


X = np.random.default_rng(1).standard_normal((1, 3, H, W)).astype(np.float32)


def lowres_reference(x, onnx_path):
    """Argmax of the head's logits, upsampled nearest (floor): what argmax-lowres means."""
    import onnx
    import onnxruntime as rt

    model = onnx.load(str(onnx_path))
    model.graph.output[0].name = "head"
    model.graph.node.pop()  # drop the Resize: the head's logits are the output
    model.graph.output[0].type.tensor_type.shape.dim[2].dim_value = H // 2
    model.graph.output[0].type.tensor_type.shape.dim[3].dim_value = W // 2
    low = rt.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    labels = low[0].argmax(0)
    rows = (np.arange(H) * (H // 2) // H)
    cols = (np.arange(W) * (W // 2) // W)
    return labels[rows][:, cols]


def test_onnx_tails(tmp_path):
    pytest.importorskip("onnxruntime")
    src = tiny(tmp_path / "m.onnx")
    logits = ort(src, X)
    argmax = with_tail(src, "argmax")
    labels = ort(argmax, X)
    assert labels.dtype == np.uint8 and labels.shape == (1, H, W)
    assert (labels[0] == logits[0].argmax(0)).all()
    low = ort(with_tail(src, "argmax-lowres"), X)
    assert low.dtype == np.uint8 and (low[0] == lowres_reference(X, src)).all()
    from edgeseg.artifacts import metadata_dict, sha256_file

    meta = metadata_dict(argmax)
    assert meta["io"]["output"]["tail"] == "argmax" and meta["io"]["output"]["kind"] == "labels"
    assert meta["provenance"]["tail"]["parent_sha256"] == sha256_file(src)
    assert with_tail(src, "logits") == src and with_tail(src, "argmax") == argmax  # reused, not rebuilt


def test_openvino_tails(tmp_path):
    pytest.importorskip("openvino")
    src = tiny(tmp_path / "m.onnx")
    xml = ir_of(src)
    logits = ov_run(xml, X)
    labels = ov_run(with_tail(xml, "argmax"), X)
    assert labels.dtype == np.uint8 and (labels[0] == logits[0].argmax(0)).all()
    low = ov_run(with_tail(xml, "argmax-lowres"), X)
    assert (low[0] == lowres_reference(X, src)).all()


def test_a_tail_needs_logits_and_lowres_a_final_resize(tmp_path):
    pytest.importorskip("onnxruntime")
    src = tiny(tmp_path / "m.onnx")
    with pytest.raises(EdgesegError, match="class map already"):
        with_tail(with_tail(src, "argmax"), "argmax")
    plain = tiny(tmp_path / "plain.onnx", final=None)
    with pytest.raises(EdgesegError, match="final Resize"):
        with_tail(plain, "argmax-lowres")


@pytest.mark.parametrize("bad", [(), ("bogus",), ("logits", "argmax-highres")])
def test_bad_tails_are_refused(bad):
    with pytest.raises(EdgesegError, match="--tails"):
        check_tails(bad)
    assert check_tails(("argmax", "logits", "argmax")) == ("argmax", "logits")


def test_lowres_finds_the_resize_behind_a_cast(tmp_path):
    """An FP16-remainder graph (our TensorRT INT8 preset) ends Resize -> Cast(float32)."""
    import onnx
    from onnx import TensorProto, helper

    pytest.importorskip("onnxruntime")
    src = tiny(tmp_path / "m.onnx")
    model = onnx.load(str(src))
    model.graph.node[-1].output[0] = "pre_cast"
    model.graph.node.append(helper.make_node("Cast", ["pre_cast"], ["logits"], to=TensorProto.FLOAT))
    cast = tmp_path / "cast.onnx"
    onnx.save(model, str(cast))
    assert (ort(with_tail(cast, "argmax-lowres"), X)[0] == lowres_reference(X, src)).all()
    if pytest.importorskip("openvino"):
        assert (ov_run(with_tail(ir_of(cast), "argmax-lowres"), X)[0] == lowres_reference(X, src)).all()
