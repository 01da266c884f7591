"""Latency and accuracy of each candidate, through the runtime and compiled model that will run it.

Latency is timed in interleaved rounds, A B C A B C, every runner loaded at once with the threads
the user will run, so a load change on the machine hits all candidates alike; the figure is the
median of the rounds' medians, taken twice: model-only (`infer`) and pipeline (`infer` plus the
host work that ends in a full-size class map, what an application pays). Latencies are comparable
only within one such run, so they are never reused: every run times every candidate together and
records the load average beside the figures. Accuracy is bench/accuracy.py `evaluate` over the val
set with FP32 on ONNX Runtime as reference (drop, per-class drop, argmax agreement); it is
deterministic, so it is reused by key (artifact bytes, machine, runtime versions, threads, val set),
and a record is trusted only when it still names the artifact's sha256 and its digest matches.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import statistics
import time
from dataclasses import dataclass, replace
from pathlib import Path

from edgeseg.artifacts import sha256_file, versions, write_json
from edgeseg.bench.accuracy import evaluate, to_labels
from edgeseg.bench.speed import input_batch, time_runner
from edgeseg.platform import hardware
from edgeseg.runtime import open_runner
from edgeseg.runtime.choice import RunnerRequest, runner_for
from edgeseg.tune.gpu import runner_options
from edgeseg.tune.throughput import throughput

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Protocol:
    rounds: int = 10
    iters: int = 10  # timed inferences per runner per round
    warmup: int = 5

    def to_dict(self) -> dict:
        return {"rounds": self.rounds, "iters": self.iters, "warmup": self.warmup}


def machine(threads: int) -> dict:
    """The machine a figure belongs to: CPU model, ISA flags, threads, runtime versions."""
    import platform


    flags = hardware.this_cpu_flags()
    cpuinfo = hardware.CPUINFO.read_text(errors="replace") if hardware.CPUINFO.exists() else ""
    found = {"cpu": hardware.cpu_model(cpuinfo), "arch": platform.machine(), "isa": list(hardware.isa_summary(flags)),
             "flags": list(flags), "threads": threads,
             "versions": versions("onnxruntime", "openvino", "nncf", "numpy", "torch", "tensorrt")}
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA")
    if cap:  # oneDNN (OpenVINO's CPU plugin) runs a lesser CPU's code paths: another machine, as far as figures go
        found["isa_cap"] = f"ONEDNN_MAX_CPU_ISA={cap} (emulated on this CPU)"
    return found


def artifact_sha(path) -> str:
    """The bytes that run: an IR is its .xml and .bin together."""
    path = Path(path)
    if path.suffix == ".xml":
        return hashlib.sha256((sha256_file(path) + sha256_file(path.with_suffix(".bin"))).encode()).hexdigest()
    return sha256_file(path)


def val_id(ds) -> str:
    """The val set by content (images and labels), so a changed image is a new set."""
    h = hashlib.sha256(f"{ds.info.name}:{len(ds)}".encode())
    for s in ds.samples:
        h.update(sha256_file(s.image).encode())
        h.update(sha256_file(s.label).encode() if s.label else b"-")
    return h.hexdigest()


def key(sha: str, cand, mach: dict, val: str, size) -> str:
    """Everything an accuracy figure depends on (`sha`: artifact_sha of the file that runs)."""
    what = {"artifact": sha, "backend": cand.backend, "hint": cand.hint, "precision": cand.precision,
            "torch": cand.torch_mode, "cpu": mach["cpu"],
            "flags": mach["flags"], "isa_cap": mach.get("isa_cap"), "threads": cand.threads or mach["threads"],
            "versions": mach["versions"], "val": val, "size": list(size)}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()


def _digest(k: str, sha: str, figures: dict) -> str:
    return hashlib.sha256(json.dumps([k, sha, figures], sort_keys=True).encode()).hexdigest()


class Cache:
    """Accuracy figures on disk, by key, each bound to its artifact's sha256 and a digest of the
    figures: an edited, foreign or malformed record is measured again, never trusted."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.data: dict = {}
        if self.path.is_file():
            try:
                data = json.loads(self.path.read_bytes().decode("utf-8"))
                if not isinstance(data, dict):
                    raise ValueError(f"a JSON {type(data).__name__}, not an object")
                self.data = data
            except (OSError, ValueError) as exc:
                log.warning("%s is not a measurement record (%s): measuring again", self.path, str(exc)[:120])

    def get(self, k: str, sha: str) -> dict | None:
        rec = self.data.get(k)
        if rec is None:
            return None
        ok = (isinstance(rec, dict) and rec.get("artifact_sha256") == sha and isinstance(rec.get("figures"), dict)
              and rec.get("digest") == _digest(k, sha, rec["figures"]))
        if not ok:
            log.warning("measurement record %s… does not match its artifact or was edited: measuring again", k[:12])
            return None
        return rec["figures"]

    def put(self, k: str, sha: str, figures: dict) -> None:
        self.data[k] = {"artifact_sha256": sha, "figures": figures, "digest": _digest(k, sha, figures)}
        write_json(self.path, self.data)


