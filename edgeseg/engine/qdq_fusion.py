"""Which Q/DQ nodes TensorRT fused into INT8 compute, read from the layer list of a build.

With profiling verbosity DETAILED, a verbose builder log ends with one message that starts
"Layers:" and lists every kernel of the plan (TensorRT-RTX prints it on the CPU, no GPU or
engine inspector needed):

  Name: /apf1/lateral_low/conv/Conv_myl0_57, LayerType: correlation, Inputs: [ { Name: ...,
  Datatype: Int8, ... }], Constants: [...], Outputs: [ { ..., Datatype: Float, ... }],
  TacticName: ..., StreamId: 0, Metadata: [ONNX Layer: /apf1/lateral_low/conv/Conv][ONNX Layer: ..._dq_DQ]

Every ONNX node a kernel covers is named in its Metadata. A DequantizeLinear is fused when its
kernel also runs a Conv/MatMul (INT8 compute); a QuantizeLinear when its kernel writes INT8
(the quantization folded into the producer) or runs a Conv/MatMul. A Q/DQ named by no kernel
was folded away by the optimizer (e.g. moved across a Concat). The rest ran on their own: an
INT8 tensor dequantized for float work, or a quantization that produced no INT8 tensor.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

_LAYER = re.compile(r"^Name: (?P<name>.*?), LayerType: (?P<type>\w+), Inputs: \[(?P<ins>.*)\], "
                    r"Constants: \[.*\], Outputs: \[(?P<outs>.*)\], TacticName:")
_DTYPE = re.compile(r"Datatype: (\w+)")
_META = re.compile(r"\[ONNX Layer: (.*?)\]")
COMPUTE_OPS = ("Conv", "ConvTranspose", "MatMul", "Gemm")
COMPUTE_LAYERS = ("correlation", "convolution", "deconvolution", "gemm")


@dataclass
class Kernel:
    name: str
    type: str
    inputs: list[str]  # data types
    outputs: list[str]
    onnx_nodes: list[str]


@dataclass
class FusionReport:
    kernels: int
    quantize: int  # Q nodes in the ONNX
    dequantize: int
    fused: int
    folded: int  # named by no kernel: removed or moved by the optimizer
    unfused: list[str] = field(default_factory=list)  # Q/DQ node names that ran on their own

    @property
    def summary(self) -> str:
        text = (f"{self.fused} of {self.quantize + self.dequantize} Q/DQ fused into INT8 kernels, "
                f"{self.folded} folded away, {len(self.unfused)} not fused")
        return text + (f" ({', '.join(self.unfused[:4])}{', ...' if len(self.unfused) > 4 else ''})"
                       if self.unfused else "")

    def to_dict(self) -> dict:
        return {**asdict(self), "summary": self.summary, "warning": self.warning()}

    def warning(self, where: str = "") -> str | None:
        """A loud line when most Q/DQ ran on their own: such an INT8 engine is slower than FP16, not faster
        (TensorRT-RTX for compute capability 7.5 fused 21 of 332 on S2-FPN)."""
        total = self.quantize + self.dequantize
        if not total or len(self.unfused) * 2 <= total:
            return None
        return (f"INT8 engine{where}: only {self.fused} of {total} Q/DQ fused into INT8 kernels, "
                f"{len(self.unfused)} run as separate quantize/dequantize steps: expect it slower than FP16; "
                "build FP16 for this GPU")


def layer_list(messages) -> str | None:
    """The builder's 'Layers:' message, if the log has one (verbose logger, DETAILED verbosity)."""
    found = None
    for msg in messages:
        if msg.lstrip().startswith("Layers:"):
            found = msg
    return found


def parse_kernels(text: str) -> list[Kernel]:
    kernels = []
    for line in text.splitlines():
        m = _LAYER.match(line.strip())
        if m:
            kernels.append(Kernel(m.group("name"), m.group("type"), _DTYPE.findall(m.group("ins")),
                                  _DTYPE.findall(m.group("outs")), _META.findall(line)))
    return kernels


def _fused(op: str, kernel: Kernel, op_types: dict) -> bool:
    compute = kernel.type in COMPUTE_LAYERS or any(op_types.get(n) in COMPUTE_OPS for n in kernel.onnx_nodes)
    if op == "DequantizeLinear":
        return compute
    return compute or "Int8" in kernel.outputs


def analyze(model, text: str) -> FusionReport | None:
    """A FusionReport for an ONNX ModelProto and the builder's 'Layers:' text; None without kernels."""
    kernels = parse_kernels(text)
    if not kernels:
        return None
    op_types = {n.name: n.op_type for n in model.graph.node}
    qdq = {n.name: n.op_type for n in model.graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")}
    where: dict[str, list[Kernel]] = {}
    for k in kernels:
        for node in k.onnx_nodes:
            where.setdefault(node, []).append(k)
    fused = folded = 0
    unfused = []
    for name, op in qdq.items():
        found = where.get(name)
        if not found:
            folded += 1
        elif any(_fused(op, k, op_types) for k in found):
            fused += 1
        else:
            unfused.append(name)
    counts = list(qdq.values())
    return FusionReport(len(kernels), counts.count("QuantizeLinear"), counts.count("DequantizeLinear"), fused,
                        folded, sorted(unfused))
