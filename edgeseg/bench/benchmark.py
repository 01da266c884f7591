"""`edgeseg bench` as a library: every artifact timed the same way, one failure never kills the table."""

from __future__ import annotations

import datetime as _dt
import logging
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from edgeseg.artifacts import versions
from edgeseg.bench.accuracy import evaluate
from edgeseg.bench.report import BENCH_FORMAT as FORMAT
from edgeseg.bench.speed import DEFAULT_ITERS, input_batch, time_runner
from edgeseg.data.contract import DatasetInfo
from edgeseg.data.datasets import open_dataset, val_split
from edgeseg.errors import EdgesegError
from edgeseg.errors import field as f
from edgeseg.memory import check_fits
from edgeseg.platform import hardware, jetson
from edgeseg.platform.devices import check_profile, load_profile
from edgeseg.progress import phase, silent
from edgeseg.runtime import open_runner, parse_backend
from edgeseg.runtime.choice import RunnerRequest, runner_for, unverified

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class BenchSettings:
    device: str = "cpu"
    input_size: tuple[int, int] | None = None
    batch: int = 1
    warmup: int = 10
    iters: int | None = DEFAULT_ITERS  # None with a duration
    duration: float | None = None
    threads: int | None = None
    provider: str = "cpu"
    backend: str | None = None  # for ONNX models; None: the profile's fastest installed (devices.json)
    variant: str | None = None  # checkpoints
    cuda_graph: bool = False  # engines
    streams: int | None = None  # OpenVINO throughput streams (None: a tune pick's, else latency)

    def runner_request(self) -> RunnerRequest:
        """What every artifact is asked (edgeseg.runtime.choice.runner_for: each one's backend and options)."""
        return RunnerRequest(profile=self.device, backend=self.backend, provider=self.provider, threads=self.threads,
                             input_size=self.input_size, variant=self.variant, cuda_graph=self.cuda_graph,
                             streams=self.streams)


@dataclass(frozen=True, kw_only=True)
class ScoredData:
    """The labelled dataset a bench scores (here, or on every fleet target): `val` is ROOT[:SPLIT] or a
    list file (data.datasets.val_split); None: timing only."""

    val: str | None = None
    dataset: str = "camvid"  # camvid | cityscapes | folder (classes from the first artifact)
    limit: int | None = None



def _size(runner, settings: BenchSettings, profile) -> tuple[tuple[int, int], str]:
    """(H, W) to time at and where it came from: the input size asked for, else the model's own, else the profile's."""
    if settings.input_size:
        return tuple(settings.input_size), f("input_size")
    pre = runner.metadata.get("preprocess", {})
    if pre.get("input_size"):
        return tuple(pre["input_size"]), "the input size in its metadata"
    spec = runner.io_spec
    shape = list(spec.input_shape)
    if len(shape) == 4:
        hw = shape[1:3] if spec.input_layout == "NHWC" else shape[2:4]
        if all(isinstance(d, int) and d > 0 for d in hw):
            return tuple(hw), "its fixed input size"
    return tuple(profile.input_sizes[0]), f"the {profile.name} profile's default input size"


def _check_fp8(runner, profile) -> None:
    """An FP8 model timed on a profile without FP8 would time an emulation, not FP8: refuse the row."""
    if runner.metadata.get("precision") == "fp8" and "fp8" not in profile.precisions:
        raise EdgesegError(f"{Path(runner.path).name} is FP8 and the {profile.name} profile has no FP8 path (it runs "
                           f"{', '.join(profile.precisions)}): its time would be an emulation's; bench it on the "
                           "dgx-spark profile, or cuda on an FP8 GPU (compute capability 8.9+)")


def bench_one(path: str, settings: BenchSettings, profile, sampler_factory) -> dict:
    row = {"path": str(path), "status": "ok", "reason": None}
    try:
        backend, options = runner_for(path, settings.runner_request())
        if backend:
            row["backend"] = parse_backend(backend)[0]  # named even when the row fails
        runner = open_runner(path, backend, options)
        with runner:
            _check_fp8(runner, profile)
            size, source = _size(runner, settings, profile)
            check_fits((runner.metadata.get("model") or {}).get("variant"), size, settings.batch)
            batch = input_batch(runner.io_spec, size, settings.batch, source=source)
            timing = time_runner(runner, batch, settings.warmup, settings.iters, settings.duration,
                                 sampler=sampler_factory())  # power sampled over the timed loop only
            row.update(backend=runner.backend, description=runner.description,
                       precision=runner.metadata.get("precision", "fp32"), input=list(batch.shape), **timing)
            note = unverified(runner.metadata, runner.backend)
            if note:
                row["verification"] = note
                log.warning("%s: %s", Path(path).name, note)
    except EdgesegError as exc:
        row.update(status="failed", reason=str(exc))
    except Exception as exc:  # a backend crash must not take the other rows with it
        row.update(status="failed", reason=f"{type(exc).__name__}: {exc}".splitlines()[0][:300])
    return row


