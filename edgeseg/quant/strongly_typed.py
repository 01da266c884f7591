"""The TensorRT-target Q/DQ graph as strongly typed builders read it: FP16 wherever not quantized.

TensorRT 11 and TensorRT-RTX take every layer's precision from the graph, so a Q/DQ graph whose
remainder is FP32 runs that remainder in FP32. Here the quantized graph goes through the same
FP16 converter as `--precision fp16` (edgeseg/quant/fp16.py; graph I/O stays float32), with the
Q/DQ scales in FP16 so DequantizeLinear outputs FP16 directly. FP16 scales need opset 19, so the
FP32 graph is converted to opset 19 before quantization (FP8 needs 19 anyway).

Measured (benchmarks/int8_fp16_rest.py, trained CamVid S²-FPN18, 101 val images): no op needs
FP32 here beyond what the FP16 export keeps (the converter's own list: Resize and a few others).
Casting around FP32 Q/DQ at opset 17 instead was tried: TensorRT-RTX 1.7 fails to build it
(Myelin "more than one op named mul_...").
"""

from __future__ import annotations

import logging

from edgeseg.quant.bias import detach
from edgeseg.quant.formats import FORMATS
from edgeseg.quant.fp16 import KEEP_FLOAT32, to_fp16
from edgeseg.quant.qdq import quantize_model, sort_nodes

log = logging.getLogger(__name__)

HALF_OPSET = 19  # DequantizeLinear with float16 scales (and float8 zero points) from opset 19


def opset_of(model) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


def required_opset(config) -> int:
    return max(FORMATS[config.dtype].min_opset, HALF_OPSET if config.half else 0)


def prepare(model, config):
    """The FP32 model at the opset the quantized graph needs (unchanged if already there)."""
    from onnx import version_converter

    need = required_opset(config)
    have = opset_of(model)
    if have >= need:
        return model
    log.info("converting the FP32 graph from opset %d to %d for %s Q/DQ", have, need, config.dtype)
    converted = version_converter.convert_version(model, need)
    del converted.graph.value_info[:]  # stale shapes from the old opset; ONNX infers them again
    return converted


def build(model, plan, amax: dict, config, keep_ops=None):
    """The Q/DQ graph `config` asks for, from a `prepare`d FP32 model: format, scales, remainder."""
    import numpy as np


    q = quantize_model(model, plan, amax, config.per_channel, FORMATS[config.dtype],
                       np.float16 if config.half else np.float32)
    return finish(q, config, keep_ops)


def finish(qmodel, config, keep_ops=None):
    """The Q/DQ graph with its non-quantized compute in FP16 (TensorRT target), else unchanged.

    The biases ONNX Runtime would re-quantize with the FP16 scales go into an Add first (see
    edgeseg/quant/bias.py). `keep_ops`: op types kept in FP32 (default: the FP16 export's own list)."""
    if not config.half:
        return qmodel

    return sort_nodes(to_fp16(detach(qmodel), keep_ops=KEEP_FLOAT32 if keep_ops is None else keep_ops))
