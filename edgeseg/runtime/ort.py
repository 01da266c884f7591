"""One way to open an ONNX Runtime session, for the runner and for the ONNX -> ONNX steps
(calibration, sensitivity, stage verification) that run a model on the CPU.

The settings that matter live here once: full graph optimisation, ONNX Runtime's own warnings
silenced (they would interleave with ours), an optional thread count, and the memory arena
off where a caller streams many inputs (calibration: each image's buffers go back at once).
"""

from __future__ import annotations

CPU = ("CPUExecutionProvider",)


def session(model, providers=CPU, *, threads: int | None = None, memory_arena: bool = True):
    """An InferenceSession for `model`: a path, serialized bytes or an onnx.ModelProto."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
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
