"""TensorRT FP32 / FP16 / INT8 engines of the trained CamVid checkpoint: agreement and speed on this GPU.

Needs an NVIDIA GPU with TensorRT and cuda-python (pip install -e '.[export,tensorrt]') and
../shared (the checkpoint and camvid-half). For each precision it exports the ONNX with
`edgeseg.export` (INT8: Q/DQ calibrated on train images), builds an engine with the installed
TensorRT (one timing cache for all), runs the 101 val images through ONNX Runtime on CPU
(same ONNX) and through the engine, and records argmax agreement, mIoU and latency (trtexec
style: GPU compute separate from copies; plain and with a CUDA graph) in
benchmarks/results/tensorrt-<gpu>.json. Exits 1 when an engine misses its agreement minimum.

Usage: python benchmarks/gpu/run_tensorrt.py [--size 180x240] [--calib-n 300] [--iters 500]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO / ".." / "shared"
MIN_AGREEMENT = {"fp32": 99.9, "fp16": 99.5, "int8": 98.0}  # percent of pixels, engine vs ORT CPU, same ONNX


def export_all(work: Path, size, calib_n: int) -> dict:
    from edgeseg.data.calibset import make_manifest
    from edgeseg.export.options import ContractOptions, ExportOptions, QuantOptions
    from edgeseg.export.pipeline import run_export

    data = SHARED / "data" / "camvid-half"
    manifest = work / f"calib-train-{calib_n}.txt"
    make_manifest(data, "camvid", "train", calib_n, 0, manifest)
    out = {}
    for precision in ("fp32", "fp16", "int8"):
        quant = QuantOptions(calib=str(manifest), calib_data=str(data)) if precision == "int8" else QuantOptions()
        t0 = time.perf_counter()
        out[precision] = run_export(SHARED / "fixtures" / "s2fpn18_camvid_half.pth", work,
                                    ExportOptions(contract=ContractOptions(input_size=size), precision=precision,
                                                  quant=quant)).final
        print(f"{precision}: exported {out[precision].name} in {time.perf_counter() - t0:.0f} s", flush=True)
    return out


def measure(precision: str, onnx_path: Path, engine: Path, size, iters: int) -> dict:
    from edgeseg.bench.accuracy import evaluate
    from edgeseg.bench.speed import time_runner
    from edgeseg.data.datasets import open_dataset
    from edgeseg.engine import sidecar
    from edgeseg.runtime import open_runner

    data = SHARED / "data" / "camvid-half"
    with open_runner(onnx_path) as ort_cpu, open_runner(engine) as trt:
        report = evaluate([ort_cpu, trt], open_dataset(data, "camvid", "val")).to_dict()
        batch = np.random.default_rng(0).normal(0, 50, (1, 3, *size)).astype(np.float32)
        plain = time_runner(trt, batch, warmup=50, iters=iters)
    with open_runner(engine, cuda_graph=True) as graphed:
        graph = time_runner(graphed, batch, warmup=50, iters=iters)
    ort_row, trt_row = report["artifacts"]
    meta = sidecar.read(engine)
    return {"precision": precision, "onnx": str(onnx_path), "engine": str(engine), "val_images": report["images"],
            "agreement_vs_ort_cpu": trt_row["agreement"], "min_agreement": MIN_AGREEMENT[precision],
            "passed": trt_row["agreement"] >= MIN_AGREEMENT[precision],
            "miou_ort_cpu": ort_row["miou"], "miou_tensorrt": trt_row["miou"],
            "build": {"mode": meta["engine"]["build"]["mode"], "seconds": meta["provenance"]["build_seconds"],
                      "engine_mib": round(meta["engine"]["bytes"] / 2**20, 2)},
            "latency": {"plain": plain, "cuda_graph": graph}}


def gpu_slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def main() -> int:
    from edgeseg.engine.builder import BuildSettings, build_engine, import_tensorrt
    from edgeseg.engine.cuda import open_device

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="180x240", help="HxW the models are exported at")
    ap.add_argument("--calib-n", type=int, default=300, help="INT8 calibration images from the train split")
    ap.add_argument("--iters", type=int, default=500, help="timed iterations per engine")
    ap.add_argument("--work", default=str(REPO / "benchmarks" / ".work" / "tensorrt"))
    ap.add_argument("--results", default=str(REPO / "benchmarks" / "results"))
    args = ap.parse_args()
    size = tuple(int(v) for v in args.size.lower().split("x"))
    trt = import_tensorrt()
    _cuda, gpu, cc = open_device(0)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    onnx_paths = export_all(work, size, args.calib_n)
    rows = []
    for precision, onnx_path in onnx_paths.items():
        engine = build_engine(onnx_path, work / f"{precision}.engine",
                              BuildSettings(timing_cache=str(work / "timing.cache")))
        rows.append(measure(precision, onnx_path, engine, size, args.iters))
        r = rows[-1]
        print(f"{precision}: agreement {r['agreement_vs_ort_cpu']:.3f}% (min {r['min_agreement']}), mIoU "
              f"{r['miou_tensorrt']:.3f} (ORT CPU {r['miou_ort_cpu']:.3f}), GPU compute "
              f"{r['latency']['plain']['gpu_compute']['median_ms']:.3f} ms median", flush=True)
    fp32_miou = rows[0]["miou_ort_cpu"]
    for r in rows:
        r["miou_drop_vs_fp32"] = round(fp32_miou - r["miou_tensorrt"], 4)
    result = {"checkpoint": "s2fpn18_camvid_half.pth", "input": [1, 3, *size], "gpu": gpu, "compute_capability": cc,
              "tensorrt": str(trt.__version__), "calib_images": args.calib_n, "iters": args.iters, "rows": rows}
    out = Path(args.results) / f"tensorrt-{gpu_slug(gpu)}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(out)
    return 0 if all(r["passed"] for r in rows) else 1


if __name__ == "__main__":
    from edgeseg.errors import EdgesegError

    try:
        sys.exit(main())
    except EdgesegError as exc:
        sys.exit(f"error: {exc}")
