"""`edgeseg tune --plan`: what a run would build and measure here, and a rough time, before any work.

The time is an estimate, said to be one: per-image latencies come from an earlier tune.json in
the same -o folder when there is one (measured on this machine), else from the FP32 OpenVINO
figure measured on a 2-core AMX Xeon at 360x480 (docs/tune.md) scaled by pixels and threads;
build times are typical figures of that machine. Tails are counted at their upper bound (every
candidate in the running), since which are in the running is known only after scoring.
"""

from __future__ import annotations

import json
from pathlib import Path

from edgeseg.data.contract import DatasetInfo
from edgeseg.platform.hardware import physical_cores
from edgeseg.tune.candidates import cpu_candidates, cpu_facts
from edgeseg.tune.gpu import gpu_candidates
from edgeseg.tune.search import check_device, open_val
from edgeseg.tune.throughput import stream_counts

BASE_MS, BASE_PIXELS, BASE_THREADS = 91.9, 360 * 480, 2  # FP32 OpenVINO, docs/tune.md (AMX Xeon, 2 threads)
BUILD_S = {"fp32": 40, "int8": 120, "nncf": 90, "ir": 6, "tail": 6, "engine": 300}  # typical, same machine


def plan(ckpt, out_dir, o) -> str:
    o.check()
    profile = check_device(o.device)
    ds = open_val(o)
    cands, skipped = gpu_candidates() if profile.gpu else cpu_candidates(cpu_facts())
    size = o.input_size or tuple(DatasetInfo.named(o.dataset).input_size or (360, 480))
    threads = o.threads or physical_cores()
    tails = [t for t in o.tails if t != "logits"]
    graphs = sorted({c.graph for c in cands})
    irs = sum(1 for c in cands if c.backend == "openvino" and c.graph not in ("nncf",))
    n_tails = len(cands) * len(tails)
    build_s = sum(BUILD_S[_kind(g)] for g in graphs) + irs * BUILD_S["ir"] + n_tails * BUILD_S["tail"]
    sizes = [s for s in o.input_sizes if tuple(s) != tuple(size)]
    build_s *= 1 + len(sizes)  # upper bound: every graph rebuilt at every other size
    ms, source = _latency(Path(out_dir), size, threads)
    counts = [t for t in o.thread_counts if t != threads]
    runs = (len(cands) + n_tails) * (1 + len(sizes)) * (1 + len(counts))
    p = o.protocol
    score_s = runs * len(ds) * ms / 1000 * 1.5  # + reading, preprocessing and resizing each image
    streams = [n for n in stream_counts(o.streams, threads) if n > 1] if o.objective == "throughput" else []
    runs *= 1 + len(streams)  # upper bound: every candidate is an OpenVINO one; same files, no scoring
    time_s = runs * (p.warmup + p.rounds * (1 + 2 * p.iters)) * ms / 1000 * (2 if streams else 1)
    lines = [f"edgeseg tune --plan: {Path(ckpt).name} at {size[0]}x{size[1]}, {threads} threads, "
             f"{len(ds)} val images, objective: {o.rule.describe()}",
             f"graphs to build (reused when built before with the same inputs): {', '.join(graphs)}",
             "candidates:"]
    lines += [f"  {c.name}" for c in cands]
    lines += [f"  skipped: {s['name']} ({s['reason']})" for s in skipped]
    if tails:
        lines.append(f"tails {', '.join(tails)}: at most {n_tails} more, only on candidates within the budget")
    if counts:
        lines.append(f"thread counts {', '.join(map(str, counts))}: each at most as many again, only on candidates "
                     "within the budget")
    if streams:
        lines.append(f"streams {', '.join(map(str, streams))} (throughput): each at most as many again, only on "
                     "OpenVINO candidates within the budget; timed twice (latency, then frames/s in flight)")
    if sizes:
        lines.append(f"input sizes {', '.join(f'{h}x{w}' for h, w in sizes)}: each at most as many again, only "
                     "for candidates within the budget")
    lines.append(f"estimate (rough; latency {ms:.0f} ms per FP32 run {source}): builds ~{build_s / 60:.0f} min, "
                 f"scoring ~{score_s / 60:.0f} min, timing ~{time_s / 60:.0f} min "
                 f"(at most {runs} candidates x {p.rounds} rounds x {p.iters} runs, model and pipeline)")
    return "\n".join(lines)


def _kind(graph: str) -> str:
    if graph in ("fp32", "nncf"):
        return graph
    return "engine" if graph.startswith("engine") else "int8"


def _latency(out_dir: Path, size, threads: int) -> tuple[float, str]:
    """FP32 ms per run: an earlier record here, else the docs' AMX figure scaled."""
    record = out_dir / "tune.json"
    try:
        report = json.loads(record.read_bytes().decode("utf-8"))
        row = next(r for r in report["candidates"] if r.get("precision") == "fp32" and r.get("pipeline_ms"))
        scale = size[0] * size[1] / (report["input_size"][0] * report["input_size"][1])
        return row["pipeline_ms"] * scale, f"from {record} ({row['name']}, measured here)"
    except (OSError, ValueError, KeyError, TypeError, StopIteration, IndexError):
        pass
    ms = BASE_MS * size[0] * size[1] / BASE_PIXELS * BASE_THREADS / max(threads, 1)
    return ms, "scaled from a 2-core AMX Xeon's 91.9 ms at 360x480 (docs/tune.md)"
