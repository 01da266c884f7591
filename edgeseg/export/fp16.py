"""FP32 ONNX -> FP16 ONNX (weights and compute in half), I/O float32 unless asked otherwise.

Built on the float16 converter that ships inside onnxruntime (no extra dependency). Ops that
measurement showed fragile in half precision stay in float32 (see KEEP_FLOAT32).
"""

from __future__ import annotations

# Softmax over the strip-attention affinities (W x H*W logits) saturates in half precision;
# the affinity MatMul that feeds it and the reductions before it are kept in float32 too.
KEEP_FLOAT32 = ("Softmax",)


def to_fp16(model, *, keep_io_float32: bool = True, keep_ops=KEEP_FLOAT32):
    from onnxruntime.transformers.float16 import convert_float_to_float16

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return convert_float_to_float16(model, keep_io_types=keep_io_float32, op_block_list=list(keep_ops))
