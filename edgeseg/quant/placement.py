"""Where Q/DQ goes. Placement decides TensorRT's speed and ONNX Runtime's CPU kernels.

`tensorrt` (NVIDIA's rules): quantize the inputs of Conv (activation and per-channel weight),
not outputs; on a residual Add only the residual input (for Add(Conv, Conv), the projection);
Concat inputs share one scale; Softmax, Sigmoid, Resize, MatMul and the final classifier conv
stay float. With the FP16 remainder (config.half) Concat inputs are left unquantized, by every
preset (`naive` too): ONNX Runtime fuses DQ -> Concat -> Q into QLinearConcat, whose schema
takes only FP32 scales, so it refuses the whole graph at its default settings
(benchmarks/ort_fp16_qdq_repro.py); the concat runs in FP16 before the Q of the conv that reads it.
`cpu` (ONNX Runtime): DQ -> Conv -> Q around every quantized Conv, with an int32 bias, so
the CPU provider fuses them into integer QLinearConv kernels. Grouped (not depthwise) convs stay
float there: ORT has no grouped int8 kernel and runs them 8-14x slower than FP32
(benchmarks/results/int8-conv-kernels.json).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

RULES_VERSION = 4  # part of the INT8 stage key: a rule (or graph shape, quant/bias.py) change rebuilds stale INT8 artifacts


@dataclass
class Plan:
    """What to quantize: activation tensor -> consumers to rewire, convs whose weights to quantize."""

    activations: dict[str, list[tuple[int, int]]] = field(default_factory=lambda: defaultdict(list))
    weights: list[int] = field(default_factory=list)  # node indices (Conv)
    outputs: list[str] = field(default_factory=list)  # tensors quantized for every consumer (cpu placement)
    shared: list[list[str]] = field(default_factory=list)  # tensors that must share one scale
    int32_bias: bool = False
    unique_dq: bool = False
    unsigned: bool = False  # activations as uint8 with zero point 128: the same grid, ORT's u8s8 kernels

    @property
    def tensors(self) -> list[str]:
        return sorted(set(self.activations) | set(self.outputs))

    def layer_count(self) -> int:
        return len(self.weights)


class Graph:
    """Producers and consumers of every tensor of an ONNX graph."""

    def __init__(self, model):
        self.nodes = list(model.graph.node)
        self.inits = {i.name: list(i.dims) for i in model.graph.initializer}
        self.outputs = {o.name for o in model.graph.output}
        self.producer = {out: i for i, n in enumerate(self.nodes) for out in n.output}
        self.consumers: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for i, n in enumerate(self.nodes):
            for j, name in enumerate(n.input):
                self.consumers[name].append((i, j))

    def is_activation(self, name: str) -> bool:
        return bool(name) and name not in self.inits and not self._constant(name)

    def _constant(self, name: str) -> bool:
        p = self.producer.get(name)
        return p is not None and self.nodes[p].op_type == "Constant"

    def op_of(self, name: str) -> str | None:
        p = self.producer.get(name)
        return None if p is None else self.nodes[p].op_type

    def grouped_not_depthwise(self, n) -> bool:
        group = next((a.i for a in n.attribute if a.name == "group"), 1)
        w = self.inits.get(n.input[1], [0, 0])
        return group > 1 and w[1] > 1

    def head_convs(self) -> set[int]:
        """Convs from which a graph output is reached without another Conv: the classifier."""
        heads, stack, seen = set(), list(self.outputs), set()
        while stack:
            t = stack.pop()
            p = self.producer.get(t)
            if p is None or p in seen:
                continue
            seen.add(p)
            if self.nodes[p].op_type == "Conv":
                heads.add(p)
                continue
            stack.extend(self.nodes[p].input)
        return heads


def plan(model, config, keep_float: set[str] | frozenset = frozenset()) -> Plan:
    g = Graph(model)
    cpu = config.placement == "cpu"
    out = Plan(int32_bias=cpu, unique_dq=cpu, unsigned=cpu)
    heads = set() if config.quantize_all else g.head_convs()
    skip = set(keep_float) | set(config.keep_float)
    for i, n in enumerate(g.nodes):
        if n.name in skip or (cpu and n.op_type == "Conv" and g.grouped_not_depthwise(n)):
            continue
        if n.op_type == "Conv" and i not in heads:
            out.weights.append(i)
            if g.is_activation(n.input[0]):
                out.activations[n.input[0]].append((i, 0))
            if cpu:
                out.outputs.append(n.output[0])
        elif n.op_type == "Add" and config.placement == "tensorrt" and not config.quantize_all:
            _residual(g, i, n, out)
        elif n.op_type == "MatMul" and (config.quantize_matmul or config.quantize_all):
            for j, t in enumerate(n.input):
                if g.is_activation(t):
                    out.activations[t].append((i, j))
        elif config.quantize_all and n.op_type not in _NEVER_QUANTIZED + (("Concat",) if config.half else ()):
            for j, t in enumerate(n.input):
                if g.is_activation(t):
                    out.activations[t].append((i, j))
    if not config.half:
        _share_concat_scales(g, out)
    return out


# Shape plumbing and slices, never quantized even by quantize_all; with the FP16 remainder not
# Concat either (the module docstring says why: QLinearConcat).
_NEVER_QUANTIZED = ("Constant", "Shape", "Reshape", "Gather", "Unsqueeze", "Slice")


def _residual(g: Graph, i: int, n, out: Plan) -> None:
    """Add(conv_out, residual): quantize only the residual, so the conv can fuse the add.

    Add(Conv, Conv) (a ResNet downsample block: main-branch conv + 1x1 projection) quantizes
    the projection's output, the residual in NVIDIA's rule: the main conv then fuses the add.
    """
    from_conv = [g.op_of(t) == "Conv" for t in n.input]
    if sum(from_conv) == 1:
        j = from_conv.index(False)
    elif sum(from_conv) == 2 and len(n.input) == 2:
        j = _projection(g, n.input)
    else:
        return
    if g.is_activation(n.input[j]):
        out.activations[n.input[j]].append((i, j))


def _projection(g: Graph, inputs) -> int:
    """Which of two conv outputs is the shortcut: the conv whose input the other branch starts
    from (the block input feeds both the main path and the projection)."""
    sources = [g.nodes[g.producer[t]].input[0] for t in inputs]
    for j in (0, 1):
        if _reaches(g, sources[j], sources[1 - j]):
            return j
    return 1


def _reaches(g: Graph, ancestor: str, tensor: str, limit: int = 64) -> bool:
    """True when `tensor` is computed from `ancestor` within `limit` nodes upstream."""
    stack, seen = [tensor], set()
    while stack and len(seen) < limit:
        t = stack.pop()
        if t == ancestor:
            return True
        p = g.producer.get(t)
        if p is None or p in seen:
            continue
        seen.add(p)
        stack.extend(x for x in g.nodes[p].input if g.is_activation(x))
    return False


def _share_concat_scales(g: Graph, out: Plan) -> None:
    """A quantized Concat output: quantize its inputs too, all with one scale (int8 concat)."""
    for t in list(out.activations) + list(out.outputs):
        p = g.producer.get(t)
        if p is None or g.nodes[p].op_type != "Concat":
            continue
        group = [t]
        for j, src in enumerate(g.nodes[p].input):
            if g.is_activation(src):
                out.activations[src].append((p, j))
                group.append(src)
        out.shared.append(group)
