"""Pre- and post-processing inside the graph, by ONNX surgery on any precision's model.

`embed_preprocess`: the input becomes uint8 NHWC BGR (what a camera gives); the graph casts,
subtracts the mean, divides by the std if any, reorders channels and transposes to NCHW.
`embed_argmax`: the output becomes the class map (int32 or uint8) instead of logits, which
cuts output bytes by 4 x classes.
"""

from __future__ import annotations

import numpy as np

from edgeseg.errors import OptionError
from edgeseg.errors import field as f
from edgeseg.quant.graph_order import topological_sort

LABEL_TYPES = {"int32": 6, "uint8": 2}  # onnx.TensorProto values


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
