"""edgeseg's INT8 Q/DQ placement next to NVIDIA's own ONNX quantizer (TensorRT Model Optimizer).

Both quantize the same FP32 ONNX with the same calibration images; both results run on ONNX
Runtime CPU over camvid-half val. Printed side by side and written to
benchmarks/results/modelopt-compare.json: Q/DQ counts, which op inputs each quantizes, mIoU and
argmax agreement with FP32.

ModelOpt is an oracle, never a dependency: it lives in its own venv and runs in a subprocess.
  python -m venv /work/venv-modelopt && /work/venv-modelopt/bin/pip install torch==2.13.0 \
      && /work/venv-modelopt/bin/pip install 'nvidia-modelopt[onnx]'
Usage (from the project venv):
  edgeseg export ../shared/fixtures/s2fpn18_camvid_half.pth --input-size 180x240 -o out
  python benchmarks/modelopt_compare.py out/s2fpn18_180x240.fp32.onnx [--modelopt-python PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"

MODELOPT_SCRIPT = """
import sys, numpy as np, modelopt
from modelopt.onnx.quantization import quantize
src, calib, out = sys.argv[1:4]
quantize(src, quantize_mode="int8", calibration_data=np.load(calib), calibration_eps=["cpu"], output_path=out,
         log_level="WARNING")
