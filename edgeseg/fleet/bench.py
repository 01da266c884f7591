"""`edgeseg fleet bench`: export once on the head, build and benchmark on every target, one table.

The ONNX models travel as bytes through Ray's object store; a GPU target builds its TensorRT
engines itself (engines are tied to the GPU and TensorRT release) with a timing cache it keeps
across runs; a CPU target times the ONNX models with ONNX Runtime. Each target returns an
`edgeseg bench` result; a target that fails, dies or times out gets failed rows with the reason.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import edgeseg
from edgeseg.artifacts import read_artifact
from edgeseg.bench.accuracy import evaluate
from edgeseg.bench.report import BENCH_FORMAT, check_rows
from edgeseg.bench.benchmark import BenchSettings, attach_accuracy, run_bench
from edgeseg.bench.speed import DEFAULT_ITERS
from edgeseg.engine.builder import BuildSettings, build_engine
from edgeseg.errors import EdgesegError
from edgeseg.fleet.packing import pack_file, unpack_dataset
from edgeseg.fleet.targets import PREFIX, label_value
from edgeseg.fleet.tasks import check_version, gather, reason_of
from edgeseg.platform.devices import load_profile
from edgeseg.runtime import open_runner
from edgeseg.runtime.choice import RunnerRequest, runner_for

logger = logging.getLogger(__name__)
FLEET_FORMAT = "edgeseg-fleet/1"
CHECKPOINT_SUFFIXES = (".pth", ".pt")


@dataclass(kw_only=True)
class FleetBenchSettings:
    precisions: tuple[str, ...] = ("fp32", "fp16")
    input_size: tuple[int, int] | None = None
    batch: int = 1
    warmup: int = 10
    iters: int | None = DEFAULT_ITERS  # None with a duration
    duration: float | None = None
    threads: int | None = None
    timeout: float = 1800.0  # per run, all targets in parallel
    data: dict | None = field(default=None, repr=False)  # {"packed", "info", "split", "lut"} when evaluating


def cache_dir() -> Path:
    """Where a target keeps received models, its engines and its timing cache."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "edgeseg" / "fleet"


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


# -- on the target ----------------------------------------------------------------------------
def _engines(paths: list[Path], profile, work: Path) -> tuple[dict, dict]:
    """{onnx: engine} built here, {onnx: reason} for those TensorRT refused."""
    built, failed = {}, {}
    settings = BuildSettings(device=profile.name, timing_cache=str(work / f"timing-{profile.name}.cache"))
    for p in paths:
        try:
            built[p] = build_engine(p, p.with_name(f"{p.stem}.{profile.name}.engine"), settings, progress=False)
        except EdgesegError as exc:
            failed[p] = str(exc)
    return built, failed


def _accuracy(result: dict, request: RunnerRequest, data: dict, work: Path) -> None:
    """mIoU and drop on the rows that ran, evaluated here; timings stand if this fails."""
    rows = [r for r in result["rows"] if r["status"] == "ok"]
    paths = [r["path"] for r in rows]
    if not paths:
        result["accuracy"] = {"error": "no artifact ran"}
        return
    runners = []
    try:
        ds = unpack_dataset(data["packed"], data["info"], data["split"], data["lut"], work / "data")
        for r in rows:  # each scored on the runtime it was timed on: a figure belongs to its runtime's row
            runners.append(open_runner(r["path"], *runner_for(r["path"], replace(request, backend=r.get("backend"))))
                           .activate())
        attach_accuracy(result, evaluate(runners, ds).to_dict())
        result["accuracy"]["reference"] = paths[0]
    except Exception as exc:
        result["accuracy"] = {"error": str(exc) if isinstance(exc, EdgesegError) else reason_of(exc)}
    finally:
        for r in runners:
            r.deactivate()


