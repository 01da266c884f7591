"""Latency and accuracy of each candidate, through the runtime and compiled model that will run it.

Latency is the bench protocol (bench/speed.py `time_runner`) in interleaved rounds, A B C A B C,
every runner loaded at once with the threads the user will run, so a load change on the machine
hits all candidates alike; the figure is the median of the rounds' medians. Accuracy is
bench/accuracy.py `evaluate` over the val set with FP32 on ONNX Runtime as reference (drop,
argmax agreement). Measurements are kept per (artifact bytes, machine, runtime versions,
threads, val set, protocol), so a re-run on the same machine measures only what is new.
"""

from __future__ import annotations

import hashlib
import json
import statistics
from dataclasses import dataclass
from pathlib import Path

from edgeseg.artifacts import sha256_file, versions, write_json
from edgeseg.bench.accuracy import evaluate
from edgeseg.bench.speed import input_batch, time_runner
from edgeseg.platform import hardware
from edgeseg.runtime import open_runner
from edgeseg.tune.gpu import runner_options


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
    return {"cpu": hardware.cpu_model(cpuinfo), "arch": platform.machine(), "isa": list(hardware.isa_summary(flags)),
            "flags": list(flags), "threads": threads,
            "versions": versions("onnxruntime", "openvino", "nncf", "numpy", "torch", "tensorrt")}


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


def key(path, cand, mach: dict, val: str, protocol: Protocol, size) -> str:
    """Everything a measurement depends on (the CPU's load aside)."""
    what = {"artifact": artifact_sha(path), "backend": cand.backend, "hint": cand.hint, "precision": cand.precision,
            "torch": cand.torch_mode, "cpu": mach["cpu"],
            "flags": mach["flags"], "threads": mach["threads"], "versions": mach["versions"], "val": val,
            "protocol": protocol.to_dict(), "size": list(size)}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()


class Cache:
    """Measurements on disk, by key; written after every measurement batch."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.data = json.loads(self.path.read_text()) if self.path.is_file() else {}

    def get(self, k: str) -> dict | None:
        return self.data.get(k)

    def put(self, k: str, value: dict) -> None:
        self.data[k] = value
        write_json(self.path, self.data)


def open_runners(items, threads: int, size=None, dataset: str | None = None):
    """(candidate, path) pairs -> activated runners, each on its candidate's backend (a checkpoint on
    the torch runner at `size`)."""
    runners = []
    try:
        for cand, path in items:
            options = {"threads": threads, **runner_options(cand)}
            if cand.backend == "torch":
                options.update(input_size=tuple(size), dataset=dataset)
            if cand.backend == "openvino":
                options["precision_hint"] = cand.hint or "f32"
            backend = cand.backend if Path(path).suffix == ".onnx" else None
            runners.append(open_runner(path, backend, **options).activate())
    except BaseException:
        close(runners)
        raise
    return runners


def close(runners) -> None:
    for r in runners:
        r.deactivate()


def latency(runners, size, protocol: Protocol) -> list[dict]:
    """Interleaved rounds over all runners; per runner the median of round medians and the spread."""
    batches = [input_batch(r.io_spec, tuple(size), 1) for r in runners]
    for r, b in zip(runners, batches):
        time_runner(r, b, warmup=protocol.warmup, iters=1)
    medians: list[list[float]] = [[] for _ in runners]
    threads = [None] * len(runners)
    for _ in range(protocol.rounds):
        for i, (r, b) in enumerate(zip(runners, batches)):
            res = time_runner(r, b, warmup=1, iters=protocol.iters)
            medians[i].append(res["end_to_end"]["median_ms"])
            threads[i] = res.get("cpu_threads")
    return [{"median_ms": round(statistics.median(m), 3), "min_round_ms": round(min(m), 3),
             "max_round_ms": round(max(m), 3), "cpu_threads": t} for m, t in zip(medians, threads)]


def accuracy(runners, ds) -> list[dict]:
    """mIoU of every runner on `ds`; the first is the FP32 reference for drop and agreement."""
    report = evaluate(runners, ds).to_dict()
    return [{"miou": a["miou"], "miou_drop": 0.0 if i == 0 else a["miou_drop"],
             "agreement": 100.0 if i == 0 else a["agreement"], "pixel_acc": a["pixel_acc"]}
            for i, a in enumerate(report["artifacts"])]