def run_bench(paths: list[str], settings: BenchSettings, progress=None) -> dict:
    profile = load_profile(settings.device)
    hw = hardware.detect()
    check_profile(profile, hw)
    if settings.backend:
        parse_backend(settings.backend)  # a typo stops here, before any timing
    device = {"profile": profile.name, **hw.to_dict()}
    if hw.is_jetson:
        device.update(jetson.read_state())
    sampler_factory = jetson.PowerSampler if hw.is_jetson else (lambda: None)
    rows = []
    with phase(progress, len(paths), "benchmarking") as advance:
        for p in paths:
            log.info("benchmarking %s", Path(p).name)
            rows.append(bench_one(p, settings, profile, sampler_factory))
            advance()
    return {"format": FORMAT, "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "device": device, "versions": _versions(),
            "settings": {"batch": settings.batch, "warmup": settings.warmup, "iters": settings.iters,
                         "duration": settings.duration, "threads": settings.threads, "provider": settings.provider,
                         "backend": settings.backend,
                         "input_size": list(settings.input_size) if settings.input_size else None},
            "rows": rows}


def _versions() -> dict:
    """edgeseg and ONNX Runtime always; the others only when a runner imported them (no 5 s torch import)."""
    return versions("onnxruntime", *(m for m in ("torch", "tensorrt", "onnx", "openvino") if m in sys.modules))


def attach_accuracy(result: dict, eval_report: dict) -> None:
    """Put mIoU, drop and agreement from `evaluate` on the matching bench rows (same file, same backend:
    a figure measured on one runtime is never shown on a row of another)."""
    by_backend = {(a["path"], a.get("backend")): a for a in eval_report["artifacts"]}
    for row in result["rows"]:
        a = by_backend.get((row["path"], row.get("backend")))
        if a:
            row.update(miou=a["miou"], miou_drop=a["miou_drop"], agreement=a["agreement"])
    result["accuracy"] = {k: eval_report[k] for k in ("dataset", "split", "images", "resize")}


def profile_settings(**given) -> BenchSettings:
    """BenchSettings from the options given by name (the others: its defaults), for their device profile:
    GPU profiles default to the CUDA provider; a duration replaces the iteration count."""
    if given.get("duration") is not None:
        given.setdefault("iters", None)
    settings = BenchSettings(**given)
    if "provider" in given and given["provider"] is not None:
        return settings
    return replace(settings, provider="cuda" if load_profile(settings.device).gpu else "cpu")


def open_bench_dataset(data: ScoredData, runner=None):
    """The dataset `data` names; a folder dataset takes its classes from `runner`'s metadata."""
    info = DatasetInfo.from_dict(runner.metadata.get("dataset")) if data.dataset == "folder" and runner else None
    root, split = val_split(data.val)
    return open_dataset(root, data.dataset, split, data.limit, info)


def check_dataset(data: ScoredData) -> None:
    """A wrong dataset is refused before minutes of timing (a folder dataset is checked with its model)."""
    if data.val and data.dataset != "folder":
        open_bench_dataset(data)


def add_accuracy(result: dict, data: ScoredData, request: RunnerRequest, progress=silent) -> None:
    """mIoU and drop for the rows that ran, each on the backend it was timed on; the first of them is
    the reference. Never fails the table."""
    paths = [r["path"] for r in result["rows"] if r["status"] == "ok"]
    backends = [r["backend"] for r in result["rows"] if r["status"] == "ok"]  # accuracy of what was timed
    if not paths:
        result["accuracy"] = {"error": "no artifact ran"}
        return
    runners = []
    try:
        for p, b in zip(paths, backends):
            runners.append(open_runner(p, *runner_for(p, replace(request, backend=b))).activate())
        ds = open_bench_dataset(data, runners[0])
        with progress(len(ds), "evaluating") as step:
            attach_accuracy(result, evaluate(runners, ds, progress=step).to_dict())
        result["accuracy"]["reference"] = paths[0]
    except Exception as exc:  # the timings stand even when accuracy cannot be measured
        reason = f"{type(exc).__name__}: {exc}" if not str(exc) else str(exc)
        result["accuracy"] = {"error": reason.strip().splitlines()[0][:300]}
        log.warning("accuracy not measured: %s", result["accuracy"]["error"])
    finally:
        for r in runners:
            r.deactivate()