def bench_target(head_version: str, target_key: str, names: list[str], settings: dict, data: dict | None,
                 *artifacts) -> dict:
    """On a target: write the models, build engines where the profile has a GPU, time, evaluate.

    `target_key` is the resource without its prefix (`jetson-orin`, `cpu#b`): each target keeps
    its own folder, so two targets on one node never write the same files. Rows come back under
    the head's artifact paths (`names`), in that order. Artifacts come as separate arguments so
    Ray resolves each object-store reference before the call.
    """
    import shutil
    import tempfile


    check_version(head_version)
    profile = load_profile(target_key.split("#")[0])
    work = cache_dir() / target_key
    paths = [a.write(work / a.sha256[:16]) for a in artifacts]
    failed: dict = {}
    runnable = {p: p for p in paths}
    if profile.gpu:
        runnable, failed = _engines(paths, profile, work)
    provider = "cuda" if profile.gpu else "cpu"
    bench = BenchSettings(device=profile.name, provider=provider,
                          **{k: settings[k] for k in ("input_size", "batch", "warmup", "iters", "duration", "threads")})
    result = run_bench([str(runnable[p]) for p in paths if p in runnable], bench)
    if data:
        scratch = Path(tempfile.mkdtemp(prefix="edgeseg-fleet-"))
        try:
            _accuracy(result, bench.runner_request(), data, scratch)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    by_local = {str(runnable[p]): name for p, name in zip(paths, names) if p in runnable}
    for row in result["rows"]:
        row["on_target"], row["path"] = row["path"], by_local.get(row["path"], row["path"])
    acc = result.get("accuracy") or {}
    if acc.get("reference"):
        acc["reference"] = by_local.get(acc["reference"], acc["reference"])
    built_rows = {r["path"]: r for r in result["rows"]}
    result["rows"] = [built_rows.get(name) or {"path": name, "status": "failed", "reason": failed.get(p, "not run")}
                      for p, name in zip(paths, names)]
    return result


# -- on the head ------------------------------------------------------------------------------
def failed_result(target, names: list[str], reason: str) -> dict:
    """A bench result for a target that gave none: every row failed with `reason`."""
    return {"format": BENCH_FORMAT, "created": _now(),
            "device": {"profile": target.profile, "target": target.name, "host": target.host},
            "versions": {"edgeseg": target.version}, "settings": {},
            "rows": [{"path": n, "status": "failed", "reason": reason} for n in names]}


def _plan(target, artifacts: list[tuple[str, str]]) -> tuple[list[int], dict]:
    """Indices of the artifacts this target's profile runs, and skip reasons for the others."""
    profile = load_profile(target.profile)
    run, skipped = [], {}
    for i, (name, precision) in enumerate(artifacts):
        if precision in profile.precisions:
            run.append(i)
        else:
            skipped[name] = f"the {profile.name} profile runs {', '.join(profile.precisions)}"
    return run, skipped


def bench_fleet(artifact_paths: list[str], targets: list, settings: FleetBenchSettings, ray,
                head_version: str | None = None, on_done=None) -> dict:
    """Benchmark the ONNX models on every target in parallel; one fleet result with all their rows."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    head_version = head_version or edgeseg.__version__
    packed = [pack_file(p) for p in artifact_paths]
    precisions = [(str(p), read_artifact(p).precision) for p in artifact_paths]
    refs = [ray.put(p) for p in packed]
    options = {k: getattr(settings, k) for k in ("input_size", "batch", "warmup", "iters", "duration", "threads")}
    data = ray.put(settings.data) if settings.data else None
    results, pending, plans = {}, {}, {}
    for t in targets:
        run, skipped = _plan(t, precisions)
        plans[t.name] = (run, skipped)
        if t.version and t.version != label_value(head_version):
            results[t.name] = failed_result(t, [n for n, _ in precisions], f"edgeseg versions differ: head "
                                            f"{head_version}, target {t.name} {t.version}: install the same edgeseg")
            continue
        if not run:
            results[t.name] = failed_result(t, [], "")
            continue
        task = ray.remote(bench_target).options(
            resources={t.resource: 1}, num_cpus=0, max_retries=1, retry_exceptions=False,
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=t.node_id, soft=False))
        names = [precisions[i][0] for i in run]
        pending[t.name] = task.remote(head_version, t.resource[len(PREFIX):], names, options, data,
                                      *[refs[i] for i in run])
    by_name = {t.name: t for t in targets}
    for name, (ok, value) in gather(ray, pending, settings.timeout, on_done).items():
        t = by_name[name]
        results[name] = value if ok else failed_result(t, [precisions[i][0] for i in plans[name][0]], value)
    out = []
    for t in targets:
        result = results[t.name]
        result.setdefault("device", {}).update(target=t.name, host=t.host)
        result["rows"] += [{"path": n, "status": "skipped", "reason": r} for n, r in plans[t.name][1].items()]
        out.append(result)
    return {"format": FLEET_FORMAT, "created": _now(), "targets": out}


def check_fleet(result: dict) -> None:
    """After the table: a failed row or accuracy asked and not measured on any target fails the run.

    One check over all targets' rows, as `edgeseg bench` checks its own (`report.check_rows`).
    """
    rows, errors = [], []
    for t in result["targets"]:
        where = (t.get("device") or {}).get("target", "?")
        rows += [{**r, "path": f"{where}: {r['path']}"} for r in t["rows"]]
        if (t.get("accuracy") or {}).get("error"):
            errors.append(f"{where}: {t['accuracy']['error']}")
    check_rows({"rows": rows, "accuracy": {"error": "; ".join(errors)} if errors else None})