print(modelopt.__version__)
"""


def quantized_inputs(model) -> Counter:
    """'OpType[input index]' for every node input fed by a DequantizeLinear (weights as [1])."""
    producers = {o: n for n in model.graph.node for o in n.output}
    out = Counter()
    for n in model.graph.node:
        if n.op_type in ("QuantizeLinear", "DequantizeLinear"):
            continue
        for j, t in enumerate(n.input):
            p = producers.get(t)
            while p is not None and p.op_type == "Cast":  # a DQ -> Cast -> op counts as quantized
                p = producers.get(p.input[0])
            if p is not None and p.op_type == "DequantizeLinear":
                out[f"{n.op_type}[{j}]"] += 1
    return out


def quantized_nodes(model) -> set[str]:
    """Names of compute nodes with at least one input coming from a DequantizeLinear."""
    producers = {o: n for n in model.graph.node for o in n.output}
    names = set()
    for n in model.graph.node:
        if n.op_type in ("QuantizeLinear", "DequantizeLinear", "Cast"):
            continue
        for t in n.input:
            p = producers.get(t)
            while p is not None and p.op_type == "Cast":
                p = producers.get(p.input[0])
            if p is not None and p.op_type == "DequantizeLinear":
                names.add(n.name)
    return names


def describe(path: str) -> dict:
    import onnx

    m = onnx.load(path)
    ops = Counter(n.op_type for n in m.graph.node)
    opset = next((o.version for o in m.opset_import if o.domain in ("", "ai.onnx")), None)
    half = sum(1 for i in m.graph.initializer if i.data_type == 10)
    return {"path": path, "opset": opset, "quantize_linear": ops["QuantizeLinear"],
            "dequantize_linear": ops["DequantizeLinear"], "casts": ops["Cast"], "fp16_initializers": half,
            "quantized_inputs": dict(sorted(quantized_inputs(m).items())), "_nodes": quantized_nodes(m)}


def evaluate(path: str, batches, labels, ref, num_classes: int, ignore: int) -> dict:
    import onnxruntime as ort

    from edgeseg.data.metrics import ConfusionMatrix

    from edgeseg.runtime.ort import optimization_level as ort_optimization_level

    so = ort.SessionOptions()
    so.log_severity_level = 3
    # both Q/DQ graphs have FP16 scales: ORT's optimizers corrupt those (benchmarks/README.md)
    so.graph_optimization_level = getattr(ort.GraphOptimizationLevel, ort_optimization_level(path))
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    cm, agree, outs = ConfusionMatrix(num_classes, ignore), [], []
    t0 = time.perf_counter()
    for i, (b, label) in enumerate(zip(batches, labels)):
        pred = sess.run(None, {name: b})[0][0].astype(np.float32).argmax(0)
        cm.update(label, pred)
        outs.append(pred)
        if ref is not None:
            agree.append(float((pred == ref[i]).mean()))
    return {"miou": round(cm.miou(), 3), "agreement_pct": round(100 * float(np.mean(agree)), 3) if agree else 100.0,
            "seconds_provisional": round(time.perf_counter() - t0, 1)}, outs


def main():
    import onnx

    from edgeseg.artifacts import metadata_dict
    from edgeseg.data.calibset import load_calibset, make_manifest
    from edgeseg.data.contract import DatasetInfo, Preprocess
    from edgeseg.data.datasets import open_dataset
    from edgeseg.data.images import read_image
    from edgeseg.quant.ptq import quantize
    from edgeseg.quant.config import QuantConfig

    ap = argparse.ArgumentParser()
    ap.add_argument("fp32")
    ap.add_argument("--data", default=str(SHARED / "data/camvid-half"))
    ap.add_argument("--calib-n", type=int, default=40, help="calibration images drawn from train (seed 0)")
    ap.add_argument("--modelopt-python", default=os.environ.get("MODELOPT_PYTHON", "/work/venv-modelopt/bin/python"))
    ap.add_argument("--out", default="benchmarks/results/modelopt-compare.json")
    args = ap.parse_args()
    if not Path(args.modelopt_python).exists():
        sys.exit(f"no ModelOpt interpreter at {args.modelopt_python} (--modelopt-python or MODELOPT_PYTHON)")

    info = DatasetInfo.named("camvid")
    pre = Preprocess.from_dict(metadata_dict(args.fp32)["preprocess"])
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_manifest(args.data, "camvid", "train", args.calib_n, 0, tmp / "calib.txt")
        calib = load_calibset(tmp / "calib.txt", args.data)
        np.save(tmp / "calib.npy", np.concatenate([pre.apply(read_image(p))[None] for p in calib.paths]))

        t0 = time.perf_counter()
        mo_path = str(tmp / "modelopt.onnx")
        run = subprocess.run([args.modelopt_python, "-c", MODELOPT_SCRIPT, args.fp32, str(tmp / "calib.npy"), mo_path],
                             capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit(f"ModelOpt failed:\n{run.stderr[-3000:]}")
        mo_seconds = time.perf_counter() - t0
        mo_version = run.stdout.strip().splitlines()[-1]

        t0 = time.perf_counter()
        ours_model, _, report = quantize(onnx.load(args.fp32), "modelopt-compare", QuantConfig(), calib, pre,
                                         cache_dir=tmp)
        ours_path = str(tmp / "edgeseg.onnx")
        onnx.save(ours_model, ours_path)
        ours_seconds = time.perf_counter() - t0

        ds = open_dataset(args.data, "camvid", "val", None, info)
        batches, labels = [], []
        for s in ds.samples:
            image, label = ds.load(s)
            batches.append(pre.apply(image)[None])
            labels.append(label)
        rows = {}
        fp32_eval, ref = evaluate(args.fp32, batches, labels, None, info.num_classes, info.ignore_index)
        rows["fp32"] = {**describe(args.fp32), **fp32_eval}
        for name, path, secs in (("edgeseg", ours_path, ours_seconds), ("modelopt", mo_path, mo_seconds)):
            ev, _ = evaluate(path, batches, labels, ref, info.num_classes, info.ignore_index)
            rows[name] = {**describe(path), **ev, "quantize_seconds_provisional": round(secs, 1)}
    ours_nodes, mo_nodes = rows["edgeseg"].pop("_nodes"), rows["modelopt"].pop("_nodes")
    rows["fp32"].pop("_nodes")
    diff = {"only_edgeseg": sorted(ours_nodes - mo_nodes), "only_modelopt": sorted(mo_nodes - ours_nodes)}
    for name in ("fp32", "edgeseg", "modelopt"):
        rows[name]["path"] = Path(rows[name]["path"]).name
    result = {"model": Path(args.fp32).name, "val_images": len(batches), "calib_images": len(calib),
              "calib_sha256": calib.sha256, "backend": "onnxruntime CPU", "modelopt": mo_version,
              "modelopt_call": "quantize(quantize_mode='int8', calibration_eps=['cpu'], defaults otherwise)",
              "edgeseg_config": QuantConfig().to_dict(), "rows": rows, "quantized_nodes_differ": diff}
    _print(result)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


def _print(result: dict) -> None:
    rows = result["rows"]
    keys = ["opset", "quantize_linear", "dequantize_linear", "casts", "fp16_initializers", "miou", "agreement_pct"]
    print(f"{'':24}{'fp32':>12}{'edgeseg':>12}{'modelopt':>12}")
    for k in keys:
        print(f"{k:24}" + "".join(f"{str(rows[n].get(k)):>12}" for n in ("fp32", "edgeseg", "modelopt")))
    inputs = sorted(set(rows["edgeseg"]["quantized_inputs"]) | set(rows["modelopt"]["quantized_inputs"]))
    print("quantized op inputs:")
    for k in inputs:
        print(f"  {k:22}{'':12}{rows['edgeseg']['quantized_inputs'].get(k, 0):>12}"
              f"{rows['modelopt']['quantized_inputs'].get(k, 0):>12}")
    for side, names in result["quantized_nodes_differ"].items():
        print(f"{side}: {len(names)} nodes: {', '.join(names[:12])}{' ...' if len(names) > 12 else ''}")


if __name__ == "__main__":
    main()
