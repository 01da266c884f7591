"""Writing the Q/DQ model: symmetric int8 or FP8 E4M3 (zero point 0), per-channel weights on axis 0.

One QuantizeLinear/DequantizeLinear pair per quantized activation, shared by the consumers
the plan names; weights stored as int8 initializers behind a DequantizeLinear, so the same
file runs in ONNX Runtime (CPU, CUDA, TensorRT provider) and TensorRT 8.6/10/11.
"""

from __future__ import annotations

import copy

import numpy as np

from edgeseg.quant.formats import INT8, QFormat

QMAX = INT8.qmax


def activation_scales(plan, amax: dict[str, float], qmax: float = QMAX) -> dict[str, float]:
    """Scale per tensor, with tensors of a shared group taking the group's largest range."""
    ranges = {t: max(float(amax.get(t, 0.0)), 1e-8) for t in plan.tensors}
    for group in plan.shared:
        top = max(ranges.get(t, 1e-8) for t in group)
        for t in group:
            ranges[t] = top
    return {t: r / qmax for t, r in ranges.items()}


def quantize_model(model, plan, amax: dict[str, float], per_channel: bool = True, fmt: QFormat = INT8,
                   scale_dtype=np.float32):
    """A copy of `model` with Q/DQ inserted as `plan` says, in format `fmt` (int8 or fp8).

    `scale_dtype` float16 (graphs with an FP16 remainder): scales are stored in half precision,
    rounded up, and weights are quantized with exactly the stored scale, so DQ reproduces them."""
    from onnx import helper, numpy_helper

    m = copy.deepcopy(model)
    g = m.graph
    nodes = list(g.node)
    inits = {i.name: i for i in g.initializer}
    scales = activation_scales(plan, amax, fmt.qmax)
    # Float weights (and biases) replaced by quantized ones are dropped below if nothing else reads them.
    replaced = {name for i in plan.weights for name in list(nodes[i].input)[1:3]}
    new_inits, pre = [], {}  # pre: node index -> nodes to insert before it

    def qdq(tensor: str, scale, consumers):
        """One Q; one DQ shared by all consumers, or one DQ each (ORT fuses a DQ only into a
        single consumer, so the CPU target needs them unique)."""
        s_name, z_name = f"{tensor}_qscale", f"{tensor}_qzp"
        new_inits.append(numpy_helper.from_array(_round_up(np.asarray(scale, np.float32), scale_dtype), s_name))
        new_inits.append(numpy_helper.from_array(np.uint8(128) if plan.unsigned else fmt.zeros(), z_name))
        first = min(i for i, _ in consumers)
        pre.setdefault(first, []).append(
            helper.make_node("QuantizeLinear", [tensor, s_name, z_name], [f"{tensor}_q"], name=f"{tensor}_Q"))
        groups = [[c] for c in consumers] if plan.unique_dq else [consumers]
        for k, group in enumerate(groups):
            dq = f"{tensor}_dq" + (f"{k}" if plan.unique_dq else "")
            pre.setdefault(min(i for i, _ in group), []).append(
                helper.make_node("DequantizeLinear", [f"{tensor}_q", s_name, z_name], [dq], name=f"{dq}_DQ"))
            for i, j in group:
                nodes[i].input[j] = dq

    for t in plan.tensors:
        consumers = list(plan.activations.get(t, []))
        if t in plan.outputs:
            consumers = [(i, j) for i, n in enumerate(nodes) for j, x in enumerate(n.input) if x == t]
        if consumers:
            qdq(t, scales[t], consumers)
    for i in plan.weights:
        _quantize_weights(nodes[i], i, inits, scales, per_channel, plan.int32_bias, new_inits, pre, fmt,
                          scale_dtype)
    ordered = []
    for i, n in enumerate(nodes):
        ordered.extend(pre.get(i, []))
        ordered.append(n)
    del g.node[:]
    g.node.extend(_toposort(ordered, {i.name for i in g.input} | set(inits) | {x.name for x in new_inits}))
    g.initializer.extend(new_inits)
    used = {x for n in g.node for x in n.input}
    for name in replaced:
        if name in inits and name not in used:
            g.initializer.remove(inits[name])
    return m


