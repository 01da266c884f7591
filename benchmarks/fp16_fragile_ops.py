"""Which ops need float32 inside the FP16 model? Argmax agreement with FP32 on CamVid val.

Usage: python benchmarks/fp16_fragile_ops.py FP32.onnx [DATA_ROOT] [--out benchmarks/results/fp16_keep.json]
Export FP32.onnx first: edgeseg export ../shared/fixtures/s2fpn18_camvid_half.pth --input-size 180x240 -o out
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np


def main():
    import onnx
    import onnxruntime as ort

    from edgeseg.artifacts import metadata_dict
    from edgeseg.data.contract import Preprocess
    from edgeseg.quant.fp16 import to_fp16
    from edgeseg.export.samples import image_paths, read_images

    ap = argparse.ArgumentParser()
    ap.add_argument("fp32")
    ap.add_argument("data", nargs="?", default="../shared/data/camvid-half")
    ap.add_argument("--out", default="benchmarks/results/fp16_keep.json")
    args = ap.parse_args()
    pre = Preprocess.from_dict(metadata_dict(args.fp32)["preprocess"])
    batches = [pre.apply(img)[None] for img in read_images(image_paths(str(Path(args.data) / "camvid_val_list.txt")))]

    def run(path):
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        return np.concatenate([sess.run(None, {name: b})[0].astype(np.float32) for b in batches])

    ref = run(args.fp32)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for keep in [(), ("Softmax",), ("Softmax", "MatMul"), ("Softmax", "MatMul", "ReduceMean", "ReduceMax")]:
            path = Path(tmp) / "m.onnx"
            onnx.save(to_fp16(onnx.load(args.fp32), keep_ops=keep), str(path))
            y = run(path)
            rows.append({"kept_float32": list(keep), "argmax_agreement": float((y.argmax(1) == ref.argmax(1)).mean()),
                         "max_abs": float(np.abs(y - ref).max()), "mean_abs": float(np.abs(y - ref).mean())})
            print(rows[-1])
    Path(args.out).write_text(json.dumps({"model": args.fp32, "images": len(batches), "backend": "onnxruntime CPU",
                                          "onnxruntime": ort.__version__, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
