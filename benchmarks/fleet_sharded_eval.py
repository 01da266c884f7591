"""Sharded evaluation on `--ray local` against a plain `edgeseg eval`, and where Ray's time goes.

The trained CamVid checkpoint is exported once to FP32 ONNX (at the images' 180 x 240), then the
101 camvid-half val images are evaluated: plainly in this process (1 thread, and ONNX Runtime's
default), and sharded over 1 and 2 Ray workers with 1 thread each, each on a fresh local cluster
(cold: worker processes start and import) and again on the same cluster (warm). Every sharded
confusion matrix is checked to equal the plain one exactly. Ray's overhead is split into
start-up (ray.init), serialization (reading + pickling the encoded images, ray.put), per-shard
setup on the worker (files written, ONNX Runtime session) and what is left (scheduling, worker
start, result transfer). Writes benchmarks/results/fleet-sharded-eval.json with /proc/loadavg
before and after and the CPU model: timings taken on a busy machine are provisional.

Usage: python benchmarks/fleet_sharded_eval.py [--workers 1,2] [--size 180x240] [--work /tmp/edgeseg-fleet-bench]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path


REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / ".." / "shared").resolve()
CKPT = SHARED / "fixtures" / "s2fpn18_camvid_half.pth"
DATA = SHARED / "data" / "camvid-half"


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().strip() if Path("/proc/loadavg").exists() else "?"


def cpu() -> dict:
    from edgeseg.platform.hardware import CPUINFO, cpu_model, logical_cpus, physical_cores

    text = CPUINFO.read_text() if CPUINFO.exists() else ""
    return {"model": cpu_model(text), "physical_cores": physical_cores(), "logical_cpus": logical_cpus(),
            "vnni": "avx512_vnni" in text or "avx_vnni" in text, "machine": platform.machine()}


def export(size: str, work: Path) -> str:
    cmd = [sys.executable, "-m", "edgeseg.cli.main", "export", str(CKPT), "-o", str(work), "--input-size", size]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]


def plain(onnx: str, ds, threads: int | None) -> tuple[float, dict]:
    from edgeseg.bench.accuracy import evaluate
    from edgeseg.runtime import open_runner

    t0 = time.perf_counter()
    with open_runner(onnx, provider="cpu", threads=threads) as runner:
        result = evaluate([runner], ds)
    return time.perf_counter() - t0, result.to_dict()["artifacts"][0]


def serialization(ray, ds) -> dict:
    """Head-side cost of shipping the split: read + pickle the encoded files, put them in the store."""
    from edgeseg.fleet.packing import pack_samples

    t0 = time.perf_counter()
    packed = pack_samples(ds.samples)
    t1 = time.perf_counter()
    ref = ray.put(packed)
    t2 = time.perf_counter()
    del ref
    size = sum(len(p.image.data) + (len(p.label.data) if p.label else 0) for p in packed)
    return {"read_s": round(t1 - t0, 3), "put_s": round(t2 - t1, 3), "encoded_mb": round(size / 2**20, 2)}


def sharded(onnx: str, ds, workers: int, reference: dict) -> dict:
    import ray

    from edgeseg.fleet.shard import evaluate_sharded

    t0 = time.perf_counter()
    ray.init(address="local", num_cpus=workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
    startup = time.perf_counter() - t0
    try:
        ship = serialization(ray, ds)
        runs = {}
        for kind in ("cold", "warm"):
            stats: list = []
            t1 = time.perf_counter()
            result = evaluate_sharded([onnx], {"provider": "cpu", "threads": 1}, ds, address="local",
                                      workers=workers, shard_stats=stats)
            wall = time.perf_counter() - t1
            art = result.to_dict()["artifacts"][0]
            if art["confusion"] != reference["confusion"]:
                raise SystemExit(f"{workers} workers ({kind}): confusion matrix differs from the plain eval")
            slowest = max(s["setup_s"] + s["eval_s"] for s in stats)
            runs[kind] = {"wall_s": round(wall, 3), "miou": art["miou"], "identical_confusion": True,
                          "shards": stats, "unaccounted_s": round(wall - slowest, 3)}
    finally:
        ray.shutdown()
    return {"workers": workers, "threads_per_worker": 1, "ray_init_s": round(startup, 3), "serialization": ship,
            **runs}


def main():
    from edgeseg.data.datasets import open_dataset

    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--size", default="180x240")
    ap.add_argument("--work", default="/tmp/edgeseg-fleet-bench")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "fleet-sharded-eval.json"))
    args = ap.parse_args()
    load_before = loadavg()
    onnx = export(args.size, Path(args.work))
    ds = open_dataset(DATA, "camvid", "camvid_val_list.txt")
    record = {"cpu": cpu(), "loadavg_before": load_before, "images": len(ds), "artifact": Path(onnx).name,
              "python": platform.python_version()}
    wall1, ref = plain(onnx, ds, 1)
    wall_default, ref_default = plain(onnx, ds, None)
    if ref_default["confusion"] != ref["confusion"]:
        raise SystemExit("plain eval with 1 thread and with the default threads disagree")
    record["plain"] = {"threads_1_s": round(wall1, 3), "threads_default_s": round(wall_default, 3), "miou": ref["miou"]}
    record["sharded"] = [sharded(onnx, ds, int(w), ref) for w in args.workers.split(",")]
    record["loadavg_after"] = loadavg()
    import onnxruntime
    import ray

    record["versions"] = {"ray": ray.__version__, "onnxruntime": onnxruntime.__version__}
    Path(args.out).write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps({k: record[k] for k in ("plain", "loadavg_before", "loadavg_after")}, indent=1))
    for s in record["sharded"]:
        print(f"{s['workers']} workers: ray.init {s['ray_init_s']} s, cold {s['cold']['wall_s']} s, "
              f"warm {s['warm']['wall_s']} s, serialization {s['serialization']}")


if __name__ == "__main__":
    main()
