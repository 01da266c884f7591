"""Every exported ONNX read by TensorRT's own parser, when one is importable here.

ONNX Runtime verifying a stage says nothing of whether TensorRT can read it; nobody should
learn on the Jetson that an op does not parse. After each ONNX stage the export asks the
parser it can get (the full TensorRT where it loads and can create a builder, else
TensorRT-RTX, whose parser runs on any CPU), records parser, version, layer count and Q/DQ
layer counts, and fails the export with the parser's message when it cannot read the graph.

The CPU-preset INT8 graph (uint8 activations, zero point 128, for ONNX Runtime's integer
kernels) is not meant for TensorRT, whose parser rejects it ("Non-zero zero point is not
supported"): for it the parse result is recorded, not enforced, and an engine asked of it
is refused before any work.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from edgeseg.engine import flavors
from edgeseg.engine.network import collecting_logger, parse_network
from edgeseg.engine.versions import TrtVersion, build_mode, rtx_build_mode
from edgeseg.errors import EdgesegError

log = logging.getLogger(__name__)
_UINT8 = 2  # onnx.TensorProto.UINT8
CPU_TARGET = ("the CPU-preset INT8 graph (uint8, zero point 128), which TensorRT's parser rejects "
              "(\"Non-zero zero point is not supported\")")


@dataclass
class ParseReport:
    parser: str  # "TensorRT" | "TensorRT-RTX"
    version: str
    layers: int
    quantize: int  # QUANTIZE layers in the parsed network
    dequantize: int
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def summary(self) -> str:
        if not self.ok:
            return f"{self.parser} {self.version} parser: {self.errors[0][:200]}"
        return (f"{self.parser} {self.version} parser: {self.layers} layers, {self.quantize} Q / "
                f"{self.dequantize} DQ")

    def to_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok, "summary": self.summary}


def cpu_target_reason(model) -> str | None:
    """Why TensorRT cannot take this graph if it is the CPU-preset INT8 one, else None."""
    from onnx import numpy_helper

    inits = {t.name: t for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type not in ("QuantizeLinear", "DequantizeLinear") or len(node.input) < 3:
            continue
        zp = inits.get(node.input[2])
        if zp is not None and (zp.data_type == _UINT8 or numpy_helper.to_array(zp).any()):
            return CPU_TARGET
    return None


def refuse_cpu_target(model, name: str) -> None:
    """One line, before any TensorRT work, when an engine is asked of the CPU-preset graph."""
    reason = cpu_target_reason(model)
    if reason:
        raise EdgesegError(f"{name} is {reason}: engines need the TensorRT-preset INT8 graph "
                           "(edgeseg export --precision int8 --quant-preset tensorrt)")


def _parse_with(flavor, onnx_path: Path) -> ParseReport:
    trt = flavors.import_module(flavor)
    version = TrtVersion.parse(trt.__version__)
    mode = rtx_build_mode() if flavor.aot else build_mode(version, "fp32")
    logger = collecting_logger(trt)
    builder = trt.Builder(logger)
    if builder is None:  # the full TensorRT creates no builder without a usable GPU
        raise EdgesegError(f"{flavor.label} cannot create a builder here: {logger.errors()}")
    t0 = time.perf_counter()
    network, _parser, errors = parse_network(trt, builder, logger, onnx_path, mode)
    seconds = time.perf_counter() - t0
    types = [network.get_layer(i).type for i in range(network.num_layers)]
    return ParseReport(flavor.label, str(trt.__version__), network.num_layers, types.count(trt.LayerType.QUANTIZE),
                       types.count(trt.LayerType.DEQUANTIZE), errors, round(seconds, 3))


def parse_onnx(onnx_path) -> ParseReport | None:
    """The first working parser's report (TensorRT, else TensorRT-RTX), or None when none is here."""
    for flavor in flavors.importable():
        try:
            return _parse_with(flavor, Path(onnx_path))
        except EdgesegError as exc:  # installed but not usable here: try the next one
            log.debug("%s parser not usable: %s", flavor.label, exc)
        except Exception as exc:  # e.g. the full TensorRT without CUDA raises from its builder
            log.debug("%s parser not usable: %s", flavor.label, exc)
    return None


def check_stage(onnx_path, stage: str) -> dict | None:
    """Parse an export stage's ONNX; its report (for the sidecar and summary), None without a parser.

    A parser error fails the stage with the parser's message, except for the CPU-preset INT8
    graph, which is not meant for TensorRT: there the result is only recorded.
    """
    import onnx

    report = parse_onnx(onnx_path)
    if report is None:
        return None
    out = report.to_dict()
    if not report.ok:
        reason = cpu_target_reason(onnx.load(str(onnx_path), load_external_data=False))
        if reason:
            out["not_for_tensorrt"] = reason
            return out
        raise EdgesegError(f"{stage}: {report.parser} {report.version} cannot parse this ONNX: "
                           f"{'; '.join(report.errors)[:600]}")
    return out
