"""ONNX Runtime's default optimisations against the graph as its ops define it (ORT_DISABLE_ALL), per file.

Why `onnxruntime: default settings` in a quantization report is a measured claim: each INT8 file
runs on CamVid val at ORT_ENABLE_ALL (what users get) and ORT_DISABLE_ALL; argmax agreement and
mIoU of both are recorded (results/ort-levels-agreement.json).

Usage: python benchmarks/ort_levels_agreement.py DATA_ROOT MODEL.onnx [MODEL.onnx ...] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def main() -> None:
    import onnxruntime as ort

    from edgeseg.artifacts import read_metadata
    from edgeseg.data.contract import DatasetInfo, Preprocess
    from edgeseg.data.datasets import open_dataset
    from edgeseg.quant.sensitivity import Validation

    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("models", nargs="+")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--out", default=str(HERE / "results" / "ort-levels-agreement.json"))
    a = ap.parse_args()
    info = DatasetInfo.named("camvid")
    ds = open_dataset(a.data, "camvid", "val", a.limit, info)
    images = [ds.load(s) for s in ds.samples]
    rows = {}
    for path in a.models:
        pre = Preprocess.from_dict(read_metadata(path)["preprocess"])
        batches = [pre.apply(im)[None] for im, _ in images]
        val = Validation(batches, [lab for _, lab in images], info.num_classes, info.ignore_index)
        outs = {}
        for level in ("ORT_ENABLE_ALL", "ORT_DISABLE_ALL"):
            options = ort.SessionOptions()
            options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
            options.log_severity_level = 3
            sess = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
            name = sess.get_inputs()[0].name
            outs[level] = [sess.run(None, {name: b})[0] for b in batches]
        agree = np.mean([np.mean(x.argmax(1) == y.argmax(1)) for x, y in zip(*outs.values())])
        rows[Path(path).name] = {"agreement": round(float(agree), 5),
                                 **{f"miou_{k.lower()}": round(val.miou(v), 2) for k, v in outs.items()}}
        print(Path(path).name, rows[Path(path).name], flush=True)
    Path(a.out).write_text(json.dumps({"onnxruntime": ort.__version__, "images": len(images),
                                       "load_average": os.getloadavg(), "models": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
