"""`edgeseg fleet tune`: `tune` on every target of a Ray fleet, one table with each target's pick.

The checkpoint, the val images with their labels and the calibration images travel as bytes
(fleet/packing.py); each target builds and measures its own candidates (its CPU, its runtimes,
its GPU) with `edgeseg.tune`, and sends back its report. A target that fails gets a row saying why.
"""

from __future__ import annotations

from pathlib import Path

import edgeseg
from edgeseg.errors import EdgesegError
from edgeseg.fleet.bench import cache_dir
from edgeseg.fleet.cluster import connected
from edgeseg.fleet.packing import pack_file, pack_samples, unpack_dataset
from edgeseg.fleet.bench_job import local_args
from edgeseg.fleet.targets import PREFIX, list_targets, select
from edgeseg.fleet.tasks import check_version, gather
from edgeseg.platform.devices import load_profile
from edgeseg.tune import TuneOptions, tune
from edgeseg.tune.measure import Protocol
from edgeseg.tune.search import calibration, open_val


def pack_inputs(ckpt, ds, calib) -> dict:
    return {"ckpt": pack_file(ckpt), "val": pack_samples(ds.samples), "info": ds.info, "split": ds.split,
            "calib": [pack_file(p) for p in calib.paths]}


def _unpack(inputs: dict, work: Path) -> tuple[Path, str, str]:
    """(checkpoint, --val ROOT:LIST, --calib FOLDER) written under `work`."""
    ckpt = inputs["ckpt"].write(work / "ckpt")
    ds = unpack_dataset(inputs["val"], inputs["info"], inputs["split"], None, work / "val")
    listing = work / "val.txt"
    listing.write_text("".join(f"{s.image} {s.label}\n" for s in ds.samples))
    calib = work / "calib"
    for i, f in enumerate(inputs["calib"]):
        f.write(calib / f"{i:05d}")
    return ckpt, f"{work}:{listing}", str(calib)


def tune_target(head_version: str, target_key: str, options: dict, inputs: dict) -> dict:
    """On a target: unpack, tune for its profile, return the report (the pick stays on the target)."""
    check_version(head_version)
    profile = load_profile(target_key.split("#")[0])
    work = cache_dir() / target_key / "tune"
    ckpt, val, calib = _unpack(inputs, work / "inputs")
    opts = TuneOptions(**{**options, "val": val, "calib": calib, "calib_data": None, "tails": tuple(options["tails"]),
                          "device": profile.name if profile.jetson else ("cuda" if profile.gpu else "cpu"), "protocol": Protocol(**options["protocol"])})
    return tune(ckpt, work / "out", opts).report


def tune_fleet(ckpt, ds, calib, targets, options: dict, ray, timeout: float, on_done=None) -> list[dict]:
    """One row per target: its pick, or why it has none."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    if not targets:
        raise EdgesegError("no targets to tune on")
    inputs = ray.put(pack_inputs(ckpt, ds, calib))
    pending = {}
    for t in targets:
        task = ray.remote(tune_target).options(
            resources={t.resource: 1}, num_cpus=0, max_retries=0,
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=t.node_id, soft=False))
        pending[t.name] = task.remote(edgeseg.__version__, t.resource[len(PREFIX):], options, inputs)
    done = gather(ray, pending, timeout, on_done)
    return [target_row(t, *done[t.name]) for t in targets]


def target_row(target, ok: bool, value) -> dict:
    row = {"target": target.name, "profile": target.profile, "host": target.host}
    if not ok:
        return {**row, "status": f"failed: {value}"}
    chosen = next(r for r in value["candidates"] if r["name"] == value["chosen"]["name"])
    nncf = next((r for r in value["candidates"] if r["name"] == "nncf-int8 openvino" and r.get("pipeline_ms")), None)
    return {**row, "status": "ok", "cpu": value["machine"]["cpu"], "isa": value["machine"]["isa"],
            "pick": chosen["name"], "pipeline_ms": chosen["pipeline_ms"], "median_ms": chosen["median_ms"],
            "miou": chosen["miou"], "miou_drop": chosen["miou_drop"], "x_fp32_ov": chosen.get("x_fp32_ov"),
            "x_nncf": round(chosen["pipeline_ms"] / nncf["pipeline_ms"], 3) if nncf else None,
            "candidates": len(value["candidates"]), "why": value["why"], "report": value}


def markdown(rows: list[dict], title: str) -> str:
    lines = [f"# {title}", "", "| target | CPU / ISA | pick | pipeline ms | model ms | x FP32 OV | x NNCF | mIoU | drop "
             "| status |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        cells = [r["target"], f"{r.get('cpu', '?')} ({', '.join(r.get('isa') or [])})", r.get("pick", "-")]
        cells += ["-" if r.get(k) is None else f"{r[k]:.3f}" for k in ("pipeline_ms", "median_ms", "x_fp32_ov", "x_nncf", "miou",
                                                                          "miou_drop")]
        lines.append("| " + " | ".join(cells + [r["status"]]) + " |")
    return "\n".join(lines) + "\n"


def run_fleet_tune(checkpoint, address: str, devices: list[str] | None, opts, work_dir, timeout: float,
                   say=None) -> tuple[list[dict], str]:
    """(one row per target, title): the val set and calibration checked here, then tune on every
    chosen target of the cluster at `address`. `opts`: edgeseg.tune.TuneOptions."""
    say = say or (lambda line: None)
    if not Path(checkpoint).is_file():
        raise EdgesegError(f"{checkpoint}: no such file (the checkpoint to tune)")
    ds = open_val(opts)
    Path(work_dir).mkdir(parents=True, exist_ok=True)
    calib_set = calibration(opts, Path(work_dir), ds)
    options = {"max_miou_drop": opts.max_miou_drop, "input_size": opts.input_size, "dataset": opts.dataset,
               "variant": None, "threads": opts.threads, "val_limit": None, "protocol": opts.protocol.to_dict(),
               "tails": list(opts.tails), "min_fps": opts.min_fps, "max_class_drop": opts.max_class_drop}
    with connected(address, **local_args(address)) as r:
        targets = select(list_targets(r), devices, address)
        say(f"targets: {', '.join(t.name for t in targets)}")
        rows = tune_fleet(checkpoint, ds, calib_set, targets, options, r, timeout,
                          on_done=lambda name, ok, v: say(f"{name}: {'done' if ok else 'failed: ' + v}"))
    return rows, f"edgeseg fleet tune: {len(targets)} targets, {opts.objective.describe()}"
