"""Our Q/DQ graphs in a plain `onnxruntime.InferenceSession(path)` (default settings) vs unoptimised.

    python benchmarks/ort_default_qdq.py OUT/s2fpn18_180x240.fp32.onnx OUT/*.int8*.onnx OUT/*.fp8.onnx \
        [--rtx] [--label before|after] [--out benchmarks/results/ort-default-qdq.json]

For each quantized model, on every camvid-half val image: argmax agreement between ONNX
Runtime's default SessionOptions (what a user gets) and ORT_DISABLE_ALL (the graph as its ops
define it), the mIoU of each, and the FP32 model's mIoU (the drop either way). A model ORT
refuses to load is recorded with its error. `--rtx`: also TensorRT-RTX's Q/DQ fusion report
of an AOT build (compute capabilities 8.9 and 12.0, which have FP8), CPU only. Rows are added
to `--out` under `--label`, so a before/after pair can be recorded from two checkouts.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"


def val_set(fp32_path, data):
    from edgeseg.artifacts import metadata_dict
    from edgeseg.data.contract import DatasetInfo, Preprocess
    from edgeseg.data.datasets import open_dataset
    from edgeseg.quant.sensitivity import Validation

    info = DatasetInfo.named("camvid")
    pre = Preprocess.from_dict(metadata_dict(fp32_path)["preprocess"])
    ds = open_dataset(data, "camvid", "val", None, info)
    batches, labels = [], []
    for s in ds.samples:
        image, label = ds.load(s)
        batches.append(pre.apply(image)[None])
        labels.append(label)
    return Validation(batches, labels, info.num_classes, info.ignore_index)


def outputs(path, batches, level: str | None):
    """The logits of each batch from a CPU session at `level` (None: ORT's default options)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if level:
        options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    options.log_severity_level = 3
    sess = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return [sess.run(None, {name: b})[0] for b in batches]


def measure(path, val, fp32_miou: float) -> dict:
    t0 = time.perf_counter()
    ref = outputs(path, val.batches, "ORT_DISABLE_ALL")
    row = {"model": Path(path).name, "fp32_miou": round(fp32_miou, 3), "miou_disable_all": round(val.miou(ref), 3)}
    try:
        got = outputs(path, val.batches, None)
    except Exception as exc:  # ORT refuses the graph: that is the finding
        row["default_error"] = " ".join(str(exc).split())[:300]
        return row
    same = sum(int((g.argmax(1) == r.argmax(1)).sum()) for g, r in zip(got, ref))
    pixels = sum(r[:, 0].size for r in ref)
    row.update({"miou_default": round(val.miou(got), 3), "agreement_default_vs_disable_all_pct": round(100 * same / pixels, 4),
                "seconds": round(time.perf_counter() - t0, 1)})
    return row


def rtx_fusion(path) -> dict | None:
    from edgeseg.engine.builder import BuildSettings, build_engine

    with tempfile.TemporaryDirectory() as tmp:
        engine = build_engine(path, Path(tmp) / "m.engine",
                              BuildSettings(runtime="tensorrt-rtx", compute_capabilities="8.9,12.0"), progress=False)
        meta = json.loads(Path(str(engine) + ".json").read_text())
    fusion = meta["engine"].get("qdq_fusion")
    return fusion and {k: fusion[k] for k in ("quantize", "dequantize", "fused", "folded", "summary")}


def main():
    import onnx
    import onnxruntime as ort

    from edgeseg.quant.sensitivity import run

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("fp32")
    ap.add_argument("models", nargs="+")
    ap.add_argument("--data", default=str(SHARED / "data/camvid-half"))
    ap.add_argument("--rtx", action="store_true", help="also TensorRT-RTX's Q/DQ fusion report (AOT, CPU)")
    ap.add_argument("--label", default="after")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "ort-default-qdq.json"))
    args = ap.parse_args()
    val = val_set(args.fp32, args.data)
    fp32_miou = val.miou(run(onnx.load(args.fp32), val.batches))
    rows = []
    for path in args.models:
        row = measure(path, val, fp32_miou)
        if args.rtx:
            row["tensorrt_rtx"] = rtx_fusion(path)
        rows.append(row)
        print(json.dumps(row), flush=True)
    out = Path(args.out)
    record = json.loads(out.read_text()) if out.exists() else {}
    flags = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    record.update({"val_images": len(val.batches), "onnxruntime": ort.__version__, "python": platform.python_version(),
                   "lscpu_flags": next((ln.split(":", 1)[1].strip() for ln in flags.splitlines()
                                        if ln.startswith("Flags")), None)})
    record[args.label] = rows
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(out)


if __name__ == "__main__":
    main()
