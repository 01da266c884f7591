"""Minimal reproductions: what ONNX Runtime's default optimisations do to Q/DQ graphs whose scales
are FP16 (the TensorRT-target INT8 and FP8 graphs with an FP16 remainder, opset 19).

    python benchmarks/ort_fp16_qdq_repro.py [--out benchmarks/results/ort-fp16-qdq-repro.json]

1. Conv (silent wrong result). Five nodes, the shape every quantized Conv of our TensorRT graphs has:

    x -> Q -> DQ -> Conv(W = DQ(Wq, per-channel axis 0), B) -> Q -> DQ -> y

   WeightBiasQuantization (basic level, so on by default; `session.disable_quant_qdq` does not
   turn it off) sees a Conv fed by a DQ with a scalar scale whose output goes only to a Q, and
   quantizes its float bias in the graph: Mul `<conv>_scale` (x_scale * w_scale), Div, Round,
   Cast to int32, DequantizeLinear. With FP16 scales the quotient is FP16: a bias over 65504
   quantization steps becomes inf and Cast(inf -> int32) INT32_MIN, a bias of about -10^4. FP8's
   scales are amax / 448, so x_scale * w_scale is ~12 x smaller than INT8's and far more channels
   overflow. With FP32 scales the same rewrite is harmless. The `bias as Add` variants are the
   graph edgeseg writes now (edgeseg/quant/bias.py): no Conv bias input, a per-channel Add after
   the Conv, so the Conv no longer feeds a Q and the transformer leaves it alone.

2. Concat (refused). Two Q/DQ'd branches into a Concat whose output is quantized: the extended
   level's QDQ selectors fuse DQ -> Concat -> Q into com.microsoft QLinearConcat, whose schema
   takes FP32 scales only, and the session refuses the model (INVALID_GRAPH). edgeseg's FP16
   remainder graphs leave Concat inputs unquantized (edgeseg/quant/placement.py).

Each variant runs at ORT_DISABLE_ALL (the reference: the graph as its ops define it),
ORT_ENABLE_BASIC, the default (ORT_ENABLE_ALL), and the default with only WeightBiasQuantization
disabled; the nodes ORT added are listed from the optimized model.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
from pathlib import Path

import numpy as np

C_IN, C_OUT, H, W = 8, 8, 6, 6


def build(dtype: str, scale_type, bias_as_add: bool = False):
    """The five-node Q/DQ Conv with an FP16 body (or FP32 with `scale_type` float32)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    qmax = 448.0 if dtype == "fp8" else 127.0
    w = rng.normal(0, 0.02, (C_OUT, C_IN, 3, 3)).astype(np.float32)
    w_scale = (np.abs(w).max(axis=(1, 2, 3)) / qmax).astype(scale_type)
    bias = np.linspace(-2.0, 2.0, C_OUT).astype(scale_type)  # a trained BN-folded bias is of this size
    x_scale, y_scale = np.asarray(4.0 / qmax, scale_type), np.asarray(8.0 / qmax, scale_type)
    if dtype == "fp8":
        import ml_dtypes

        wq = (w / w_scale.astype(np.float32)[:, None, None, None]).astype(ml_dtypes.float8_e4m3fn)
        zp, wzp = np.zeros((), ml_dtypes.float8_e4m3fn), np.zeros(C_OUT, ml_dtypes.float8_e4m3fn)
    else:
        wq = np.round(w / w_scale.astype(np.float32)[:, None, None, None]).clip(-127, 127).astype(np.int8)
        zp, wzp = np.int8(0), np.zeros(C_OUT, np.int8)
    inits = [numpy_helper.from_array(a, n) for a, n in (
        (x_scale, "x_scale"), (y_scale, "y_scale"), (zp, "zp"), (wq, "wq"), (w_scale, "w_scale"), (wzp, "wzp"))]
    body = TensorProto.FLOAT16 if scale_type == np.float16 else TensorProto.FLOAT
    nodes = [helper.make_node("Cast", ["x"], ["xh"], to=body),
             helper.make_node("QuantizeLinear", ["xh", "x_scale", "zp"], ["xq"], name="x_Q"),
             helper.make_node("DequantizeLinear", ["xq", "x_scale", "zp"], ["xdq"], name="x_DQ"),
             helper.make_node("DequantizeLinear", ["wq", "w_scale", "wzp"], ["wdq"], name="w_DQ", axis=0)]
    if bias_as_add:
        inits.append(numpy_helper.from_array(bias.reshape(1, -1, 1, 1), "bias"))
        nodes += [helper.make_node("Conv", ["xdq", "wdq"], ["conv"], name="Conv", pads=[1, 1, 1, 1]),
                  helper.make_node("Add", ["conv", "bias"], ["yh"], name="Conv_bias")]
    else:
        inits.append(numpy_helper.from_array(bias, "bias"))
        nodes.append(helper.make_node("Conv", ["xdq", "wdq", "bias"], ["yh"], name="Conv", pads=[1, 1, 1, 1]))
    nodes += [helper.make_node("QuantizeLinear", ["yh", "y_scale", "zp"], ["yq"], name="y_Q"),
              helper.make_node("DequantizeLinear", ["yq", "y_scale", "zp"], ["ydq"], name="y_DQ"),
              helper.make_node("Cast", ["ydq"], ["y"], to=TensorProto.FLOAT)]
    graph = helper.make_graph(nodes, "qdq_conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, C_IN, H, W])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, C_OUT, H, W])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    model.ir_version = 9
    onnx.checker.check_model(model, full_check=True)
    return model


def build_concat(scale_type):
    """Two Q/DQ'd branches into a Concat whose output is quantized: what the `naive` preset wrote."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    body = TensorProto.FLOAT16 if scale_type == np.float16 else TensorProto.FLOAT
    inits = [numpy_helper.from_array(np.asarray(4.0 / 127, scale_type), "s"), numpy_helper.from_array(np.int8(0), "zp")]
    nodes = [helper.make_node("Cast", ["x"], ["xh"], to=body), helper.make_node("Relu", ["xh"], ["a"]),
             helper.make_node("Neg", ["xh"], ["b"])]
    for t in ("a", "b"):
        nodes += [helper.make_node("QuantizeLinear", [t, "s", "zp"], [f"{t}q"]),
                  helper.make_node("DequantizeLinear", [f"{t}q", "s", "zp"], [f"{t}dq"])]
    nodes += [helper.make_node("Concat", ["adq", "bdq"], ["c"], axis=1),
              helper.make_node("QuantizeLinear", ["c", "s", "zp"], ["cq"]),
              helper.make_node("DequantizeLinear", ["cq", "s", "zp"], ["cdq"]),
              helper.make_node("Cast", ["cdq"], ["y"], to=TensorProto.FLOAT)]
    graph = helper.make_graph(nodes, "qdq_concat", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, C_IN, H, W])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2 * C_IN, H, W])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    model.ir_version = 9
    onnx.checker.check_model(model, full_check=True)
    return model


SETTINGS = {"disable_all": ("ORT_DISABLE_ALL", None), "basic": ("ORT_ENABLE_BASIC", None),
            "default": (None, None), "default_without_WeightBiasQuantization": (None, ["WeightBiasQuantization"])}


def run(model, level, disabled, x, tmp: Path):
    import onnx
    import onnxruntime as ort

    options = ort.SessionOptions()
    if level:
        options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    options.optimized_model_filepath = str(tmp / "optimized.onnx")
    kwargs = {"disabled_optimizers": disabled} if disabled else {}
    options.log_severity_level = 3
    try:
        sess = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"], **kwargs)
    except Exception as exc:  # the finding for the Concat variant
        return None, " ".join(str(exc).split())[:240]
    y = sess.run(None, {"x": x})[0]
    added = sorted(n.name for n in onnx.load(str(tmp / "optimized.onnx")).graph.node
                   if n.name not in {m.name for m in model.graph.node})
    return y, added


def main():
    import onnxruntime as ort

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "ort-fp16-qdq-repro.json"))
    args = ap.parse_args()
    ort.set_default_logger_severity(3)  # ORT warns that it cannot constant-fold the FP16 Mul it added
    x = np.random.default_rng(1).uniform(-4, 4, (1, C_IN, H, W)).astype(np.float32)
    variants = {"Conv, int8, fp16 scales": build("int8", np.float16), "Conv, fp8, fp16 scales": build("fp8", np.float16),
                "Conv, int8, fp32 scales": build("int8", np.float32), "Conv, fp8, fp32 scales": build("fp8", np.float32),
                "Conv, int8, fp16 scales, bias as Add": build("int8", np.float16, True),
                "Conv, fp8, fp16 scales, bias as Add": build("fp8", np.float16, True),
                "Concat, int8, fp16 scales": build_concat(np.float16),
                "Concat, int8, fp32 scales": build_concat(np.float32)}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, model in variants.items():
            ref, _ = run(model, "ORT_DISABLE_ALL", None, x, Path(tmp))
            row = {"variant": name}
            for setting, (level, disabled) in SETTINGS.items():
                y, added = run(model, level, disabled, x, Path(tmp))
                row[setting] = ({"error": added} if y is None else
                                {"max_abs_diff_vs_disable_all": float(np.abs(y - ref).max()), "nodes_added": added})
            rows.append(row)
            print(f"{name:38s} " + "  ".join(f"{s}: {row[s].get('max_abs_diff_vs_disable_all', 'refused')}"
                                             for s in SETTINGS))
    out = {"onnxruntime": ort.__version__, "python": platform.python_version(), "machine": platform.machine(),
           "reading": "y is quantized, so a faithful run differs from disable_all by exactly 0",
           "results": rows}
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(args.out)


if __name__ == "__main__":
    main()
