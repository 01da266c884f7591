"""Our INT8 exports on OpenVINO against the same files on ONNX Runtime, CamVid val, per CPU kind (ISA).

For each quantized ONNX file: argmax agreement (share of pixels) between OpenVINO and ONNX Runtime,
and mIoU on each, beside the FP32 model's mIoU on ONNX Runtime (the drop). OpenVINO runs the file
twice: as it is, and as edgeseg's runner compiles it (edgeseg/runtime/ov_graph.py). Each ISA
(ONEDNN_MAX_CPU_ISA: AVX2 = no VNNI, AVX512_CORE_VNNI, native = this CPU) runs in its own process.

Usage: python benchmarks/openvino_int8_agreement.py DATA_ROOT FP32.onnx INT8.onnx [INT8.onnx ...]
       [--isa AVX2 --isa AVX512_CORE_VNNI --isa native] [--limit N] [--out results/NAME.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def _labels(runner, batches):
    return [runner.infer(b).argmax(1)[0].astype(np.uint8) for b in batches]


def child(data: str, fp32: str, int8: list[str], limit: int | None) -> dict:
    """Every file on this process's ISA."""
    from edgeseg.data.contract import DatasetInfo, Preprocess
    from edgeseg.data.datasets import open_dataset
    from edgeseg.quant.sensitivity import Validation
    from edgeseg.runtime.onnx_runner import OrtRunner
    from edgeseg.runtime.openvino_runner import OpenVINORunner

    info = DatasetInfo.named("camvid")
    ds = open_dataset(data, "camvid", "val", limit, info)
    with OrtRunner(fp32) as r:
        pre = Preprocess.from_dict(r.metadata["preprocess"])
        images = [ds.load(s) for s in ds.samples]
        batches = [pre.apply(im)[None] for im, _ in images]
        val = Validation(batches, [lab for _, lab in images], info.num_classes, info.ignore_index)
        fp32_miou = val.miou(r.infer(b) for b in batches)
    rows = {}
    for path in int8:
        with OrtRunner(path) as r:
            ort = [r.infer(b) for b in batches]
        row = {"onnxruntime_miou": round(val.miou(ort), 2)}
        ort_labels = [o.argmax(1)[0] for o in ort]
        for name, options in (("openvino_as_is", {"uint8_activations": False}), ("openvino_edgeseg", {})):
            with OpenVINORunner(path, cache=False, **options) as r:
                out = [r.infer(b) for b in batches]
                compiled = Path(r.compiled_from).name
            agree = np.mean([np.mean(o.argmax(1)[0] == ref) for o, ref in zip(out, ort_labels)])
            row[name] = {"agreement_with_onnxruntime": round(float(agree), 5), "miou": round(val.miou(out), 2),
                         "compiled": compiled.split(".", 1)[-1] if name != "openvino_as_is" else "the file"}
        rows[Path(path).name] = row
    return {"images": len(batches), "fp32_onnxruntime_miou": round(fp32_miou, 2), "artifacts": rows}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("fp32")
    ap.add_argument("int8", nargs="+")
    ap.add_argument("--isa", action="append")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--out", default=str(HERE / "results" / "openvino-int8-agreement.json"))
    ap.add_argument("--child", action="store_true")
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.data, a.fp32, a.int8, a.limit)))
        return
    import onnxruntime as ort
    import openvino as ov

    from edgeseg.platform import hardware

    cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace") if Path("/proc/cpuinfo").exists() else ""
    out = {"machine": {"cpu": hardware.cpu_model(cpuinfo), "arch": platform.machine(),
                       "isa": list(hardware.isa_summary(hardware.cpu_flags(cpuinfo))),
                       "flags": " ".join(hardware.cpu_flags(cpuinfo)), "load_average_start": os.getloadavg()},
           "openvino": ov.__version__, "onnxruntime": ort.__version__, "by_isa": {}}
    for isa in a.isa or ["AVX2", "AVX512_CORE_VNNI", "native"]:
        env = {k: v for k, v in os.environ.items() if k != "ONEDNN_MAX_CPU_ISA"}
        if isa != "native":
            env["ONEDNN_MAX_CPU_ISA"] = isa
        cmd = [sys.executable, __file__, a.data, a.fp32, *a.int8, "--child"] + (["--limit", str(a.limit)] if a.limit else [])
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"{isa}: {done.stderr[-2000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result["isa_seen"] = list(hardware.onednn_capped(hardware.this_isa(), None if isa == "native" else isa))
        out["by_isa"][isa] = result
        print(isa, json.dumps(result), flush=True)
    out["machine"]["load_average_end"] = os.getloadavg()
    Path(a.out).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
