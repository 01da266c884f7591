"""What each TensorRT generation wants from a build.

TensorRT 11 removed the calibrator and the FP16/INT8 builder flags: it builds strongly typed
and takes precision from the ONNX (an FP16 graph, a Q/DQ graph). 8.6 and 10.x build weakly
typed and need FP16 (FP16 graphs) or INT8 + FP16 (Q/DQ graphs) set, or they run in FP32.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from edgeseg.errors import EdgesegError

OLDEST = (8, 6)


@dataclass(frozen=True, order=True)
class TrtVersion:
    major: int
    minor: int
    patch: int = 0

    @classmethod
    def parse(cls, text: str) -> "TrtVersion":
        m = re.match(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?", str(text))
        if not m:
            raise EdgesegError(f"cannot read a TensorRT version from {text!r}")
        return cls(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    @property
    def short(self) -> str:
        return f"{self.major}.{self.minor}"

    @property
    def cache_tag(self) -> str:
        """The number TensorRT writes in calibration-cache headers (e.g. 100300 for 10.3)."""
        return f"{self.major}{self.minor:02d}{self.patch:02d}"


@dataclass(frozen=True)
class BuildMode:
    strongly_typed: bool
    flags: tuple[str, ...]  # names of trt.BuilderFlag members to set
    execute: str  # "v3" (tensors by name) or "v2" (bindings)


def build_mode(version: TrtVersion, precision: str) -> BuildMode:
    if (version.major, version.minor) < OLDEST:
        raise EdgesegError(f"TensorRT {version} is too old: edgeseg needs 8.6 or newer (JetPack 6.0+)")
    if precision not in ("fp32", "fp16", "int8"):
        raise EdgesegError(f"unknown precision {precision!r}")
    if version.major >= 11:
        return BuildMode(True, (), "v3")
    flags = {"fp32": (), "fp16": ("FP16",), "int8": ("INT8", "FP16")}[precision]
    return BuildMode(False, flags, "v3")


def onnx_precision(model) -> str:
    """fp32, fp16 or int8, read from the graph itself (Q/DQ nodes, half initializers)."""
    ops = {n.op_type for n in model.graph.node}
    if "QuantizeLinear" in ops or "DequantizeLinear" in ops:
        return "int8"
    if any(i.data_type == 10 for i in model.graph.initializer):  # FLOAT16
        return "fp16"
    return "fp32"
