"""Class maps from the runtime (`RunnerOptions.class_map`): the argmax appended to the graph the
runtime compiles, so the host gets H x W class ids instead of K x H x W float logits.

It is the host's class map exactly (edgeseg.bench.accuracy.to_labels, edgeseg.video.post.class_map)
when the image's size is the model input's: argmax over the classes, ties to the lowest class
(ONNX ArgMax keeps the first maximum; OpenVINO's TopK is asked to be stable). Logits at a lower
resolution than the input are first resized to it bilinearly with half-pixel centres
(align_corners=False, OpenCV's INTER_LINEAR), as the host resizes them. Callers ask for it only
where the image's size is the model input's (edgeseg.runtime.choice.class_map_fits); elsewhere
the host resizes the logits to the image as before. Class ids come back as uint8 (int32 beyond
256 classes): what the host's class map gives, so painting needs no conversion. A graph that
already ends in labels is passed through.
"""

from __future__ import annotations


def label_type(classes: int | None) -> str:
    return "uint8" if classes is not None and 0 < classes <= 256 else "int32"


def onnx_with_class_map(path):
    """The ONNX model at `path` with the argmax appended (an onnx.ModelProto), or None when its
    first output is not float logits (already labels: passed through)."""
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(str(path))
    g = model.graph
    out = g.output[0]
    if out.type.tensor_type.elem_type not in (TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.BFLOAT16):
        return None
    dims = [d.dim_value if d.HasField("dim_value") else None for d in out.type.tensor_type.shape.dim]
    inp = g.input[0]
    in_dims = [d.dim_value if d.HasField("dim_value") else None for d in inp.type.tensor_type.shape.dim]
    nhwc = inp.type.tensor_type.elem_type == TensorProto.UINT8  # embedded preprocessing: uint8 NHWC BGR
    in_hw = in_dims[1:3] if nhwc else in_dims[2:4]
    classes = dims[1] if len(dims) == 4 else None
    nodes, logits = [], out.name
    if len(dims) == 4 and (None in dims[2:] or None in in_hw or dims[2:] != in_hw):  # lower-res logits: resize
        start, end = (1, 3) if nhwc else (2, 4)
        nodes += [helper.make_node("Shape", [logits], ["cm_out_shape"]),
                  helper.make_node("Shape", [inp.name], ["cm_in_shape"]),
                  helper.make_node("Slice", ["cm_out_shape", "cm_nc_s", "cm_nc_e"], ["cm_nk"]),
                  helper.make_node("Slice", ["cm_in_shape", "cm_hw_s", "cm_hw_e"], ["cm_size_hw"]),
                  helper.make_node("Concat", ["cm_nk", "cm_size_hw"], ["cm_sizes"], axis=0),
                  helper.make_node("Resize", [logits, "", "", "cm_sizes"], ["cm_resized"], mode="linear",
                                   coordinate_transformation_mode="half_pixel")]
        g.initializer.extend([helper.make_tensor("cm_nc_s", TensorProto.INT64, [1], [0]),
                              helper.make_tensor("cm_nc_e", TensorProto.INT64, [1], [2]),
                              helper.make_tensor("cm_hw_s", TensorProto.INT64, [1], [start]),
                              helper.make_tensor("cm_hw_e", TensorProto.INT64, [1], [end])])
        logits = "cm_resized"
    kind = label_type(classes)
    nodes += [helper.make_node("ArgMax", [logits], ["cm_argmax"], axis=1, keepdims=0),
              helper.make_node("Cast", ["cm_argmax"], ["labels"],
                               to=TensorProto.UINT8 if kind == "uint8" else TensorProto.INT32)]
    g.node.extend(nodes)
    batch = dims[0] if dims and dims[0] else "N"
    h, w = (in_hw if len(in_hw) == 2 else [None, None])
    del g.output[:]
    g.output.append(helper.make_tensor_value_info(
        "labels", TensorProto.UINT8 if kind == "uint8" else TensorProto.INT32, [batch, h or "H", w or "W"]))
    return model


def ov_with_class_map(model):
    """An openvino.Model with the argmax appended (in place; returned), or None when its first output
    is not float (already labels: passed through)."""
    import openvino as ov
    import openvino.opset11 as ops

    result = model.outputs[0]
    if not result.get_element_type().is_real():
        return None
    param = model.inputs[0]
    nhwc = param.get_element_type() == ov.Type.u8
    logits = model.get_results()[0].input_value(0)
    out_shape, in_shape = logits.get_partial_shape(), param.get_partial_shape()
    in_hw = [in_shape[1], in_shape[2]] if nhwc else [in_shape[2], in_shape[3]]
    same = (out_shape.rank.is_static and out_shape.rank.get_length() == 4 and all(d.is_static for d in in_hw)
            and out_shape[2].is_static and out_shape[3].is_static
            and [out_shape[2].get_length(), out_shape[3].get_length()] == [d.get_length() for d in in_hw])
    if not same:  # lower-res logits: resized to the input's size, as the host does
        hw = ops.gather(ops.shape_of(param), ops.constant([1, 2] if nhwc else [2, 3]), ops.constant(0))
        logits = ops.interpolate(logits, hw, mode="linear", shape_calculation_mode="sizes",
                                 coordinate_transformation_mode="half_pixel", axes=ops.constant([2, 3])).output(0)
    classes = out_shape[1].get_length() if out_shape.rank.is_static and out_shape[1].is_static else None
    top = ops.topk(logits, ops.constant(1), axis=1, mode="max", sort="index", index_element_type="i32", stable=True)
    ids = ops.squeeze(top.output(1), ops.constant([1]))
    if label_type(classes) == "uint8":
        ids = ops.convert(ids, "u8")
    labels = ops.result(ids)
    labels.output(0).get_tensor().set_names({"labels"})
    return ov.Model([labels], model.get_parameters(), model.get_friendly_name())
