"""The ceiling INT8 can reach on this CPU: every conv shape of the model, FP32 Conv vs QLinearConv.

Each distinct conv (input shape, weights, stride, group) of an FP32 ONNX becomes a one-conv model,
once in float and once as DQ -> Conv -> Q with the CPU placement's grids (uint8 activations with
zero point 128, or int8 with zero point 0; symmetric per-channel int8 weights; int32 bias), which
ORT fuses into QLinearConv. ORT's profiler gives the conv kernel's own time, without the Q/DQ
of the test harness. The sum over the model's convs (each shape times its count) bounds what any
Q/DQ placement can win: if integer convs are not faster than float ones, no graph shaping makes
the INT8 model faster.

Usage: python benchmarks/int8_conv_kernels.py MODEL.fp32.onnx [--threads 2] [--out results/...json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
from collections import Counter
from pathlib import Path

import numpy as np

GRIDS = {"u8": (np.uint8, 128), "s8": (np.int8, 0)}


def conv_shapes(path: str) -> Counter:
    import onnx
    from onnx import helper, shape_inference

    m = shape_inference.infer_shapes(onnx.load(path))
    dims = {v.name: tuple(d.dim_value for d in v.type.tensor_type.shape.dim)
            for v in [*m.graph.value_info, *m.graph.input]}
    weights = {i.name: tuple(i.dims) for i in m.graph.initializer}
    shapes = Counter()
    for n in m.graph.node:
        if n.op_type == "Conv":
            a = {x.name: helper.get_attribute_value(x) for x in n.attribute}
            shapes[(dims[n.input[0]], weights[n.input[1]], tuple(a.get("strides", (1, 1))),
                    tuple(a.get("pads", (0, 0, 0, 0))), tuple(a.get("dilations", (1, 1))), a.get("group", 1))] += 1
    return shapes


def one_conv(x_shape, w_shape, strides, pads, dilations, group, grid: str | None) -> bytes:
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w = rng.normal(0, 0.05, w_shape).astype(np.float32)
    b = rng.normal(0, 0.1, w_shape[0]).astype(np.float32)
    conv = dict(strides=strides, pads=pads, dilations=dilations, group=group)
    arrays = {}
    if grid is None:
        arrays.update(w=w, b=b)
        nodes = [helper.make_node("Conv", ["x", "w", "b"], ["y"], **conv)]
    else:
        dtype, zero = GRIDS[grid]
        sx = np.float32(0.05)
        sw = (np.abs(w).reshape(w_shape[0], -1).max(1) / 127).astype(np.float32)
        arrays.update(sx=sx, zx=dtype(zero), sy=np.float32(0.1), zy=dtype(zero), sw=sw,
                      wq=np.clip(np.round(w / sw[:, None, None, None]), -127, 127).astype(np.int8),
                      zw=np.zeros(w_shape[0], np.int8), bq=np.round(b / (sx * sw)).astype(np.int32),
                      sb=(sx * sw).astype(np.float32), zb=np.zeros(w_shape[0], np.int32))
        nodes = [helper.make_node("QuantizeLinear", ["x", "sx", "zx"], ["xq"]),
                 helper.make_node("DequantizeLinear", ["xq", "sx", "zx"], ["xd"]),
                 helper.make_node("DequantizeLinear", ["wq", "sw", "zw"], ["wd"], axis=0),
                 helper.make_node("DequantizeLinear", ["bq", "sb", "zb"], ["bd"], axis=0),
                 helper.make_node("Conv", ["xd", "wd", "bd"], ["c"], **conv),
                 helper.make_node("QuantizeLinear", ["c", "sy", "zy"], ["yq"]),
                 helper.make_node("DequantizeLinear", ["yq", "sy", "zy"], ["y"])]
    graph = helper.make_graph(nodes, "conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(np.asarray(v), k) for k, v in arrays.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def conv_kernel_ms(blob: bytes, x_shape, threads: int, iters: int) -> tuple[str, float]:
    """(kernel name, median kernel time) from ORT's profiler, warm-up runs excluded."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.enable_profiling = True
    sess = ort.InferenceSession(blob, so, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).normal(0, 1, x_shape).astype(np.float32)
    warmup = 5
    for _ in range(warmup + iters):
        sess.run(None, {"x": x})
    trace = sess.end_profiling()
    events = json.loads(Path(trace).read_text())
    os.remove(trace)
    times: dict[str, list[float]] = {}
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time") and "Conv" in e["args"]["op_name"]:
            times.setdefault(e["args"]["op_name"], []).append(e["dur"] / 1e3)
    (name, durations), = times.items()
    return name, statistics.median(durations[warmup:])


def main():
    import onnxruntime

    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--out", default="benchmarks/results/int8-conv-kernels.json")
    args = ap.parse_args()

    from edgeseg.platform.hardware import cpu_model

    rows, total = [], Counter()
    for (x, w, strides, pads, dil, group), count in conv_shapes(args.model).items():
        row = {"input": list(x), "weight": list(w), "stride": list(strides), "group": group, "count": count}
        for grid in (None, *GRIDS):
            kernel, ms = conv_kernel_ms(one_conv(x, w, strides, pads, dil, group, grid), x, args.threads, args.iters)
            row[grid or "fp32"] = round(ms, 4)
            row[f"{grid or 'fp32'}_kernel"] = kernel
            total[grid or "fp32"] += ms * count
        row["u8_vs_fp32"] = round(row["u8"] / row["fp32"], 3)
        rows.append(row)
        print(f"{str(x):18s} w{str(w):18s} s{strides[0]} g{group:<3d} x{count}  fp32 {row['fp32']:7.3f}  "
              f"u8 {row['u8']:7.3f}  s8 {row['s8']:7.3f} ms  u8/fp32 {row['u8_vs_fp32']:.2f}", flush=True)
    totals = {k: round(v, 2) for k, v in total.items()}
    ratios = {f"{g}_vs_fp32": round(total[g] / total["fp32"], 3) for g in GRIDS}
    print(f"all {sum(r['count'] for r in rows)} convs, kernel time per run: {totals} ms; {ratios}")
    result = {"model": Path(args.model).name, "threads": args.threads, "iters": args.iters, "cpu": cpu_model(Path("/proc/cpuinfo").read_text()),
              "cpu_flags_vnni": "vnni" in Path("/proc/cpuinfo").read_text(),
              "versions": {"onnxruntime": onnxruntime.__version__, "python": platform.python_version()},
              "total_ms": totals, **ratios, "rows": rows}
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
