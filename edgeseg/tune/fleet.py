"""`edgeseg fleet tune`: `tune` on every target of a Ray fleet, one table with each target's pick.

The checkpoint, the val images with their labels and the calibration images travel as bytes
(fleet/packing.py); each target builds and measures its own candidates (its CPU, its runtimes,
its GPU) with `edgeseg.tune`, and sends back its report. A target that fails gets a row saying why.
The pick stays on its target, so the fleet's regression gate (`check_fleet_tune`) re-measures it
there: each target checks its own recorded report (check.py), one line per target.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import edgeseg
from edgeseg.errors import EdgesegError, OptionError
from edgeseg.errors import field as f
from edgeseg.fleet.bench import cache_dir
from edgeseg.fleet.cluster import connected
from edgeseg.fleet.packing import pack_file, pack_samples, unpack_dataset
from edgeseg.fleet.bench_job import local_args
from edgeseg.fleet.targets import PREFIX, list_targets, select
from edgeseg.fleet.tasks import check_version, gather
from edgeseg.platform.devices import load_profile
from edgeseg.tune.check import check_report, check_tolerance, read_json
from edgeseg.tune.options import TuneOptions
from edgeseg.tune.search import calibration, open_val, tune


def pack_inputs(ckpt, ds, calib) -> dict:
    return {"ckpt": pack_file(ckpt), "val": pack_samples(ds.samples), "info": ds.info, "split": ds.split,
            "calib": [pack_file(p) for p in calib.paths]}


def _unpack(inputs: dict, work: Path) -> tuple[Path, str, str]:
    """(checkpoint, val as ROOT:LIST, calibration folder) written under `work`."""
    ckpt = inputs["ckpt"].write(work / "ckpt")
    ds = unpack_dataset(inputs["val"], inputs["info"], inputs["split"], None, work / "val")
    listing = work / "val.txt"
    listing.write_text("".join(f"{s.image} {s.label}\n" for s in ds.samples))
    calib = work / "calib"
    for i, blob in enumerate(inputs["calib"]):
        blob.write(calib / f"{i:05d}")
    return ckpt, f"{work}:{listing}", str(calib)


def tune_target(head_version: str, target_key: str, options: TuneOptions, inputs: dict) -> dict:
    """On a target: unpack, tune for its profile, return the report (the pick stays on the target)."""
    check_version(head_version)
    profile = load_profile(target_key.split("#")[0])
    work = cache_dir() / target_key / "tune"
    ckpt, val, calib = _unpack(inputs, work / "inputs")
    device = profile.name if profile.jetson else ("cuda" if profile.gpu else "cpu")
    opts = replace(options, val=val, calib=calib, calib_data=None, val_limit=None, device=device)
    return tune(ckpt, work / "out", opts).report


def check_target(head_version: str, target_key: str, report: dict, tolerance: float) -> dict:
    """On a target: re-measure its recorded pick (and runner-up) as `tune --check` does."""
    check_version(head_version)
    result = check_report(report, tolerance)
    return {"ok": result.ok, "reason": result.reason, "rows": result.rows, "load": result.load}


def on_targets(fn, targets, args_of, ray, timeout: float, on_done=None) -> dict:
    """`fn(head version, target key, *args_of(target))` on each target, pinned to its node:
    {name: (ok, value)}."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    pending = {}
    for t in targets:
        task = ray.remote(fn).options(
            resources={t.resource: 1}, num_cpus=0, max_retries=0,
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=t.node_id, soft=False))
        pending[t.name] = task.remote(edgeseg.__version__, t.resource[len(PREFIX):], *args_of(t))
    return gather(ray, pending, timeout, on_done)


def tune_fleet(ckpt, ds, calib, targets, options: TuneOptions, ray, timeout: float, on_done=None) -> list[dict]:
    """One row per target: its pick, or why it has none."""
    if not targets:
        raise EdgesegError("no targets to tune on")
    inputs = ray.put(pack_inputs(ckpt, ds, calib))
    done = on_targets(tune_target, targets, lambda t: (options, inputs), ray, timeout, on_done)
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
    opts.check()
    ds = open_val(opts)
    Path(work_dir).mkdir(parents=True, exist_ok=True)
    calib_set = calibration(opts, Path(work_dir), ds)
    with connected(address, **local_args(address)) as r:
        targets = select(list_targets(r), devices, address)
        say(f"targets: {', '.join(t.name for t in targets)}")
        rows = tune_fleet(checkpoint, ds, calib_set, targets, opts, r, timeout,
                          on_done=lambda name, ok, v: say(f"{name}: {'done' if ok else 'failed: ' + v}"))
    return rows, f"edgeseg fleet tune: {len(targets)} targets, {opts.rule.describe()}"


def read_fleet_record(path) -> list[dict]:
    """The target rows of a `fleet tune` JSON report (its --json output)."""
    record = read_json(path, "a fleet tune report")
    rows = record.get("targets") if isinstance(record, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, dict) and "target" in r for r in rows):
        raise OptionError(f"{f('check')} {path}: not a fleet tune report (needs its targets' rows, as written by "
                          "fleet tune's JSON report)")
    return rows


def check_rows(rows: list[dict], live: dict, results: dict) -> list[dict]:
    """One verdict per recorded target: {target, ok, reason}. A target with no recorded pick has
    nothing to regress (ok, said so); one gone from the fleet, or whose check failed, is not ok."""
    out = []
    for r in rows:
        name = r["target"]
        if r.get("status") != "ok" or not r.get("report"):
            out.append({"target": name, "ok": True, "reason": f"not checked: no pick recorded ({r.get('status')})"})
        elif name not in live:
            out.append({"target": name, "ok": False, "reason": "not in the fleet now"})
        else:
            ok, value = results[name]
            out.append({"target": name, "ok": bool(ok and value["ok"]),
                        "reason": value["reason"] if ok else f"cannot check: {value}",
                        **({"rows": value["rows"], "load": value["load"]} if ok else {})})
    return out


def check_fleet_tune(record, address: str, wanted: list[str] | None, tolerance: float, timeout: float,
                     say=None) -> list[dict]:
    """Re-measure each target's recorded pick on that target: one verdict per target (check_rows)."""
    say = say or (lambda line: None)
    check_tolerance(tolerance)
    rows = read_fleet_record(record)
    if wanted:
        rows = [r for r in rows if r["target"] in wanted or r.get("profile") in wanted or r.get("host") in wanted]
        if not rows:
            raise OptionError(f"{f('targets')} {','.join(wanted)}: none of the recorded targets")
    with connected(address, **local_args(address)) as r:
        return check_on(rows, list_targets(r), r, tolerance, timeout, say)


def check_on(rows: list[dict], targets, ray, tolerance: float, timeout: float, say=None) -> list[dict]:
    """check_target on each live target with a recorded pick, given its own report; the verdicts."""
    say = say or (lambda line: None)
    live = {t.name: t for t in targets}
    reports = {x["target"]: x["report"] for x in rows
               if x.get("status") == "ok" and x.get("report") and x["target"] in live}
    say(f"checking: {', '.join(reports) or 'no target'}")
    results = on_targets(check_target, [live[n] for n in reports], lambda t: (reports[t.name], tolerance), ray,
                         timeout, lambda name, ok, v: say(f"{name}: {'measured' if ok else 'failed: ' + v}"))
    return check_rows(rows, live, results)
