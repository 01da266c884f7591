"""Minimal reproduction: ONNX Runtime's WeightBiasQuantization corrupts a Conv bias when the Q/DQ
scales are FP16 (int8) or the Q/DQ type is FP8, at the default (and the basic) optimisation level.

    python benchmarks/ort_fp16_qdq_repro.py [--out benchmarks/results/ort-fp16-qdq-repro.json]

The model is five nodes, the shape every quantized Conv of our TensorRT-target graphs has:

    x -> QuantizeLinear -> DequantizeLinear -> Conv(W = DequantizeLinear(Wq, per-channel), B) -> QuantizeLinear
      -> DequantizeLinear -> y

WeightBiasQuantization (a level-1 transformer, on whatever `disable_quant_qdq` says) sees a Conv
whose input comes from a DQ with a scalar scale and whose output goes only to a Q, and quantizes
its float bias to int32 in the graph: Mul `<conv>_scale` (x_scale * w_scale), Div, Round, Cast
to int32, DequantizeLinear. With FP16 scales the Mul and the Div run in FP16: bias / (x_scale *
w_scale) passes 65504 for any bias larger than a few thousand quantization steps, becomes inf,
and Cast(inf -> int32) gives INT32_MIN, a huge negative bias. FP8's scales are amax / 448, so
x_scale * w_scale is ~12 x smaller than INT8's and far more channels overflow. With FP32 scales
the same rewrite is harmless (int32 holds the quotient).

The script runs each variant at ORT_DISABLE_ALL (the reference: the graph as its ops define it),
ORT_ENABLE_BASIC, the default (ORT_ENABLE_ALL), and the default with only WeightBiasQuantization
disabled, and lists the nodes ORT added. The last variant, `bias as Add`, is the graph change
edgeseg makes (edgeseg/quant/bias.py): the Conv has no bias input, a per-channel Add follows it,
so the Conv's output no longer goes straight to a Q and the transformer leaves it alone.
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
    sess = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"], **kwargs)
    y = sess.run(None, {"x": x})[0]
    added = sorted(n.name for n in onnx.load(str(tmp / "optimized.onnx")).graph.node
                   if n.name not in {m.name for m in model.graph.node})
    return y, added


def main():
    import onnxruntime as ort

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "ort-fp16-qdq-repro.json"))
    args = ap.parse_args()
    x = np.random.default_rng(1).uniform(-4, 4, (1, C_IN, H, W)).astype(np.float32)
    variants = {"int8, fp16 scales": ("int8", np.float16, False), "fp8, fp16 scales": ("fp8", np.float16, False),
                "int8, fp32 scales": ("int8", np.float32, False), "fp8, fp32 scales": ("fp8", np.float32, False),
                "int8, fp16 scales, bias as Add": ("int8", np.float16, True),
                "fp8, fp16 scales, bias as Add": ("fp8", np.float16, True)}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (dtype, scale_type, as_add) in variants.items():
            model = build(dtype, scale_type, as_add)
            ref, _ = run(model, "ORT_DISABLE_ALL", None, x, Path(tmp))
            row = {"variant": name}
            for setting, (level, disabled) in SETTINGS.items():
                y, added = run(model, level, disabled, x, Path(tmp))
                row[setting] = {"max_abs_diff_vs_disable_all": float(np.abs(y - ref).max()),
                                "nodes_added": added}
            rows.append(row)
            print(f"{name:34s} " + "  ".join(f"{s}: {row[s]['max_abs_diff_vs_disable_all']:.4g}" for s in SETTINGS))
    out = {"onnxruntime": ort.__version__, "python": platform.python_version(), "machine": platform.machine(),
           "output_range": "y is quantized with y_scale = 8/qmax: a correct run differs from disable_all by 0",
           "results": rows}
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(args.out)


if __name__ == "__main__":
    main()
