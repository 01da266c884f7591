"""Peak memory of streaming calibration at Cityscapes size (1024 x 2048), synthetic images.

Exports the trained S²-FPN18 at 1024x2048, then calibrates (percentile histograms, the most
memory-hungry method) on N synthetic images, reading peak RSS (VmHWM) as it goes, and records
the curve in benchmarks/results/calib-memory.json. A flat curve is the point: memory does not
grow with the number of images.

Usage: python benchmarks/calib_memory.py [-n 500] [--size 1024x2048]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main():
    import onnx

    from edgeseg.data.contract import DatasetInfo, Preprocess
    from edgeseg.export.onnx_export import export_onnx
    from edgeseg.export.samples import synthetic_images
    from edgeseg.models import load_model
    from edgeseg.quant.calibrate import calibration_tensors
    from edgeseg.quant.calibrate import collect
    from edgeseg.quant.config import QuantConfig

    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=500)
    ap.add_argument("--size", default="1024x2048")
    ap.add_argument("--out", default="benchmarks/results/calib-memory.json")
    args = ap.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    model, _ = load_model(SHARED / "fixtures/s2fpn18_camvid_half.pth")
    model.deploy()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.onnx"
        export_onnx(model, path, size)
        proto = onnx.load(str(path))
    del model
    import gc

    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak: measure calibration, not the export
    config = QuantConfig()
    tensors = calibration_tensors(proto, config)
    pre = Preprocess.official(DatasetInfo.named("cityscapes"), size)
    curve, t0 = [], time.perf_counter()
    state = {"i": 0}

    def batches():
        for i in range(args.n):
            yield pre.apply(synthetic_images(1, size, seed=i)[0])[None]

    def step():
        state["i"] += 1
        if state["i"] in (1, 2, 5) or state["i"] % 25 == 0 or state["i"] == args.n:
            curve.append({"images": state["i"], "peak_rss_mb": round(peak_rss_mb(), 1),
                          "seconds": round(time.perf_counter() - t0, 1)})
            print(curve[-1], flush=True)
            Path(args.out).write_text(json.dumps({"size": list(size), "method": config.method,
                                                  "tensors": len(tensors), "images_planned": args.n,
                                                  "curve": curve}, indent=2) + "\n")

    collect(proto, tensors, batches(), config.method, config.bins, config.percentile, progress=step)


if __name__ == "__main__":
    main()