def load() -> list[float]:
    """The 1-, 5- and 15-minute load averages: recorded beside every timing, which they colour."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:  # no load average on this platform
        return []


def open_runners(items, threads: int, size=None, dataset: str | None = None):
    """(candidate, path) pairs -> activated runners, each on its candidate's backend (a checkpoint on
    the torch runner at `size`)."""
    runners = []
    try:
        for cand, path in items:
            backend = cand.backend if Path(path).suffix == ".onnx" else None
            request = RunnerRequest(backend=backend, threads=getattr(cand, "threads", None) or threads,
                                    input_size=tuple(size) if size else None, dataset=dataset)
            backend, options = runner_for(path, request)
            extra = runner_options(cand)  # the candidate's own: its torch device, autocast, compile mode
            if cand.backend == "openvino":
                extra["precision_hint"] = cand.hint or "f32"
                extra["streams"] = getattr(cand, "streams", None)  # the throughput objective's axis
            runners.append(open_runner(path, backend, replace(options, **extra)).activate())
    except BaseException:
        close(runners)
        raise
    return runners


def close(runners) -> None:
    for r in runners:
        r.deactivate()


def latency(runners, size, protocol: Protocol, frame=None) -> list[dict]:
    """Interleaved rounds over all runners. Each timed run is `infer` (model-only) then the host's
    class map at `frame` size (default `size`) as eval and predict make it (pipeline = both), so the
    two figures come from the same runs. Per runner: the median of round medians of each, the
    spread of the model figure, and the load average before and after the rounds."""
    frame = tuple(frame or size)
    batches = [input_batch(r.io_spec, own_size(r.io_spec, size), 1) for r in runners]
    before = load()
    threads = [time_runner(r, b, warmup=protocol.warmup, iters=1).get("cpu_threads") for r, b in zip(runners, batches)]
    model: list[list[float]] = [[] for _ in runners]
    pipe: list[list[float]] = [[] for _ in runners]
    for _ in range(protocol.rounds):
        for i, (r, b) in enumerate(zip(runners, batches)):
            m, p = timed_runs(r, b, frame, protocol.iters)
            model[i].append(m)
            pipe[i].append(p)
    after = load()
    return [{"median_ms": round(statistics.median(m), 3), "min_round_ms": round(min(m), 3),
             "max_round_ms": round(max(m), 3), "pipeline_ms": round(statistics.median(p), 3),
             "cpu_threads": t, "load": {"before": before, "after": after}}
            for m, p, t in zip(model, pipe, threads)]


def throughputs(runners, size, protocol: Protocol) -> list[float]:
    """Frames/s of each runner with its requests in flight, class maps at `size` (throughput.py)."""
    batches = [input_batch(r.io_spec, own_size(r.io_spec, size), 1) for r in runners]
    return throughput(runners, batches, tuple(size), protocol)


def own_size(spec, size) -> tuple[int, int]:
    """The input (H, W) a runner declares (candidates at other --input-sizes), else `size`."""
    shape = list(spec.input_shape or ())
    if len(shape) == 4:
        dims = shape[1:3] if spec.input_layout == "NHWC" else shape[2:4]
        if all(isinstance(d, int) and d > 0 for d in dims):
            return tuple(dims)
    return tuple(size)


def timed_runs(runner, batch, frame, iters: int) -> tuple[float, float]:
    """(median ms of `infer`, median ms of `infer` + class map at `frame`) over `iters` runs after one
    untimed run; the garbage collector off while timing, as bench/speed.py does."""
    import gc

    to_labels(runner.infer(batch)[0], frame)
    model, pipe = [], []
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(iters):
            t0 = time.perf_counter_ns()
            out = runner.infer(batch)
            t1 = time.perf_counter_ns()
            to_labels(out[0], frame)
            t2 = time.perf_counter_ns()
            model.append((t1 - t0) / 1e6)
            pipe.append((t2 - t0) / 1e6)
    finally:
        if enabled:
            gc.enable()
    return statistics.median(model), statistics.median(pipe)


def accuracy(runners, ds) -> list[dict]:
    """mIoU of every runner on `ds`; the first is the FP32 reference for drop, worst single-class
    drop and agreement."""
    report = evaluate(runners, ds).to_dict()
    ref = report["artifacts"][0]["per_class_iou"]
    return [{"miou": a["miou"], "miou_drop": 0.0 if i == 0 else a["miou_drop"],
             "class_drop": 0.0 if i == 0 else worst_class_drop(ref, a["per_class_iou"]),
             "agreement": 100.0 if i == 0 else a["agreement"], "pixel_acc": a["pixel_acc"],
             "per_class_iou": a["per_class_iou"]}
            for i, a in enumerate(report["artifacts"])]


def worst_class_drop(ref: dict, got: dict) -> float | None:
    """(class, IoU points lost) of the class that lost most against the reference."""
    drops = [ref[c] - got[c] for c in ref if ref[c] is not None and got.get(c) is not None]
    return round(max(drops), 4) if drops else None