def _round_up(scale: np.ndarray, dtype) -> np.ndarray:
    """`scale` in `dtype`, never smaller than asked (|w| / scale stays within the grid)."""
    out = np.asarray(scale).astype(dtype)
    low = out.astype(np.float32) < scale
    if np.any(low):
        out = np.where(low, np.nextafter(out, np.asarray(np.inf, dtype)), out).astype(dtype)
    return out


def _quantize_weights(node, index, inits, scales, per_channel, int32_bias, new_inits, pre, fmt=INT8,
                      scale_dtype=np.float32):
    from onnx import helper, numpy_helper

    w_name = node.input[1]
    w = numpy_helper.to_array(inits[w_name]).astype(np.float32)
    axes = tuple(range(1, w.ndim))
    amax = np.abs(w).max(axis=axes) if per_channel else np.full(w.shape[0], np.abs(w).max())
    s = _round_up(np.maximum(amax, 1e-12) / fmt.qmax, scale_dtype)
    q = fmt.quantize(w / s.astype(np.float32).reshape(-1, *([1] * (w.ndim - 1))))
    tag = f"{node.name or 'conv'}_{index}"
    scale = s if per_channel else s[0]
    zp = fmt.zeros(w.shape[0] if per_channel else ())
    new_inits += [numpy_helper.from_array(q, f"{tag}_wq"), numpy_helper.from_array(scale, f"{tag}_ws"),
                  numpy_helper.from_array(zp, f"{tag}_wz")]
    kw = {"axis": 0} if per_channel else {}
    pre.setdefault(index, []).append(helper.make_node(
        "DequantizeLinear", [f"{tag}_wq", f"{tag}_ws", f"{tag}_wz"], [f"{tag}_wdq"], name=f"{tag}_wDQ", **kw))
    node.input[1] = f"{tag}_wdq"
    x = node.input[0]
    if int32_bias and len(node.input) > 2 and node.input[2] in inits and "_dq" in x:
        sx = float(scales[x[: x.rindex("_dq")]])
        b = numpy_helper.to_array(inits[node.input[2]]).astype(np.float64)
        bs = (sx * s).astype(np.float32) if per_channel else np.float32(sx * s[0])
        bq = np.round(b / (sx * s)).astype(np.int32)
        new_inits += [numpy_helper.from_array(bq, f"{tag}_bq"), numpy_helper.from_array(bs, f"{tag}_bs"),
                      numpy_helper.from_array(np.zeros(w.shape[0], np.int32) if per_channel else np.int32(0), f"{tag}_bz")]
        pre[index].append(helper.make_node("DequantizeLinear", [f"{tag}_bq", f"{tag}_bs", f"{tag}_bz"],
                                           [f"{tag}_bdq"], name=f"{tag}_bDQ", **kw))
        node.input[2] = f"{tag}_bdq"


def sort_nodes(model):
    """`model` with its nodes in topological order (converters may append nodes at the end)."""
    g = model.graph
    ordered = _toposort(list(g.node), {i.name for i in g.input} | {i.name for i in g.initializer})
    del g.node[:]
    g.node.extend(ordered)
    return model


def _toposort(nodes, available: set[str]) -> list:
    """Order nodes so every input is produced before use (a Q/DQ may precede its producer)."""
    ready, pending, out = set(available), list(nodes), []
    while pending:
        progressed, rest = False, []
        for n in pending:
            if all((not i) or i in ready for i in n.input):
                out.append(n)
                ready.update(n.output)
                progressed = True
            else:
                rest.append(n)
        if not progressed:
            raise RuntimeError(f"cannot order the quantized graph: {rest[0].name} waits on {list(rest[0].input)}")
        pending = rest
    return out
