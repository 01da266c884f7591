"""ONNX Runtime vs OpenVINO on this CPU: FP32 and both INT8 placements, at 180x240 and 360x480.

One command prints and records the table the CPU default (edgeseg/platform/devices.json,
profile `cpu`) is decided from:
- latency: every (size, graph, backend) loaded side by side, timed in interleaved rounds
  (each round runs every configuration a few times), median over all rounds;
- load time: OpenVINO compile with an empty cache, with a warm cache, and from OpenVINO IR;
- `edgeseg eval` wall time over camvid-half val (101 images): OpenVINO INT8 vs ONNX Runtime FP32;
- with --accuracy: mIoU, drop and argmax agreement with FP32 of what each backend runs
  (otherwise the accuracy recorded in --out is kept: it does not change with the machine's load).
CPU model and flags (VNNI or not), versions and the load average go into the results JSON.

Usage: python benchmarks/openvino_cpu.py [--accuracy] [--rounds 15] [--threads 2]
(exports are made once in --work and used as found there, --export to redo them; with them present
the timing takes ~4 minutes on a quiet 2-core machine).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO / ".." / "shared"
DATA = SHARED / "data/camvid-half"
GRAPHS = {"fp32": [], "int8 tensorrt": ["--precision", "int8", "--placement", "tensorrt"],
          "int8 cpu": ["--precision", "int8", "--placement", "cpu"]}
NAMES = {"fp32": "fp32", "int8 tensorrt": "int8", "int8 cpu": "int8-cpu"}  # what `edgeseg export` names them
# (label, backend, runner options, graphs it applies to): bf16 only for the float graph; the TensorRT
# preset's int8 activations also as they are (without the runner's same-grid uint8 copy), for the record
BACKENDS = [("onnxruntime", "onnxruntime", (), None), ("openvino", "openvino", (), None),
            ("openvino bf16", "openvino", (("precision_hint", "auto"),), "fp32"),
            ("openvino, int8 activations as is", "openvino", (("uint8_activations", False),), "int8 tensorrt")]


def cli(*args) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-m", "edgeseg.cli.main", *args], check=True, capture_output=True,
                         text=True, env=env, cwd=REPO).stdout
    return out.strip().splitlines()[-1]


def export_all(args) -> dict:
    work = Path(args.work)
    manifest = work / f"calib-{args.calib_n}.txt"
    if not manifest.exists():
        cli("calib", "make", "--data", str(DATA), "--split", "train", "-n", str(args.calib_n), "-o", str(manifest))
    models = {}
    for size in args.sizes:
        for graph, extra in GRAPHS.items():
            found = work / size / f"s2fpn18_{size}.{NAMES[graph]}.onnx"
            if found.is_file() and not args.export:  # an export call costs a torch import and a verification
                models[(size, graph)] = str(found)
                continue
            calib = ["--calib", str(manifest), "--calib-data", str(DATA), "--min-agreement", "0"] if extra else []
            models[(size, graph)] = cli("export", str(SHARED / "fixtures/s2fpn18_camvid_half.pth"), "-o",
                                        str(work / size), "--input-size", size, *extra, *calib)
            print(f"export {size} {graph}: {models[(size, graph)]}", flush=True)
    return models


def configs(models) -> list[tuple]:
    return [(size, graph, label, backend, opts) for (size, graph) in models
            for label, backend, opts, only in BACKENDS if only in (None, graph)]


def time_all(models, args) -> dict:
    """Median latency per configuration over interleaved rounds (all runners loaded at once)."""
    from edgeseg.bench.speed import input_batch
    from edgeseg.runtime import open_runner

    runners, batches, samples = {}, {}, {}
    for cfg in configs(models):
        size, graph, label, backend, opts = cfg
        runners[cfg] = open_runner(models[(size, graph)], backend, threads=args.threads, **dict(opts)).activate()
        batches[cfg] = input_batch(runners[cfg].io_spec, tuple(map(int, size.split("x"))), 1)
        for _ in range(args.warmup):
            runners[cfg].infer(batches[cfg])
        samples[cfg] = []
    gc.disable()
    try:
        for r in range(args.rounds):
            for cfg, runner in runners.items():
                for _ in range(args.iters):
                    t0 = time.perf_counter_ns()
                    runner.infer(batches[cfg])
                    samples[cfg].append((time.perf_counter_ns() - t0) / 1e6)
            print(f"round {r + 1}/{args.rounds}, load {loadavg()}", flush=True)
    finally:
        gc.enable()
    for runner in runners.values():
        runner.deactivate()
    return {cfg: {"median_ms": round(statistics.median(v), 2), "p90_ms": round(float(np.percentile(v, 90)), 2),
                  "count": len(v)} for cfg, v in samples.items()}


def load_times(path: str, threads: int) -> dict:
    """Seconds to a ready model: ONNX Runtime; OpenVINO from ONNX (empty cache, warm cache, none) and from IR."""
    import onnxruntime as ort
    import openvino as ov

    out = {}
    t = time.perf_counter()
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    out["onnxruntime"] = time.perf_counter() - t
    props = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
    with tempfile.TemporaryDirectory() as tmp:
        for key, source, cache in (("openvino onnx, no cache", path, False),
                                   ("openvino onnx, first (cache empty)", path, True),
                                   ("openvino onnx, second (cache warm)", path, True)):
            t = time.perf_counter()
            ov.Core().compile_model(source, "CPU", {**props, **({"CACHE_DIR": tmp + "/c"} if cache else {})})
            out[key] = time.perf_counter() - t
        xml = tmp + "/m.xml"
        ov.save_model(ov.Core().read_model(path), xml)
        t = time.perf_counter()
        ov.Core().compile_model(xml, "CPU", props)
        out["openvino IR, no cache"] = time.perf_counter() - t
        t = time.perf_counter()
        ov.Core().compile_model(xml, "CPU", {**props, "CACHE_DIR": tmp + "/c2"})
        ov.Core().compile_model(xml, "CPU", {**props, "CACHE_DIR": tmp + "/c2"})
        out["openvino IR, first + second (cache)"] = time.perf_counter() - t
    return {k: round(v, 3) for k, v in out.items()}


def eval_wall(models, size: str, threads: int) -> dict:
    """Whole `edgeseg eval` of the 101 val images, one artifact each: process start to exit."""
    out = {}
    for label, graph, extra in (("onnxruntime fp32", "fp32", []), ("openvino int8 cpu", "int8 cpu", ["--backend", "openvino"]),
                                ("openvino int8 tensorrt", "int8 tensorrt", ["--backend", "openvino"])):
        t = time.perf_counter()
        cli("eval", models[(size, graph)], "--val", str(DATA), "--threads", str(threads), *extra)
        out[label] = round(time.perf_counter() - t, 2)
    return out


def accuracy(models, args) -> dict:
    from edgeseg.bench.accuracy import evaluate
    from edgeseg.data.datasets import open_dataset
    from edgeseg.runtime import open_runner

    out = {}
    for size in args.sizes:
        # OpenVINO's FP32 (f32, bf16) is measured at the first size only: f32 matches ORT to 1e-5
        cfgs = [c for c in configs(models) if c[0] == size and (size == args.sizes[0] or c[1] != "fp32")]
        ref = (size, "fp32", "onnxruntime", "onnxruntime", ())
        cfgs = [ref] + [c for c in cfgs if c != ref]
        runners = [open_runner(models[(s, g)], b, threads=args.threads, **dict(o)).activate() for s, g, _, b, o in cfgs]
        report = evaluate(runners, open_dataset(DATA, "camvid", "val")).to_dict()
        for cfg, a in zip(cfgs, report["artifacts"]):
            out[key(cfg)] = {"miou": a["miou"], "drop": a["miou_drop"] or 0.0, "agreement": a["agreement"],
                             "images": report["images"]}
        for r in runners:
            r.deactivate()
        print(f"accuracy {size} done", flush=True)
    return out


def key(cfg) -> str:
    return f"{cfg[0]} | {cfg[1]} | {cfg[2]}"


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def machine() -> dict:
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    fields = dict(line.split(":", 1) for line in lscpu.splitlines() if ":" in line)
    flags = fields.get("Flags", "").split()
    pick = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8", "amx_bf16")
    return {"cpu": fields.get("Model name", "?").strip(), "cpus": int(fields.get("CPU(s)", "0")),
            "vnni": any(f in flags for f in ("avx512_vnni", "avx_vnni")),
            "flags": [f for f in pick if f in flags]}


def table(result) -> str:
    lines = [f"CPU {result['machine']['cpu']} ({', '.join(result['machine']['flags'])}), {result['threads']} threads, "
             f"load average {result['loadavg_before']} -> {result['loadavg_after']}", "",
             "| size | graph | backend | median ms | vs ORT FP32 | mIoU | drop | agreement |", "|---|---|---|---|---|---|---|---|"]
    for row in result["rows"]:
        acc = result["accuracy"].get(row["key"], {})
        f = (lambda v, d: "-" if v is None else f"{v:.{d}f}")
        lines.append(f"| {row['size']} | {row['graph']} | {row['backend']} | {row['median_ms']:.2f} | "
                     f"{row['vs_ort_fp32']:.2f}x | {f(acc.get('miou'), 2)} | {f(acc.get('drop'), 3)} | "
                     f"{f(acc.get('agreement'), 3)} % |")
    lines += ["", "load time (s, " + result["load_model"] + "): " + ", ".join(f"{k} {v}" for k, v in result["load_s"].items()),
              "eval of 101 images (s, whole process): " + ", ".join(f"{k} {v}" for k, v in result["eval_wall_s"].items()),
              "CPU INT8 default by the rule: " + json.dumps(result.get("decision", {}))]
    return "\n".join(lines) + "\n"


def decide(result, size: str) -> dict:
    """The CPU INT8 default at `size` by the rule in benchmarks/README.md: among the INT8 graphs whose
    accuracy through OpenVINO meets the target (drop <= 0.3, agreement >= 98.5 %), one artifact (the
    TensorRT preset) unless the CPU preset is more than 5 % faster; speed never buys accuracy."""
    rows = {(r["size"], r["graph"], r["backend"]): r for r in result["rows"]}
    acc = result["accuracy"]
    trt, cpu = rows.get((size, "int8 tensorrt", "openvino")), rows.get((size, "int8 cpu", "openvino"))
    if not (trt and cpu):
        return {}
    def accurate(row):
        a = acc.get(row["key"], {})
        return a.get("drop") is not None and a["drop"] <= 0.3 and a["agreement"] >= 98.5

    if accurate(trt) and (trt["median_ms"] <= 1.05 * cpu["median_ms"] or not accurate(cpu)):
        graph = "int8 tensorrt"
    else:
        graph = "int8 cpu"
    chosen = rows[(size, graph, "openvino")]
    a = acc.get(chosen["key"], {})
    fp32 = {b: rows[(size, "fp32", b)]["median_ms"] for b in ("onnxruntime", "openvino") if (size, "fp32", b) in rows}
    return {"size": size, "graph": graph, "backend": "openvino", "vs_ort_fp32": chosen["vs_ort_fp32"],
            "fp32_fastest": min(fp32, key=fp32.get) if fp32 else None,
            "tensorrt_vs_cpu_preset": round(trt["median_ms"] / cpu["median_ms"], 3),
            "meets_latency": chosen["vs_ort_fp32"] <= 0.5,
            "meets_accuracy": a.get("drop") is not None and a["drop"] <= 0.3 and a["agreement"] >= 98.5,
            "eval_faster_than_ort_fp32": result["eval_wall_s"].get("openvino " + graph, 1e9)
            < result["eval_wall_s"]["onnxruntime fp32"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="180x240,360x480")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--iters", type=int, default=3, help="timed calls per configuration per round")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--calib-n", type=int, default=300)
    ap.add_argument("--accuracy", action="store_true", help="measure mIoU/agreement again (minutes)")
    ap.add_argument("--export", action="store_true", help="run `edgeseg export` even for models found in --work")
    ap.add_argument("--work", default=str(REPO / "benchmarks/.work/ov"))
    ap.add_argument("--out", default=str(REPO / "benchmarks/results/openvino-cpu.json"))
    args = ap.parse_args()
    args.sizes = args.sizes.split(",")
    import onnxruntime
    import openvino

    sys.path.insert(0, str(REPO))
    from edgeseg.artifacts import versions

    models = export_all(args)
    old = json.loads(Path(args.out).read_text()) if Path(args.out).exists() else {}
    result = {"created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
              "threads": args.threads, "rounds": args.rounds, "iters_per_round": args.iters, "loadavg_before": loadavg(),
              "versions": versions("onnxruntime", "openvino"), "calib_images": args.calib_n}
    del onnxruntime, openvino
    result["accuracy"] = accuracy(models, args) if args.accuracy else old.get("accuracy", {})
    timings = time_all(models, args)
    largest = args.sizes[-1]
    result["load_model"] = Path(models[(largest, "int8 cpu")]).name
    result["load_s"] = load_times(models[(largest, "int8 cpu")], args.threads)
    result["eval_wall_s"] = eval_wall(models, largest, args.threads)
    result["loadavg_after"] = loadavg()
    rows = []
    for cfg, t in timings.items():
        base = timings[(cfg[0], "fp32", "onnxruntime", "onnxruntime", ())]["median_ms"]
        rows.append({"key": key(cfg), "size": cfg[0], "graph": cfg[1], "backend": cfg[2], "path": models[cfg[:2]],
                     **t, "vs_ort_fp32": round(t["median_ms"] / base, 3)})
    result["rows"] = rows
    result["decision"] = decide(result, largest)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    text = table(result)
    Path(args.out).with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
