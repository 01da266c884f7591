"""Which ops need FP32 in the TensorRT-target Q/DQ graph whose remainder is FP16?

Same calibrated ranges, same placement; the non-quantized compute in FP32 (the old graph), in
FP16 (what `edgeseg export --precision int8|fp8` writes), and in FP16 with Softmax / the
attention MatMuls / the strip reductions kept in FP32. mIoU and argmax agreement with FP32 on
camvid-half val, ONNX Runtime CPU. Results: benchmarks/results/int8-fp16-rest.json.

Usage: python benchmarks/int8_fp16_rest.py OUT/s2fpn18_180x240.fp32.onnx OUT/.calib-cache/ranges-KEY.json
(the work directory of an `edgeseg export --precision int8 --calib ...` run holds both).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"


def main():
    import onnx

    from edgeseg.artifacts import metadata_dict
    from edgeseg.data.contract import DatasetInfo, Preprocess
    from edgeseg.data.datasets import open_dataset
    from edgeseg.quant import strongly_typed
    from edgeseg.quant.config import QuantConfig
    from edgeseg.quant.formats import FORMATS
    from edgeseg.quant.placement import plan
    from edgeseg.quant.sensitivity import Validation, run

    ap = argparse.ArgumentParser()
    ap.add_argument("fp32")
    ap.add_argument("ranges", help="ranges-*.json from the export's .calib-cache")
    ap.add_argument("--data", default=str(SHARED / "data/camvid-half"))
    ap.add_argument("--dtype", default="int8", choices=sorted(FORMATS))
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    out = args.out or f"benchmarks/results/{args.dtype}-fp16-rest.json"
    info = DatasetInfo.named("camvid")
    pre = Preprocess.from_dict(metadata_dict(args.fp32)["preprocess"])
    ds = open_dataset(args.data, "camvid", "val", None, info)
    batches, labels = [], []
    for s in ds.samples:
        image, label = ds.load(s)
        batches.append(pre.apply(image)[None])
        labels.append(label)
    val = Validation(batches, labels, info.num_classes, info.ignore_index)
    fp32 = onnx.load(args.fp32)
    ref = run(fp32, batches)
    amax = json.loads(Path(args.ranges).read_text())["amax"]
    rows = [{"variant": "fp32 (no Q/DQ)", "miou": round(val.miou(ref), 3), "agreement_pct": 100.0}]
    variants = [("Q/DQ, FP32 remainder", False, ()), ("Q/DQ, FP32 remainder, Concat inputs not quantized", False, "nocat"),
                ("Q/DQ, FP16 remainder", True, None),
                ("FP16, Softmax+MatMul in FP32", True, ("Softmax", "MatMul")),
                ("FP16, Softmax+MatMul+ReduceMean/Max in FP32", True, ("Softmax", "MatMul", "ReduceMean", "ReduceMax"))]
    for name, half, keep in variants:
        cfg = QuantConfig(dtype=args.dtype, fp16_rest=half)
        model = strongly_typed.prepare(fp32, cfg)
        p = plan(model, cfg)
        if keep == "nocat":  # what the FP16-remainder graph does with Concat inputs, alone
            for group in p.shared:
                for t in group[1:]:
                    p.activations.pop(t, None)
            p.shared, keep = [], ()
        q = strongly_typed.build(model, p, amax, cfg, keep)
        outs = run(q, batches)
        agree = float(np.mean([(o.argmax(1) == r.argmax(1)).mean() for o, r in zip(outs, ref)]))
        rows.append({"variant": name, "kept_fp32": list(keep or ()), "miou": round(val.miou(outs), 3),
                     "agreement_pct": round(100 * agree, 4)})
        print(rows[-1], flush=True)
    Path(out).write_text(json.dumps({"model": Path(args.fp32).name, "dtype": args.dtype, "val_images": len(batches),
                                     "backend": "onnxruntime CPU", "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
