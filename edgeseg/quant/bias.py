"""Conv biases moved into an Add where ONNX Runtime would re-quantize them with FP16 scales.

ONNX Runtime's WeightBiasQuantization (a basic-level transformer, so on by default) rewrites a
Conv whose input comes from a DequantizeLinear and whose output goes only to a QuantizeLinear
(directly, through Relu/Clip, or after ORT moved the Q back across a MaxPool, Reshape, ...): its
float bias becomes Round(bias / (x_scale * w_scale)) cast to int32 behind a new DequantizeLinear. In a graph with FP16 scales that quotient is computed in
FP16; past 65504 it is inf and the cast gives INT32_MIN, a bias of about -10^4. One such Conv
breaks the model (FP8 on the trained CamVid S²-FPN18: 15 % argmax agreement with the unoptimised
run). benchmarks/ort_fp16_qdq_repro.py reproduces it in five nodes.

With the bias in a per-channel Add after the Conv, the Conv no longer feeds a Q and the
transformer leaves it alone; the graph computes the same, TensorRT folds the Add back into the
convolution (benchmarks/results/ort-default-qdq.json: the same Q/DQ fused).
"""

from __future__ import annotations

# What may sit between the Conv and its Q for WeightBiasQuantization to fire: Relu and Clip (its own
# rule), and the ops QDQPropagationTransformer moves a Q back across (it runs first, at the same level).
_TO_Q = ("Relu", "Clip")
_PROPAGATED = ("MaxPool", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Slice")


def requantized_by_ort(model) -> list[int]:
    """Indices of the Conv nodes whose bias WeightBiasQuantization would rewrite."""
    g = model.graph
    inits = {i.name for i in g.initializer}
    outputs = {o.name for o in g.output}
    producer = {o: n for n in g.node for o in n.output}
    consumers: dict[str, list] = {}
    for n in g.node:
        for name in n.input:
            consumers.setdefault(name, []).append(n)

    def feeds_q(node) -> bool:
        while True:
            after = consumers.get(node.output[0], [])
            if len(after) != 1 or node.output[0] in outputs:
                return False
            if after[0].op_type == "QuantizeLinear":
                return True
            if after[0].op_type not in _TO_Q + _PROPAGATED:
                return False
            node = after[0]

    def from_dq(name) -> bool:
        node = producer.get(name)
        while node is not None and node.op_type in _PROPAGATED:
            node = producer.get(node.input[0])
        return node is not None and node.op_type == "DequantizeLinear"

    return [i for i, n in enumerate(g.node)
            if n.op_type == "Conv" and len(n.input) > 2 and n.input[2] in inits and from_dq(n.input[0]) and feeds_q(n)]


def detach(model):
    """`model` (changed in place and returned) with those Convs' biases in an Add [1, C, 1, 1]."""
    from onnx import helper, numpy_helper

    g = model.graph
    inits = {i.name: i for i in g.initializer}
    nodes = list(g.node)
    for i in reversed(requantized_by_ort(model)):
        conv = nodes[i]
        bias = numpy_helper.to_array(inits[conv.input[2]])
        name, out = conv.input[2], conv.output[0]
        g.initializer.append(numpy_helper.from_array(bias.reshape(1, -1, 1, 1), f"{name}_channels"))
        del conv.input[2]
        conv.output[0] = f"{out}_nobias"
        nodes.insert(i + 1, helper.make_node("Add", [conv.output[0], f"{name}_channels"], [out],
                                             name=f"{conv.name or out}_bias"))
        if not any(name in n.input for n in nodes):
            g.initializer.remove(inits[name])
    del g.node[:]
    g.node.extend(nodes)
    return model

