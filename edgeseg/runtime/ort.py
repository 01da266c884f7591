"""One way to open an ONNX Runtime session, for the runner and for the ONNX -> ONNX steps
(calibration, sensitivity, stage verification) that run a model on the CPU.

The settings that matter live here once: full graph optimisation (except for the older Q/DQ files
it runs wrongly, see `mishandled`), ONNX Runtime's own warnings
silenced (they would interleave with ours), an optional thread count, and the memory arena
off where a caller streams many inputs (calibration: each image's buffers go back at once).
"""

from __future__ import annotations

from edgeseg.metadata import FLOAT8_TYPES

CPU = ("CPUExecutionProvider",)


def session(model, providers=CPU, *, threads: int | None = None, memory_arena: bool = True, level: str | None = None):
    """An InferenceSession for `model`: a path, serialized bytes or an onnx.ModelProto; `level`
    (ORT_DISABLE_ALL, ...) overrides the rule of `optimization_level`."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level or optimization_level(model))
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
    """ONNX Runtime graph optimization level that runs `model` as its ops define: ORT_ENABLE_ALL,
    or ORT_DISABLE_ALL where `mishandled` names a reason."""
    if not hasattr(model, "graph"):
        import onnx

        try:
            model = onnx.load_from_string(model) if isinstance(model, bytes) else onnx.load(str(model), load_external_data=False)
        except Exception:  # unreadable: let ONNX Runtime say why when it loads it
            return "ORT_ENABLE_ALL"
    return "ORT_DISABLE_ALL" if mishandled(model) else "ORT_ENABLE_ALL"


def mishandled(model) -> str | None:
    """Why ONNX Runtime 1.32's default optimisations would run this Q/DQ graph wrongly, or None.

    Measured (benchmarks/ort_fp16_qdq_repro.py, benchmarks/results/ort-default-qdq.json): with FP16
    scales, WeightBiasQuantization re-quantizes the bias of a Conv fed by a DQ whose output goes to a
    Q in FP16 (it overflows: FP8 on the trained CamVid S²-FPN18 agreed 15 % with the unoptimised
    run), and DQ -> Concat -> Q becomes a QLinearConcat that refuses FP16 scales. edgeseg's graphs
    avoid both shapes since placement rules 4 (edgeseg/quant/bias.py); older files still have them.
    FP8 with FP32 scales (`--fp32-rest`): 32 % agreement at the extended level, no single
    transformer found to blame, so it runs unoptimised too.
    """
    float8 = any(i.data_type in FLOAT8_TYPES for i in model.graph.initializer)
    if not _has_fp16_scales(model):
        return "FP8 Q/DQ with FP32 scales (ONNX Runtime's extended optimisations)" if float8 else None
    if bias_requantized(model):
        return "a biased Conv between FP16-scale DQ and Q (ONNX Runtime's WeightBiasQuantization)"
    if _qdq_concat(model):
        return "DQ -> Concat -> Q with FP16 scales (ONNX Runtime's QLinearConcat)"
    return None


# What may sit between the Conv and its Q for WeightBiasQuantization to fire: Relu and Clip (its own
# rule), and the ops QDQPropagationTransformer moves a Q back across (it runs first, at the same level).
_TO_Q = ("Relu", "Clip")
_PROPAGATED = ("MaxPool", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Slice")


def bias_requantized(model) -> list[int]:
    """Indices of the Conv nodes whose float bias WeightBiasQuantization would quantize to int32:
    input from a DequantizeLinear, output only to a QuantizeLinear (both as ORT will have moved them)."""
    g = model.graph
    inits = {i.name for i in g.initializer}
    outputs = {o.name for o in g.output}
    producer = {o: n for n in g.node for o in n.output}
    consumers: dict[str, list] = {}
    for n in g.node:
        for name in n.input:
            consumers.setdefault(name, []).append(n)

    def feeds_q(node) -> bool:
        while True:
            after = consumers.get(node.output[0], [])
            if len(after) != 1 or node.output[0] in outputs:
                return False
            if after[0].op_type == "QuantizeLinear":
                return True
            if after[0].op_type not in _TO_Q + _PROPAGATED:
                return False
            node = after[0]

    def from_dq(name) -> bool:
        node = producer.get(name)
        while node is not None and node.op_type in _PROPAGATED:
            node = producer.get(node.input[0])
        return node is not None and node.op_type == "DequantizeLinear"

    return [i for i, n in enumerate(g.node)
            if n.op_type == "Conv" and len(n.input) > 2 and n.input[2] in inits and from_dq(n.input[0]) and feeds_q(n)]


def _qdq_concat(model) -> bool:
    producer = {o: n.op_type for n in model.graph.node for o in n.output}
    readers: dict[str, list[str]] = {}
    for n in model.graph.node:
        for name in n.input:
            readers.setdefault(name, []).append(n.op_type)
    return any(n.op_type == "Concat" and all(producer.get(x) == "DequantizeLinear" for x in n.input)
               and readers.get(n.output[0]) == ["QuantizeLinear"] for n in model.graph.node)


def _has_fp16_scales(model) -> bool:
    half = {i.name for i in model.graph.initializer if i.data_type == 10}
    return any(n.op_type == "DequantizeLinear" and len(n.input) > 1 and n.input[1] in half for n in model.graph.node)


