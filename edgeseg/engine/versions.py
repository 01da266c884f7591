"""What each TensorRT generation wants from a build, decided from the version alone.

TensorRT 11 removed the calibrator and the FP16/INT8 builder flags: networks are strongly
typed and precision comes from the ONNX itself (an FP16 graph, a Q/DQ graph). 8.6 and 10.x
build weakly typed: without the FP16 flag an FP16 graph runs in FP32, and a Q/DQ graph needs
INT8 (plus FP16 for the layers left in float; edgeseg's TensorRT-target Q/DQ graphs carry that
remainder in FP16 already), an FP8 Q/DQ graph FP8 + FP16 (TensorRT 10 and newer). 8.6 still wants the EXPLICIT_BATCH network
flag, which 10.0 made the only mode and 11 removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from edgeseg.errors import EdgesegError, OptionError, field
from edgeseg.metadata import FLOAT8_TYPES

OLDEST = (8, 6)
PRECISIONS = ("fp32", "fp16", "int8", "fp8")
_WEAK_FLAGS = {"fp32": (), "fp16": ("FP16",), "int8": ("INT8", "FP16"), "fp8": ("FP8", "FP16")}
_ONNX_FLOAT16 = 10


@dataclass(frozen=True)
class TrtVersion:
    """A TensorRT version as its numbers (8.6.2.3, 10.3.0.30, 11.0.0)."""

    numbers: tuple[int, ...]

    @classmethod
    def parse(cls, text) -> "TrtVersion":
        m = re.match(r"^\s*v?(\d+(?:\.\d+)+)", str(text))
        if not m:
            raise EdgesegError(f"cannot read a TensorRT version from {text!r}")
        return cls(tuple(int(v) for v in m.group(1).split(".")))

    @property
    def major(self) -> int:
        return self.numbers[0]

    @property
    def minor(self) -> int:
        return self.numbers[1]

    @property
    def short(self) -> str:
        return f"{self.major}.{self.minor}"

    def __str__(self) -> str:
        return ".".join(str(v) for v in self.numbers)

    def __lt__(self, other: "TrtVersion") -> bool:
        return self.numbers < other.numbers

    def same_release(self, other: "TrtVersion") -> bool:
        """True when a plan from one loads in the other: the numbers both state are equal."""
        n = max(3, min(len(self.numbers), len(other.numbers)))
        pad = lambda v: (v.numbers + (0,) * n)[:n]  # noqa: E731
        return pad(self) == pad(other)


@dataclass(frozen=True)
class BuildMode:
    """How to create the network and configure the builder for one version and precision."""

    strongly_typed: bool
    network_flags: tuple[str, ...]  # trt.NetworkDefinitionCreationFlag members
    builder_flags: tuple[str, ...]  # trt.BuilderFlag members

    @property
    def name(self) -> str:
        return "strongly typed" if self.strongly_typed else "weakly typed" + (
            f" + {'/'.join(self.builder_flags)}" if self.builder_flags else "")


def build_mode(version: TrtVersion, precision: str, dla: bool = False) -> BuildMode:
    """The network flags and builder flags TensorRT `version` needs for an ONNX of `precision`."""
    if (version.major, version.minor) < OLDEST:
        raise EdgesegError(f"TensorRT {version} is too old: edgeseg needs 8.6 or newer (JetPack 6.0+)")
    if precision not in PRECISIONS:
        raise EdgesegError(f"unknown precision {precision!r}; expected one of {', '.join(PRECISIONS)}")
    if precision == "fp8" and version.major < 10:
        raise EdgesegError(f"FP8 Q/DQ graphs need TensorRT 10 or newer (an Ada, Hopper or Blackwell GPU); this is {version}")
    if dla and precision == "fp8":
        raise OptionError(f"the DLA has no FP8: export with {field('precision')} int8 or fp16 for a DLA core")
    if dla and precision == "fp32":
        raise OptionError(f"the DLA runs FP16 or INT8 only: export the model with {field('precision')} fp16 or "
                          "int8 before building for a DLA core")
    if version.major >= 11:
        return BuildMode(True, ("STRONGLY_TYPED",), ("GPU_FALLBACK",) if dla else ())
    network = ("EXPLICIT_BATCH",) if version.major < 10 else ()
    return BuildMode(False, network, _WEAK_FLAGS[precision] + (("GPU_FALLBACK",) if dla else ()))


def rtx_build_mode() -> BuildMode:
    """TensorRT-RTX: always strongly typed (it has no FP16/INT8 builder flags); precision from the graph."""
    return BuildMode(True, ("STRONGLY_TYPED",), ())


def onnx_precision(model) -> str:
    """fp32, fp16, int8 or fp8, read from the graph TensorRT will see (not from what metadata claims).

    A Q/DQ graph is int8 or fp8 whatever its float remainder (FP32 or FP16): the weak flags
    for both include FP16."""
    graph = model.graph
    qdq = [n for n in graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")]
    if qdq:
        types = {t.name: t.data_type for t in graph.initializer}
        zero_points = {types.get(n.input[2]) for n in qdq if len(n.input) > 2}
        return "fp8" if zero_points & set(FLOAT8_TYPES) else "int8"
    return "fp16" if _uses_fp16(graph) else "fp32"



def uses_fp8(model) -> bool:
    """A Q/DQ graph whose QuantizeLinear produces float8 (zero point or output_dtype float8)."""
    graph = model.graph
    inits = {t.name: t.data_type for t in graph.initializer}
    for node in graph.node:
        if node.op_type != "QuantizeLinear":
            continue
        if len(node.input) > 2 and inits.get(node.input[2]) in FLOAT8_TYPES:
            return True
        if any(a.name == "output_dtype" and a.i in FLOAT8_TYPES for a in node.attribute):
            return True
    return False


def _uses_fp16(graph) -> bool:
    if any(t.data_type == _ONNX_FLOAT16 for t in graph.initializer):
        return True
    values = list(graph.input) + list(graph.output) + list(graph.value_info)
    if any(v.type.tensor_type.elem_type == _ONNX_FLOAT16 for v in values):
        return True
    for node in graph.node:
        for attr in node.attribute:
            if node.op_type == "Cast" and attr.name == "to" and attr.i == _ONNX_FLOAT16:
                return True
            if node.op_type == "Constant" and attr.name == "value" and attr.t.data_type == _ONNX_FLOAT16:
                return True
    return False
