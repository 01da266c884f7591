"""Pre- and post-processing inside the graph, by ONNX surgery on any precision's model.

`embed_preprocess`: the input becomes uint8 NHWC BGR (what a camera gives); the graph casts,
subtracts the mean, divides by the std if any, reorders channels and transposes to NCHW.
`embed_argmax`: the output becomes the class map (int32 or uint8) instead of logits, which
cuts output bytes by 4 x classes. `embed_lowres_argmax`: the argmax is taken where the head emits
(before the model's final bilinear Resize), then the class map is upsampled nearest in the graph to
the same output size: less work, but edges move (tune scores it; export verifies its agreement).

The output tail (TAILS) is one option of export and one axis of tune, spelled the same in both.
"""

from __future__ import annotations

import numpy as np

from edgeseg.errors import EdgesegError, OptionError
from edgeseg.errors import field as f
from edgeseg.quant.graph_order import topological_sort

LABEL_TYPES = {"int32": 6, "uint8": 2}  # onnx.TensorProto values
# What the model hands the host: logits; the class map (argmax in the graph); the class map taken at
# the head's resolution and upsampled nearest in the graph.
TAILS = ("logits", "argmax", "argmax-lowres")
LABEL_TAILS = TAILS[1:]  # the tails whose output is a class map


def embed_preprocess(model, preprocess) -> None:
    """Prepend the preprocessing contract to `model` (in place)."""
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    old = graph.input[0]
    t = old.type.tensor_type
    float_type = t.elem_type
    n, _, h, w = (d.dim_value if d.HasField("dim_value") else (d.dim_param or "d") for d in t.shape.dim)
    inner = old.name + "_nchw"
    for node in graph.node:
        node.input[:] = [inner if i == old.name else i for i in node.input]
    np_float = np.float16 if float_type == TensorProto.FLOAT16 else np.float32
    mean = numpy_helper.from_array(np.asarray(preprocess.mean_bgr, np_float).reshape(1, 1, 1, 3), "pre_mean")
    inits = [mean]
    nodes = [helper.make_node("Cast", [old.name], ["pre_f"], to=float_type),
             helper.make_node("Sub", ["pre_f", "pre_mean"], ["pre_c"])]
    last = "pre_c"
    if preprocess.std_bgr is not None:
        inits.append(numpy_helper.from_array(np.asarray(preprocess.std_bgr, np_float).reshape(1, 1, 1, 3), "pre_std"))
        nodes.append(helper.make_node("Div", [last, "pre_std"], ["pre_s"]))
        last = "pre_s"
    if preprocess.channel_order == "RGB":
        inits.append(numpy_helper.from_array(np.array([2, 1, 0], np.int64), "pre_order"))
        nodes.append(helper.make_node("Gather", [last, "pre_order"], ["pre_rgb"], axis=3))
        last = "pre_rgb"
    nodes.append(helper.make_node("Transpose", [last], [inner], perm=[0, 3, 1, 2]))
    new_input = helper.make_tensor_value_info(old.name, TensorProto.UINT8, [n, h, w, 3])
    graph.input.remove(old)
    graph.input.insert(0, new_input)
    graph.initializer.extend(inits)
    for node in reversed(nodes):
        graph.node.insert(0, node)

    topological_sort(graph)
    _drop_parent_metadata(model)


def _drop_parent_metadata(model) -> None:
    """The parent's edgeseg metadata describes float NCHW input; this graph no longer matches it
    (the export writes the new contract when it saves the stage)."""
    keep = [(p.key, p.value) for p in model.metadata_props if p.key != "edgeseg" and not p.key.startswith("edgeseg.")]
    del model.metadata_props[:]
    for k, v in keep:
        model.metadata_props.add(key=k, value=v)


def embed_argmax(model, label_type: str = "int32") -> None:
    """Append ArgMax over classes and a cast to `label_type`; the output is renamed `labels`."""
    from onnx import helper

    if label_type not in LABEL_TYPES:
        raise OptionError(f"{f('contract.argmax')} must be int32 or uint8, got {label_type!r}")
    graph = model.graph
    old = graph.output[0]
    dims = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "d") for d in old.type.tensor_type.shape.dim]
    graph.node.extend([
        helper.make_node("ArgMax", [old.name], ["labels_i64"], axis=1, keepdims=0),
        helper.make_node("Cast", ["labels_i64"], ["labels"], to=LABEL_TYPES[label_type]),
    ])
    graph.output.remove(old)
    graph.output.insert(0, helper.make_tensor_value_info("labels", LABEL_TYPES[label_type], [dims[0], dims[2], dims[3]]))

    topological_sort(graph)


_PASS_ONNX = ("Cast", "QuantizeLinear", "DequantizeLinear")  # type or grid changes after the final Resize


def final_resize(graph, output: str, name: str):
    """(the model's final Resize, the cast/Q-DQ nodes between it and `output`); `name` names the
    model in the error when there is none."""
    producer = {o: n for n in graph.node for o in n.output}
    node, after = producer.get(output), []
    while node is not None and node.op_type in _PASS_ONNX:
        after.append(node)
        node = producer.get(node.input[0])
    if node is None or node.op_type != "Resize":
        raise EdgesegError(f"{name}: the output is not made by a final Resize, so there is no head "
                           "resolution to take the argmax at (argmax-lowres)")
    return node, after


def embed_lowres_argmax(model, label_type: str = "uint8", name: str = "the model") -> list:
    """Replace the final Resize (and what follows it) by ArgMax at the head's resolution, a cast to
    `label_type` and a nearest Resize to the output's static size; the output is `labels` (N, H, W).
    Returns the output's shape."""
    from onnx import TensorProto, helper, numpy_helper

    if label_type not in LABEL_TYPES:
        raise OptionError(f"{f('contract.argmax')} must be int32 or uint8, got {label_type!r}")
    graph = model.graph
    out = graph.output[0]
    dims = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "d") for d in out.type.tensor_type.shape.dim]
    resize, after = final_resize(graph, out.name, name)
    if not all(isinstance(d, int) and d > 0 for d in dims):
        raise OptionError(f"{f('contract.tail')} argmax-lowres needs a static output size; {name} has {dims}")
    graph.initializer.extend([numpy_helper.from_array(np.array([dims[0], 1, dims[2], dims[3]], np.int64), "tail_sizes"),
                              numpy_helper.from_array(np.array([1], np.int64), "tail_axes")])
    nodes = [helper.make_node("Cast", [resize.input[0]], ["tail_f32"], to=TensorProto.FLOAT),  # fp16 heads too
             helper.make_node("ArgMax", ["tail_f32"], ["tail_i64"], axis=1, keepdims=1),
             # class ids as float through the Resize (exact): TensorRT resizes no integer or uint8 tensor
             helper.make_node("Cast", ["tail_i64"], ["tail_ids"], to=TensorProto.FLOAT),
             helper.make_node("Resize", ["tail_ids", "", "", "tail_sizes"], ["tail_up"], mode="nearest",
                              coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
             helper.make_node("Squeeze", ["tail_up", "tail_axes"], ["tail_sq"]),
             helper.make_node("Cast", ["tail_sq"], ["labels"], to=LABEL_TYPES[label_type])]
    for node in [resize, *after]:
        graph.node.remove(node)
    graph.node.extend(nodes)
    graph.output.remove(out)
    shape = [dims[0], dims[2], dims[3]]
    graph.output.insert(0, helper.make_tensor_value_info("labels", LABEL_TYPES[label_type], shape))
    topological_sort(graph)
    return shape
