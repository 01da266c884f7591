"""FP32 ONNX -> FP16 ONNX (weights and compute in half), I/O float32 unless asked otherwise.

Built on the float16 converter that ships inside onnxruntime (no extra dependency). Ops that
measurement showed fragile in half precision stay in float32 (see KEEP_FLOAT32).
"""

from __future__ import annotations

from edgeseg.quant.graph_order import topological_sort

# Measured on the trained CamVid S²-FPN18 (benchmarks/fp16_fragile_ops.py, 101 val images):
# keeping Softmax, the attention MatMuls or the strip reductions in float32 changes argmax
# agreement with FP32 by < 0.00001 (99.9927% either way), so nothing is kept by default;
# `keep_ops` stays available for models where measurement says otherwise.
KEEP_FLOAT32: tuple[str, ...] = ()


def to_fp16(model, *, keep_io_float32: bool = True, keep_ops=KEEP_FLOAT32):
    import warnings

    from onnxruntime.transformers.float16 import convert_float_to_float16


    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = convert_float_to_float16(model, keep_io_types=keep_io_float32, op_block_list=list(keep_ops))
    topological_sort(model.graph)  # the converter appends the input Cast after the nodes reading it
    return model
