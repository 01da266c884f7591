"""`edgeseg tune` checking a DIR/tune.json: the regression gate on the target.

Re-measures the recorded pick and runner-up on this machine with the recorded protocol, threads
and val set (same content, by hash), and fails, in one line, when the pick's pipeline latency
grew by more than the tolerance, an mIoU moved by more than 0.1 points, or a re-tune would pick
the runner-up. A new OpenVINO, driver or power mode shows here before users see it. The two are
timed together (interleaved), so a busy machine slows both; the load average is reported beside.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import edgeseg.tune.measure as measure
from edgeseg.errors import EdgesegError, OptionError
from edgeseg.errors import field as f
from edgeseg.tune.candidates import Candidate
from edgeseg.tune.choose import Objective, choose, runner_up
from edgeseg.tune.search import TuneOptions, open_val

MIOU_TOLERANCE = 0.1  # points; accuracy is deterministic on one machine, so this is generous


@dataclass
class CheckResult:
    ok: bool
    reason: str  # one line
    rows: list[dict]  # recorded vs measured, per re-measured candidate
    load: dict | None


def read_json(path, what: str):
    """The JSON report `--check` names, a bad file refused in one line naming `what` it should be."""
    path = Path(path)
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise OptionError(f"{f('check')} {path}: cannot read it ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise OptionError(f"{f('check')} {path}: not {what} ({str(exc)[:100]})") from None


def read_record(path) -> dict:
    return valid(read_json(path, "a tune.json"), Path(path))


def valid(report, where) -> dict:
    """`report` when it is a tune report with a pick; `where` names it in the error."""
    need = ("candidates", "chosen", "protocol", "machine", "objective", "val")
    if not isinstance(report, dict) or any(k not in report for k in need):
        raise OptionError(f"{f('check')} {where}: not a tune.json written by this edgeseg (needs {', '.join(need)})")
    if not report["chosen"]:
        raise OptionError(f"{f('check')} {where}: that tune chose nothing ({report.get('why')}); nothing to check")
    return report


def check_tolerance(tolerance: float) -> None:
    if not (math.isfinite(tolerance) and 0 <= tolerance < 10):
        raise OptionError(f"{f('tolerance')} must be a fraction within 0..10 (0.1 = 10 %), got {tolerance}")


def objective(report: dict) -> Objective:
    o = report["objective"]
    return Objective(o["max_miou_drop"], o.get("max_class_drop"), o.get("min_fps"), bool(o.get("throughput")))


def subjects(report: dict) -> list[dict]:
    """The recorded pick and the runner-up (when any): what the gate re-measures."""
    rows = report["candidates"]
    pick = next((r for r in rows if r["name"] == report["chosen"]["name"]), None)
    if pick is None:
        raise OptionError(f"{f('check')}: the record names a pick that is not among its candidates")
    second = runner_up(rows, objective(report), pick["name"])
    return [pick] + ([second] if second else [])


def verdict(report: dict, fresh: dict[str, dict], tolerance: float) -> tuple[bool, str]:
    """(passed, one line) from the recorded rows and this machine's figures, by candidate name."""
    obj = objective(report)
    recorded = subjects(report)
    pick = recorded[0]
    for old in recorded:
        new = fresh[old["name"]]
        if abs(new["miou"] - old["miou"]) > MIOU_TOLERANCE:
            return False, (f"{old['name']}: mIoU moved {old['miou']:.2f} -> {new['miou']:.2f} "
                           f"(more than {MIOU_TOLERANCE} points)")
    new = fresh[pick["name"]]
    if obj.throughput and new["throughput_fps"] < pick["throughput_fps"] * (1 - tolerance):
        fell = 1 - new["throughput_fps"] / pick["throughput_fps"]
        return False, (f"{pick['name']}: throughput regressed {pick['throughput_fps']:.1f} -> "
                       f"{new['throughput_fps']:.1f} FPS (-{fell:.0%}, tolerance {tolerance:.0%})")
    if not obj.throughput and new["pipeline_ms"] > pick["pipeline_ms"] * (1 + tolerance):
        grew = new["pipeline_ms"] / pick["pipeline_ms"] - 1
        return False, (f"{pick['name']}: pipeline latency regressed {pick['pipeline_ms']:.2f} -> "
                       f"{new['pipeline_ms']:.2f} ms (+{grew:.0%}, tolerance {tolerance:.0%})")
    again = [{**old, **fresh[old["name"]]} for old in recorded]
    try:
        winner, _ = choose(again, obj)
    except EdgesegError as exc:
        return False, f"a re-tune would pick nothing of the two: {exc}"
    if winner["name"] != pick["name"]:
        return False, (f"a re-tune would pick {winner['name']} ({winner['pipeline_ms']:.2f} ms) over "
                       f"{pick['name']} ({new['pipeline_ms']:.2f} ms)")
    speed = (f"{new['throughput_fps']:.1f} FPS throughput (recorded {pick['throughput_fps']:.1f})" if obj.throughput
             else f"{new['pipeline_ms']:.2f} ms pipeline (recorded {pick['pipeline_ms']:.2f})")
    return True, f"{pick['name']}: {speed}, mIoU {new['miou']:.2f} (recorded {pick['miou']:.2f}): still the pick"


