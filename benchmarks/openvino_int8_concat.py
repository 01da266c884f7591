"""Minimal reproduction: OpenVINO CPU vs ONNX Runtime on X -> Q/DQ (int8 or uint8) -> Conv, X = Concat, Add or none.

Why the OpenVINO runner compiles int8 zero-point-0 activations as uint8 zero point 128: found by
bisecting the TensorRT-preset S²-FPN18 graph (benchmarks/README.md, "OpenVINO on CPU"). Each
graph is 8 → (16) channels, 3x3 conv, per-channel int8 weights, activation scale 0.05; the uint8
graph is the int8 one with every activation value shifted by 128 (the same 256 values).
Records max |OpenVINO − ONNX Runtime| in results/openvino-int8-concat.json.

Usage: python benchmarks/openvino_int8_concat.py
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = Path(__file__).resolve().parent / "results" / "openvino-int8-concat.json"


def graph(kind: str, before: str) -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    channels = 16 if before == "Concat" else 8
    zero = np.array(0, np.int8) if kind == "int8" else np.array(128, np.uint8)
    init = [numpy_helper.from_array(np.array(0.05, np.float32), "s"), numpy_helper.from_array(zero, "z"),
            numpy_helper.from_array(rng.integers(-127, 128, (8, channels, 3, 3)).astype(np.int8), "wq"),
            numpy_helper.from_array(np.full(8, 0.01, np.float32), "ws"),
            numpy_helper.from_array(np.zeros(8, np.int8), "wz"), numpy_helper.from_array(np.array(0.5, np.float32), "h")]
    pre = {"Concat": helper.make_node("Concat", ["x", "m"], ["p"], axis=1),
           "Add": helper.make_node("Add", ["x", "m"], ["p"]), "none": helper.make_node("Identity", ["m"], ["p"])}[before]
    nodes = [helper.make_node("Mul", ["x", "h"], ["m"]), pre,
             helper.make_node("QuantizeLinear", ["p", "s", "z"], ["pq"]),
             helper.make_node("DequantizeLinear", ["pq", "s", "z"], ["pd"]),
             helper.make_node("DequantizeLinear", ["wq", "ws", "wz"], ["wd"], axis=0),
             helper.make_node("Conv", ["pd", "wd"], ["y"], pads=[1, 1, 1, 1])]
    g = helper.make_graph(nodes, "repro", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 16, 16])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 16, 16])], init)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model, full_check=True)
    return model


def main():
    import onnxruntime as ort
    import openvino as ov

    x = np.random.default_rng(1).normal(0, 2, (1, 8, 16, 16)).astype(np.float32)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for before in ("none", "Add", "Concat"):
            for kind in ("int8", "uint8"):
                path = f"{tmp}/{before}-{kind}.onnx"
                onnx.save(graph(kind, before), path)
                ref = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
                got = ov.Core().compile_model(path, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})({"x": x})[0]
                rows.append({"before_qdq": before, "activations": kind, "max_abs_diff": float(np.abs(got - ref).max()),
                             "max_abs_output": float(np.abs(ref).max())})
                print(f"{before:6s} -> Q/DQ {kind:5s} -> Conv: max |OV - ORT| {rows[-1]['max_abs_diff']:.5f} "
                      f"(outputs up to {rows[-1]['max_abs_output']:.1f})")
    OUT.write_text(json.dumps({"openvino": ov.__version__, "onnxruntime": ort.__version__, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
