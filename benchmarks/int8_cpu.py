"""FP32 / FP16 / INT8 side by side for the trained CamVid checkpoint: mIoU on val, ORT CPU latency.

Exports with `edgeseg export` (one work directory, so stages and calibration are reused),
evaluates on camvid-half val, times each model with ONNX Runtime on this CPU, and records
everything with the CPU model in benchmarks/results/int8-cpu.json.

Usage: python benchmarks/int8_cpu.py [--size 180x240] [--calib-n 300] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"


def export(args, work, *extra) -> str:
    cmd = [sys.executable, "-m", "edgeseg.cli.main", "export", str(SHARED / "fixtures/s2fpn18_camvid_half.pth"),
           "-o", str(work), "--input-size", args.size, *extra]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return out.strip().splitlines()[-1]


def latency(path, size, threads, iters=30, warmup=5) -> float:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).normal(0, 50, (1, 3, *size)).astype(np.float32)
    name = sess.get_inputs()[0].name
    for _ in range(warmup):
        sess.run(None, {name: x})
    times = []
    for _ in range(iters):
        t = time.perf_counter()
        sess.run(None, {name: x})
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def main():
    from edgeseg.bench.accuracy import evaluate
    from edgeseg.platform.hardware import cpu_model
    from edgeseg.data.datasets import open_dataset
    from edgeseg.runtime import open_runner

    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="180x240")
    ap.add_argument("--calib-n", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--methods", default="percentile,entropy,minmax")
    ap.add_argument("--work", default="benchmarks/.work")
    ap.add_argument("--out", default="benchmarks/results/int8-cpu.json")
    args = ap.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    work = Path(args.work)
    data = SHARED / "data/camvid-half"
    manifest = work / f"calib-{args.calib_n}.txt"
    subprocess.run([sys.executable, "-m", "edgeseg.cli.main", "calib", "make", "--data", str(data), "--split", "train",
                    "-n", str(args.calib_n), "-o", str(manifest)], check=True, capture_output=True)
    models = {"fp32": export(args, work), "fp16": export(args, work, "--precision", "fp16")}
    for method in args.methods.split(","):
        for target in ("tensorrt", "cpu"):
            t = time.perf_counter()
            # --min-agreement 0: record every method's accuracy, even one the export gate would refuse.
            models[f"int8 {method} {target}"] = export(args, work, "--precision", "int8", "--calib", str(manifest),
                                                       "--calib-data", str(data), "--calib-method", method,
                                                       "--placement", target, "--min-agreement", "0")
            print(f"int8 {method} {target}: export {time.perf_counter() - t:.1f} s", flush=True)
    runners = [open_runner(p).activate() for p in models.values()]
    report = evaluate(runners, open_dataset(data, "camvid", "val")).to_dict()
    rows = []
    for (name, path), row in zip(models.items(), report["artifacts"]):
        ms = latency(path, size, args.threads)
        rows.append({"model": name, "path": path, "miou": row["miou"], "miou_drop": row["miou_drop"] or 0.0,
                     "agreement": row["agreement"], "ort_cpu_median_ms": round(ms, 2)})
        print(f"{name:28s} mIoU {row['miou']:.3f}  drop {rows[-1]['miou_drop']:+.3f}  {ms:7.1f} ms", flush=True)
    fp32_ms = rows[0]["ort_cpu_median_ms"]
    for r in rows:
        r["latency_vs_fp32"] = round(r["ort_cpu_median_ms"] / fp32_ms, 3)
    import onnxruntime

    result = {"checkpoint": "s2fpn18_camvid_half.pth", "input": [1, 3, *size], "val_images": report["images"],
              "calib_images": args.calib_n, "threads": args.threads, "cpu": cpu_model(Path("/proc/cpuinfo").read_text()),
              "cpu_flags_vnni": "vnni" in Path("/proc/cpuinfo").read_text(),
              "versions": {"onnxruntime": onnxruntime.__version__, "python": platform.python_version()}, "rows": rows}
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
