"""Measure onnxsim against onnxslim on S²-FPN18: nodes, size, ORT CPU latency, parity.

Usage: python benchmarks/simplifier.py [CKPT] [--size 360x480] [--out benchmarks/results/simplifier.json]
The default simplifier in edgeseg.export.simplify was chosen from this table.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def latency_ms(path, x, threads=2, warmup=5, iters=30):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    for _ in range(warmup):
        sess.run(None, {name: x})
    times = []
    for _ in range(iters):
        t = time.perf_counter()
        y = sess.run(None, {name: x})[0]
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times), y


def main():
    import onnx
    import torch

    from edgeseg.export.onnx_export import export_onnx
    from edgeseg.export.simplify import simplify
    from edgeseg.models import load_model

    ap = argparse.ArgumentParser()
    ap.add_argument("ckpt", nargs="?", default="../shared/fixtures/s2fpn18_camvid_half.pth")
    ap.add_argument("--size", default="360x480")
    ap.add_argument("--out", default="benchmarks/results/simplifier.json")
    args = ap.parse_args()
    h, w = (int(v) for v in args.size.split("x"))
    model, _ = load_model(args.ckpt)
    model.deploy()
    x = np.random.default_rng(0).normal(0, 60, (1, 3, h, w)).astype(np.float32)
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.onnx"
        export_onnx(model, raw, (h, w))
        for name in ("none", "onnxsim", "onnxslim"):
            t = time.perf_counter()
            proto = simplify(onnx.load(str(raw)), name)
            seconds = time.perf_counter() - t
            path = Path(tmp) / f"{name}.onnx"
            onnx.save(proto, str(path))
            ms, y = latency_ms(path, x)
            rows.append({"simplifier": name, "nodes": len(proto.graph.node), "bytes": path.stat().st_size,
                         "simplify_s": round(seconds, 2), "ort_cpu_median_ms": round(ms, 2),
                         "max_abs_vs_torch": float(np.abs(y - ref).max()),
                         "argmax_agreement": float((y.argmax(1) == ref.argmax(1)).mean())})
            print(rows[-1])
    import onnxruntime
    import onnxsim
    import onnxslim

    result = {"model": "s2fpn18 (trained CamVid checkpoint)", "input": [1, 3, h, w], "threads": 2,
              "cpu": platform.processor() or platform.machine(), "versions": {
                  "onnxruntime": onnxruntime.__version__, "onnxsim": onnxsim.__version__,
                  "onnxslim": onnxslim.__version__, "torch": torch.__version__}, "rows": rows}
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
