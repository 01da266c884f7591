"""`edgeseg tune` on this CPU at 360x480, 2 threads, and where the winning INT8 model's time goes.

One command records, in benchmarks/results/:
- tune-cpu-<isa>.json / .md / .png: the tune table (every candidate's pipeline and model-only
  latency from one interleaved run, mIoU, drop, worst class drop, agreement through the same
  compiled model; output tails on the candidates within the budget), the pick, `lscpu` flags,
  versions, `uptime` load before and after; the headline: the pick's pipeline latency over NNCF
  INT8's pipeline latency (NNCF's logits model + the host's argmax), measured in the same run;
- tune-cpu-<isa>-perfcount.json / .md: OpenVINO's per-layer performance counters (PERF_COUNT)
  of the fastest INT8 candidate within the budget: which layers still run in FP32/BF16, their
  share of the time, and the floor if they took no time at all (every layer INT8 can go no lower).

CamVid at 360x480 here is camvid-half (180x240) resized up by the model's contract; labels stay
180x240 (logits resized back, the official way). Calibration: 300 train images drawn evenly
(`edgeseg calib make -n 300`), as in issue 24. Builds and accuracy figures are reused from --work
on a re-run (latencies are always re-timed, all candidates in one interleaved run); pass --fresh to
score again.

`--isa AVX2` runs OpenVINO's oneDNN on a lesser CPU's code paths (ONEDNN_MAX_CPU_ISA): the tables
say "emulated", and are named tune-cpu-<isa>-emulated-on-<this CPU's isa>.

Usage: python benchmarks/tune_cpu.py [--size 360x480] [--threads 2] [--rounds 10] [--iters 10]
       [--calib-n 300] [--val-limit N] [--isa AVX2] [--tag NAME] [--fresh]
(the defaults are the issue's protocol; a quick run on a busy machine: --calib-n 32 --val-limit 30 --rounds 5)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / ".." / "shared").resolve()
DATA = SHARED / "data/camvid-half"
CKPT = SHARED / "fixtures/s2fpn18_camvid_half.pth"
RESULTS = REPO / "benchmarks/results"


def cli(*args, isa: str | None = None) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO), **({"ONEDNN_MAX_CPU_ISA": isa} if isa else {})}
    done = subprocess.run([sys.executable, "-m", "edgeseg.cli.main", *map(str, args)], env=env, cwd=REPO,
                          capture_output=True, text=True)
    sys.stderr.write(done.stderr[-4000:])
    if done.returncode:
        raise SystemExit(f"edgeseg {' '.join(map(str, args[:2]))} failed ({done.returncode})")
    return done.stdout.strip().splitlines()[-1]


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def lscpu() -> dict:
    text = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    fields = dict((k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in text.splitlines()) if v)
    return {k: fields.get(k) for k in ("Model name", "CPU(s)", "Thread(s) per core", "Hypervisor vendor", "Flags")}


def perf_counters(xml: str, size, threads: int, hint: str | None, runs: int = 20) -> dict:
    """Per-layer time of one compiled model, summed by the precision its kernel runs in."""
    import numpy as np
    import openvino as ov

    props = {"PERF_COUNT": True, "PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": threads,
             "INFERENCE_PRECISION_HINT": hint or "f32"}
    compiled = ov.Core().compile_model(xml, "CPU", props)
    request = compiled.create_infer_request()
    x = np.random.default_rng(0).normal(0, 50, (1, 3, *size)).astype(np.float32)
    layers: dict[str, dict] = {}
    for i in range(runs + 3):
        request.infer({0: x})
        if i < 3:
            continue  # warm-up
        for p in request.profiling_info:
            if p.status != p.Status.EXECUTED:
                continue
            entry = layers.setdefault(p.node_name, {"type": p.node_type, "exec": p.exec_type, "us": []})
            entry["us"].append(p.real_time.total_seconds() * 1e6)
    rows = [{"layer": n, "type": e["type"], "exec": e["exec"], "kernel_precision": precision_of(e["exec"]),
             "median_us": float(np.median(e["us"]))} for n, e in layers.items()]
    total = sum(r["median_us"] for r in rows)
    by = {}
    for r in rows:
        b = by.setdefault(r["kernel_precision"], {"us": 0.0, "layers": 0, "types": {}})
        b["us"] += r["median_us"]
        b["layers"] += 1
        b["types"][r["type"]] = b["types"].get(r["type"], 0.0) + r["median_us"]
    for b in by.values():
        b["share"] = round(b["us"] / total, 4) if total else None
        b["us"] = round(b["us"], 1)
        b["types"] = {k: round(v, 1) for k, v in sorted(b["types"].items(), key=lambda kv: -kv[1])}
    int8_us = by.get("int8", {}).get("us", 0.0)
    return {"model": xml, "runs": runs, "threads": threads, "sum_of_layers_ms": round(total / 1000, 3),
            "by_kernel_precision": by, "floor_ms_if_float_layers_were_free": round(int8_us / 1000, 3),
            "slowest_float_layers": sorted((r for r in rows if r["kernel_precision"] != "int8"),
                                           key=lambda r: -r["median_us"])[:15]}


def precision_of(exec_type: str) -> str:
    """OpenVINO CPU kernel names end in the precision they compute in (jit_avx512_amx_I8, ..._BF16, ..._FP32)."""
    e = exec_type.lower()
    if e.endswith(("_i8", "_u8")) or "int8" in e:
        return "int8"
    if e.endswith("_bf16"):
        return "bf16"
    if e.endswith(("_f16", "_fp16")):
        return "fp16"
    if e.endswith(("_f32", "_fp32")):
        return "fp32"
    return "other"


def perf_markdown(p: dict, name: str) -> str:
    lines = [f"# OpenVINO per-layer time of {name} ({Path(p['model']).name})", "",
             f"{p['threads']} threads, median of {p['runs']} runs per layer; sum of layers {p['sum_of_layers_ms']} ms; "
             f"floor if every non-INT8 layer took no time: {p['floor_ms_if_float_layers_were_free']} ms.", "",
             "| kernel precision | layers | ms | share | heaviest types (ms) |", "| --- | --- | --- | --- | --- |"]
    for k, b in sorted(p["by_kernel_precision"].items(), key=lambda kv: -kv[1]["us"]):
        types = ", ".join(f"{t} {v / 1000:.2f}" for t, v in list(b["types"].items())[:5])
        lines.append(f"| {k} | {b['layers']} | {b['us'] / 1000:.2f} | {b['share'] * 100:.1f}% | {types} |")
    lines += ["", "Slowest non-INT8 layers:", "", "| layer | type | kernel | µs |", "| --- | --- | --- | --- |"]
    lines += [f"| {r['layer']} | {r['type']} | {r['exec']} | {r['median_us']:.0f} |" for r in p["slowest_float_layers"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="360x480")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--val-limit", type=int, default=None, help="first N val images (default: all 101)")
    ap.add_argument("--calib-n", type=int, default=300)
    ap.add_argument("--budget", type=float, default=0.3)
    ap.add_argument("--work", default=str(REPO / "benchmarks/.work/tune-cpu"))
    ap.add_argument("--fresh", action="store_true", help="drop recorded accuracy figures (builds are kept)")
    ap.add_argument("--tag", default=None, help="results name: tune-cpu-TAG.* (default: the ISA, e.g. amx)")
    ap.add_argument("--isa", default=None, help="ONEDNN_MAX_CPU_ISA for OpenVINO (e.g. AVX2): a lesser CPU, emulated")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    load_before = uptime()
    manifest = work / f"calib-train-{args.calib_n}.txt"
    if not manifest.exists():
        cli("calib", "make", "--data", DATA, "--split", "train", "-n", args.calib_n, "-o", manifest)
    out = work / f"{args.size}-calib{args.calib_n}{'-' + args.isa.lower() if args.isa else ''}"
    if args.fresh:
        (out / "candidates/measurements.json").unlink(missing_ok=True)
    pick = cli("tune", CKPT, "--val", DATA, "--calib", manifest, "--calib-data", DATA, "--input-size", args.size,
               "--threads", args.threads, "--rounds", args.rounds, "--iters", args.iters, "--max-miou-drop", args.budget,
               *(["--val-limit", args.val_limit] if args.val_limit else []), "-o", out, isa=args.isa)
    report = json.loads((out / "tune.json").read_text())
    record(report, pick, args, out, load_before, uptime())


def record(report: dict, pick: str, args, out: Path, load_before: str, load_after: str) -> None:
    rows = {r["name"]: r for r in report["candidates"]}
    chosen, nncf = rows[report["chosen"]["name"]], rows.get("nncf-int8 openvino")
    cpu = lscpu()
    isa = report["machine"]["isa"][:1] or ["cpu"]
    tag = args.tag or (f"{args.isa}-emulated-on-{isa[0]}" if args.isa else isa[0]).lower()
    ratio = round(chosen["pipeline_ms"] / nncf["pipeline_ms"], 3) if nncf and nncf.get("pipeline_ms") else None
    headline = {"pick": chosen["name"], "pick_pipeline_ms": chosen["pipeline_ms"], "pick_model_ms": chosen["median_ms"],
                "pick_drop": chosen["miou_drop"], "pick_class_drop": chosen.get("class_drop"),
                "nncf_pipeline_ms": nncf and nncf.get("pipeline_ms"), "nncf_model_ms": nncf and nncf.get("median_ms"),
                "nncf_drop": nncf and nncf.get("miou_drop"), "pick_over_nncf_pipeline": ratio,
                "isa_cap": report["machine"].get("isa_cap"), "uptime_before": load_before, "uptime_after": load_after}
    report.update(headline=headline, lscpu=cpu, settings=vars(args), note="CamVid val = camvid-half (180x240) images resized up to the "
                  "model's 360x480 by its contract; mIoU at label size 180x240")
    int8 = [r for r in report["candidates"] if r.get("precision") == "int8" and r.get("backend") == "openvino"
            and r.get("median_ms") and (r.get("miou_drop") or 0) <= report["budget"] and not r.get("tail")]
    if int8 and not args.isa:
        best = min(int8, key=lambda r: r["median_ms"])
        size = tuple(int(v) for v in args.size.split("x"))
        perf = perf_counters(best["path"], size, args.threads, None)
        perf.update(candidate=best["name"], lscpu_flags=cpu["Flags"], versions=report["machine"]["versions"])
        (RESULTS / f"tune-cpu-{tag}-perfcount.json").write_text(json.dumps(perf, indent=2) + "\n")
        (RESULTS / f"tune-cpu-{tag}-perfcount.md").write_text(perf_markdown(perf, best["name"]))
    (RESULTS / f"tune-cpu-{tag}.json").write_text(json.dumps(report, indent=2) + "\n")
    md = (out / "tune.md").read_text()
    md += (f"\nHeadline: pick {headline['pick']} {headline['pick_pipeline_ms']} ms pipeline vs NNCF INT8 (logits + host "
           f"argmax) {headline['nncf_pipeline_ms']} ms pipeline -> {ratio}x (goal <= 0.9 with VNNI/AMX, <= 1.0 on "
           f"AVX2), drop {headline['pick_drop']}.\n\n{report['note']}.\n\n"
           + (f"ISA: {headline['isa_cap']}: OpenVINO ran AVX2 code paths on this CPU; ONNX Runtime kept its own "
              "dispatch.\n\n" if args.isa else "")
           + f"uptime before: {load_before}\n\nuptime after: {load_after}\n\n"
           f"lscpu: {cpu['Model name']}, {cpu['CPU(s)']} CPUs, hypervisor {cpu['Hypervisor vendor']}\n\n"
           f"Flags: {cpu['Flags']}\n")
    (RESULTS / f"tune-cpu-{tag}.md").write_text(md)
    if (out / "tune.png").exists():
        shutil.copyfile(out / "tune.png", RESULTS / f"tune-cpu-{tag}.png")
    print(json.dumps(headline))


if __name__ == "__main__":
    main()
