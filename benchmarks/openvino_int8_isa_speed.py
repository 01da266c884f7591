"""Latency of our INT8 placements per CPU kind (ISA), interleaved: which `int8_by_isa` row to record.

Times, in one process per ISA (ONEDNN_MAX_CPU_ISA), the FP32 model and both INT8 placements on
OpenVINO as edgeseg's runner compiles them (on a CPU without VNNI: weights in float, see
edgeseg/runtime/ov_graph.py) and the CPU placement on ONNX Runtime; rounds of `--iters` inferences
per candidate, candidates interleaved, the median of the round medians reported, with the load average.

Usage: python benchmarks/openvino_int8_isa_speed.py FP32.onnx TRT_INT8.onnx CPU_INT8.onnx
       [--isa AVX2 ...] [--threads 2] [--rounds 7] [--iters 10] [--out results/NAME.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def child(fp32: str, trt: str, cpu: str, threads: int, rounds: int, iters: int) -> dict:
    from edgeseg.runtime import open_runner

    cands = {"fp32 openvino": (fp32, "openvino"), "int8 (tensorrt placement) openvino": (trt, "openvino"),
             "int8 (cpu placement) openvino": (cpu, "openvino"), "int8 (cpu placement) onnxruntime": (cpu, "onnxruntime")}
    runners = {k: open_runner(p, b, threads=threads).activate() for k, (p, b) in cands.items()}
    x = np.random.default_rng(0).normal(size=(1, 3, *runners["fp32 openvino"].metadata["preprocess"]["input_size"]))
    x = x.astype(np.float32)
    for r in runners.values():
        for _ in range(3):
            r.infer(x)
    per = {k: [] for k in runners}
    for _ in range(rounds):
        for k, r in runners.items():
            ts = []
            for _ in range(iters):
                t0 = time.perf_counter()
                r.infer(x)
                ts.append(time.perf_counter() - t0)
            per[k].append(statistics.median(ts) * 1e3)
    for r in runners.values():
        r.deactivate()
    return {k: {"median_ms": round(statistics.median(v), 2), "round_medians_ms": [round(t, 2) for t in v]}
            for k, v in per.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("fp32")
    ap.add_argument("trt")
    ap.add_argument("cpu")
    ap.add_argument("--isa", action="append")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--out", default=str(HERE / "results" / "openvino-int8-isa-speed.json"))
    ap.add_argument("--child", action="store_true")
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.fp32, a.trt, a.cpu, a.threads, a.rounds, a.iters)))
        return
    import onnxruntime as ort
    import openvino as ov

    from edgeseg.platform import hardware

    cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
    out = {"machine": {"cpu": hardware.cpu_model(cpuinfo), "arch": platform.machine(),
                       "isa": list(hardware.isa_summary(hardware.cpu_flags(cpuinfo))),
                       "flags": " ".join(hardware.cpu_flags(cpuinfo))},
           "openvino": ov.__version__, "onnxruntime": ort.__version__, "threads": a.threads, "by_isa": {}}
    for isa in a.isa or ["AVX2", "AVX512_CORE_VNNI", "native"]:
        env = {k: v for k, v in os.environ.items() if k != "ONEDNN_MAX_CPU_ISA"}
        if isa != "native":
            env["ONEDNN_MAX_CPU_ISA"] = isa
        before = os.getloadavg()
        cmd = [sys.executable, __file__, a.fp32, a.trt, a.cpu, "--child", "--threads", str(a.threads),
               "--rounds", str(a.rounds), "--iters", str(a.iters)]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"{isa}: {done.stderr[-2000:]}")
        out["by_isa"][isa] = {"load_average_before": before, "load_average_after": os.getloadavg(),
                              "timings": json.loads(done.stdout.strip().splitlines()[-1])}
        print(isa, json.dumps(out["by_isa"][isa]), flush=True)
    Path(a.out).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
