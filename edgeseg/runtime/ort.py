"""One way to open an ONNX Runtime session, for the runner and for the ONNX -> ONNX steps
(calibration, sensitivity, stage verification) that run a model on the CPU.

The settings that matter live here once: full graph optimisation (except where it breaks a graph,
see `optimization_level`), ONNX Runtime's own warnings
silenced (they would interleave with ours), an optional thread count, and the memory arena
off where a caller streams many inputs (calibration: each image's buffers go back at once).
"""

from __future__ import annotations

from edgeseg.metadata import FLOAT8_TYPES

CPU = ("CPUExecutionProvider",)


def session(model, providers=CPU, *, threads: int | None = None, memory_arena: bool = True):
    """An InferenceSession for `model`: a path, serialized bytes or an onnx.ModelProto."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, optimization_level(model))
    options.log_severity_level = 3
    options.enable_cpu_mem_arena = memory_arena
    if threads:
        options.intra_op_num_threads = threads
    if hasattr(model, "SerializeToString"):
        model = model.SerializeToString()
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, options, providers=list(providers))


def run_cpu(model, batches) -> list:
    """The first output of `model` for each batch, on the CPU (no dtype conversion: what the graph gives)."""
    sess = session(model)
    name = sess.get_inputs()[0].name
    return [sess.run(None, {name: b})[0] for b in batches]


def iter_cpu(model, batches):
    """`run_cpu` one batch at a time: for consumers that reduce each output (a confusion matrix) and
    need not hold them all."""
    sess = session(model)
    name = sess.get_inputs()[0].name
    for b in batches:
        yield sess.run(None, {name: b})[0]


def optimization_level(model) -> str:
    """ONNX Runtime graph optimization level that runs `model` as its ops define.

    Measured with ONNX Runtime 1.32 CPU: its graph optimizations corrupt Q/DQ graphs whose
    scales are FP16 or whose type is FP8 (the TensorRT-target graphs). FP8 on the trained CamVid
    S²-FPN18: argmax agreement with FP32 32 % optimized, 99 % unoptimized; INT8 with FP16 scales
    on SPFNet-18 (golden weights): 33 % with basic optimizations, 79 % without. No single QDQ
    transformer is to blame, so such graphs run unoptimized; they are meant for TensorRT, and ORT
    only verifies them.
    """
    if not hasattr(model, "graph"):
        import onnx

        try:
            model = onnx.load_from_string(model) if isinstance(model, bytes) else onnx.load(str(model), load_external_data=False)
        except Exception:  # unreadable: let ONNX Runtime say why when it loads it
            return "ORT_ENABLE_ALL"
    float8 = any(i.data_type in FLOAT8_TYPES for i in model.graph.initializer)
    return "ORT_DISABLE_ALL" if float8 or _has_fp16_scales(model) else "ORT_ENABLE_ALL"


def _has_fp16_scales(model) -> bool:
    half = {i.name for i in model.graph.initializer if i.data_type == 10}
    return any(n.op_type == "DequantizeLinear" and len(n.input) > 1 and n.input[1] in half for n in model.graph.node)


