"""Minimal reproduction: OpenVINO CPU vs ONNX Runtime on a few Q/DQ nodes, per CPU kind (ISA).

Why the OpenVINO runner hands OpenVINO a rewritten copy of our INT8 graphs (edgeseg/runtime/ov_graph.py).
The graphs are openvino_int8_concat.py's: X -> Q/DQ (int8 zero point 0, or uint8 zero point 128, the
same 256 values) -> Conv with per-channel int8 weights, X = a Mul, an Add or a Concat. Each runs:
- with weights on the full int8 grid (|q| <= 127, as every INT8 export writes them) and on 7 bits;
- as the file is ("as is"), and as the runner compiles it ("edgeseg": uint8 activations and, on a
  CPU without VNNI, float weights).
ONEDNN_MAX_CPU_ISA (read by oneDNN when OpenVINO loads) makes this CPU run the kernels of lesser ones:
AVX2 (Zen 3, Haswell..Skylake client: no VNNI), AVX512_CORE_VNNI (Cascade Lake, Zen 4), and the
native one (here AMX). Each ISA runs in its own process. Findings (results/openvino-int8-isa.json):
- AVX2: Q/DQ -> Conv is wrong once weights use the full int8 range (u8 x s8 pair sums saturate at
  32767 in vpmaddubsw; 7-bit weights are right), and Concat -> int8 Q/DQ -> Conv is wrong even with
  7-bit weights unless the activations are uint8;
- VNNI: only Concat -> int8 Q/DQ -> Conv is wrong (uint8 fixes it);
- AMX: all right;
- the runner's copy is right on all three.

Usage: python benchmarks/openvino_int8_isa.py [ISA ...]   (default: AVX2 AVX512_CORE_VNNI native)
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "openvino-int8-isa.json"


def one_isa() -> list[dict]:
    """Every case on the ISA this process was started with (run in a child: the cap is read once)."""
    import onnx
    import onnxruntime as ort
    import openvino as ov
    from onnx import numpy_helper

    sys.path[:0] = [str(HERE), str(HERE.parent)]
    from openvino_int8_concat import graph

    from edgeseg.runtime.openvino_runner import OpenVINORunner

    x = np.random.default_rng(1).normal(0, 2, (1, 8, 16, 16)).astype(np.float32)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["EDGESEG_CACHE_DIR"] = tmp
        for bits in (8, 7):
            for before in ("none", "Add", "Concat"):
                for kind in ("int8", "uint8"):
                    model = graph(kind, before)
                    for t in model.graph.initializer:
                        if t.name == "wq" and bits == 7:
                            t.CopyFrom(numpy_helper.from_array(np.clip(numpy_helper.to_array(t), -63, 63), "wq"))
                    path = f"{tmp}/{before}-{kind}-{bits}.onnx"
                    onnx.save(model, path)
                    ref = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
                    as_is = ov.Core().compile_model(path, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})({"x": x})[0]
                    with OpenVINORunner(path, cache=False) as runner:
                        ours = runner.infer(x)
                    rows.append({"before_qdq": before, "activations": kind, "weight_bits": bits,
                                 "max_abs_output": round(float(np.abs(ref).max()), 3),
                                 "as_is_max_abs_diff": round(float(np.abs(as_is - ref).max()), 5),
                                 "edgeseg_max_abs_diff": round(float(np.abs(ours - ref).max()), 5)})
    return rows


def main(isas: list[str]) -> None:
    import onnxruntime as ort
    import openvino as ov

    from edgeseg.platform import hardware

    results = {}
    for isa in isas:
        env = {k: v for k, v in os.environ.items() if k != "ONEDNN_MAX_CPU_ISA"}
        if isa != "native":
            env["ONEDNN_MAX_CPU_ISA"] = isa
        done = subprocess.run([sys.executable, __file__, "--child"], env=env, capture_output=True, text=True, check=True)
        rows = json.loads(done.stdout.strip().splitlines()[-1])
        cap = None if isa == "native" else isa
        results[isa] = {"isa_seen": list(hardware.onednn_capped(hardware.this_isa(), cap)), "rows": rows}
        for r in rows:
            print(f"{isa:17s} {r['before_qdq']:6s} -> Q/DQ {r['activations']:5s} -> Conv, {r['weight_bits']}-bit weights: "
                  f"max |OV - ORT| as is {r['as_is_max_abs_diff']:8.4f}, edgeseg {r['edgeseg_max_abs_diff']:8.5f} "
                  f"(outputs up to {r['max_abs_output']:.0f})")
    cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace") if Path("/proc/cpuinfo").exists() else ""
    OUT.write_text(json.dumps({
        "machine": {"cpu": hardware.cpu_model(cpuinfo), "arch": platform.machine(),
                    "isa": list(hardware.isa_summary(hardware.cpu_flags(cpuinfo))),
                    "flags": " ".join(hardware.cpu_flags(cpuinfo)), "load_average": os.getloadavg()},
        "openvino": ov.__version__, "onnxruntime": ort.__version__, "by_isa": results}, indent=2) + "\n")


if __name__ == "__main__":
    if sys.argv[1:] == ["--child"]:
        print(json.dumps(one_isa()))
    else:
        main(sys.argv[1:] or ["AVX2", "AVX512_CORE_VNNI", "native"])