def check(record_path, tolerance: float = 0.10) -> CheckResult:
    """Re-measure and judge; raises EdgesegError for a record that cannot be checked here."""
    check_tolerance(tolerance)
    return check_report(read_record(record_path), tolerance)


def check_report(report: dict, tolerance: float = 0.10) -> CheckResult:
    """check() of a report already read (a fleet target's, sent by the head)."""
    check_tolerance(tolerance)
    report = valid(report, "the record")
    rows = subjects(report)
    ref = next((r for r in report["candidates"] if r["name"] == "fp32 onnxruntime" and r.get("path")), None)
    if ref is None:
        raise OptionError(f"{f('check')}: the record has no FP32 ONNX Runtime reference to score against")
    for r in [ref] + rows:
        path = Path(r["path"])
        if not path.is_file():
            raise OptionError(f"{f('check')}: {r['name']}'s artifact {path} is gone; run tune again")
        if r.get("sha256") and measure.artifact_sha(path) != r["sha256"]:
            raise OptionError(f"{f('check')}: {path.name} is not the file that was tuned (sha256 differs); run tune again")
    p = report["protocol"]
    opts = TuneOptions(val=report["val"], dataset=report.get("dataset", "camvid"), val_limit=report.get("val_limit"),
                       protocol=measure.Protocol(rounds=p["rounds"], iters=p["iters"], warmup=p["warmup"]))
    ds = open_val(opts)
    if report.get("val_id") and measure.val_id(ds) != report["val_id"]:
        raise OptionError(f"{f('check')}: the val set {report['val']} is not the one that was tuned on "
                           "(its content changed)")
    threads = report["machine"]["threads"]
    size = report["input_size"]
    items = [(Candidate.from_row(r), Path(r["path"])) for r in [ref] + rows]
    runners = measure.open_runners(items, threads, size, opts.dataset)
    try:
        scores = measure.accuracy(runners, ds)[1:]
        times = measure.latency(runners[1:], size, opts.protocol)
        if objective(report).throughput:
            for t, fps in zip(times, measure.throughputs(runners[1:], size, opts.protocol)):
                t["throughput_fps"] = fps
    finally:
        measure.close(runners)
    fresh = {r["name"]: {**s, **t} for r, s, t in zip(rows, scores, times)}
    ok, reason = verdict(report, fresh, tolerance)
    table = [{"name": r["name"], "recorded_pipeline_ms": r["pipeline_ms"], "recorded_miou": r["miou"],
              "recorded_throughput_fps": r.get("throughput_fps"),
              "throughput_fps": fresh[r["name"]].get("throughput_fps"),
              "pipeline_ms": fresh[r["name"]]["pipeline_ms"], "miou": fresh[r["name"]]["miou"]} for r in rows]
    return CheckResult(ok, reason, table, times[0]["load"] if times else None)
