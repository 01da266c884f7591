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

from edgeseg.runtime.ort import bias_requantized


def detach(model):
    """`model` (changed in place and returned) with the biases of the Convs ORT would re-quantize
    (edgeseg.runtime.ort.bias_requantized) in an Add [1, C, 1, 1] after each."""
    from onnx import helper, numpy_helper


    g = model.graph
    inits = {i.name: i for i in g.initializer}
    nodes = list(g.node)
    for i in reversed(bias_requantized(model)):
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

