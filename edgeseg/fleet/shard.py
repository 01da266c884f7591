"""Sharded evaluation: the image list split across Ray workers, their confusion matrices summed.

A confusion matrix is a sum over pixels, so the sum of the shards' matrices is exactly the
matrix of one pass over all images (as are the agreement counts); each worker runs the same
`evaluate` on its shard as a single machine runs on the whole split.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from contextlib import ExitStack, nullcontext
from dataclasses import replace
from pathlib import Path

import numpy as np

import edgeseg
from edgeseg.bench.accuracy import ArtifactScore, EvalResult, evaluate
from edgeseg.data.metrics import ConfusionMatrix
from edgeseg.errors import EdgesegError, OptionError, field
from edgeseg.fleet.cluster import connected, preflight
from edgeseg.fleet.packing import pack_file, pack_samples, unpack_dataset
from edgeseg.fleet.tasks import check_version, gather
from edgeseg.platform.hardware import logical_cpus
from edgeseg.quant.sensitivity import Validation, run
from edgeseg.runtime import open_runner
from edgeseg.runtime.choice import RunnerRequest, runner_for

logger = logging.getLogger(__name__)
DEFAULT_TIMEOUT_S = 3600.0
RETRIES = 2  # a shard whose worker dies is run again (elsewhere when its node is gone)


def shard_bounds(n: int, shards: int) -> list[tuple[int, int]]:
    """Contiguous, balanced [start, stop) ranges; never an empty one."""
    shards = max(1, min(shards, n))
    edges = np.linspace(0, n, shards + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def score_shard(head_version: str, artifacts: list, request: RunnerRequest, info, split: str, lut, packed: list,
                resize: str, batch: int) -> dict:
    """On a worker: write the artifacts and images of one shard locally, evaluate, return the counts
    (and where the time went: setup = files written and models loaded)."""
    import socket
    import time


    check_version(head_version)
    t0 = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="edgeseg-shard-"))
    runners = []
    try:
        paths = [a.write(work / f"artifact{i}") for i, a in enumerate(artifacts)]
        ds = unpack_dataset(packed, info, split, lut, work / "data")
        for p in paths:
            runners.append(open_runner(p, *runner_for(p, request)).activate())
        t1 = time.perf_counter()
        result = evaluate(runners, ds, resize=resize, batch=batch, shard=True)
        t2 = time.perf_counter()
    finally:
        for r in runners:
            r.deactivate()
        shutil.rmtree(work, ignore_errors=True)
    scores = [{"confusion": s.confusion.matrix, "agree": s.agree, "compared": s.compared, "seconds": s.seconds,
               "backend": s.backend, "precision": s.precision} for s in result.scores]
    return {"scores": scores, "host": socket.gethostname(), "images": len(ds), "setup_s": round(t1 - t0, 3),
            "eval_s": round(t2 - t1, 3)}


def check_shardable(artifacts: list[str], provider: str) -> None:
    """Shards run on whichever workers' CPUs are free: no engines, no GPU providers."""
    for a in artifacts:
        if Path(a).suffix.lower() in (".engine", ".plan"):
            raise EdgesegError(f"{Path(a).name}: an engine runs only on the GPU it was built for, not on Ray "
                               "workers: evaluate it there, or with `edgeseg fleet bench --val` on its target")
    if provider != "cpu":
        raise OptionError(f"{field('ray')} shards run on the workers' CPUs: use {field('provider')} cpu (not {provider})")


def default_workers(ray, threads: int) -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1) // max(1, threads)))


def evaluate_sharded(artifacts: list[str], request: RunnerRequest, dataset, *, address: str, workers: int | None = None,
                     resize: str = "logits", batch: int = 1, timeout: float | None = DEFAULT_TIMEOUT_S,
                     progress=None, shard_stats: list | None = None):
    """`evaluate` over Ray: same EvalResult, counts summed over shards; any failed shard fails the run.

    `request` is what every runner is asked (edgeseg.runtime.choice; threads default to 1 per worker); `progress(n)` is called
    with the image count of each finished shard; `shard_stats` receives each shard's host and
    setup/evaluation seconds.
    """
    if workers is not None and workers < 1:
        raise OptionError(f"{field('workers')} must be at least 1, got {workers}")
    check_shardable(artifacts, request.provider or "cpu")
    threads = request.threads or 1
    request = replace(request, threads=threads)
    if address == "local" and workers and workers * threads > logical_cpus():
        capped = max(1, logical_cpus() // threads)
        logger.warning("%d workers x %d threads on a %d-CPU machine: running %d (each worker holds its own copy "
                       "of the models; more than the CPUs only costs memory)", workers, threads, logical_cpus(), capped)
        workers = capped
    cpus = (workers or max(1, logical_cpus() // threads)) * threads if address == "local" else None
    with connected(address, cpus=cpus) as ray:
        bounds = shard_bounds(len(dataset), workers or default_workers(ray, threads))
        logger.info("evaluating %d images in %d shards on %s", len(dataset), len(bounds), address)
        done = _run_shards(ray, artifacts, request, dataset, bounds, (resize, batch), timeout, progress)
    failed = {i: r for i, (ok, r) in done.items() if not ok}
    if failed:
        i, reason = min(failed.items())
        raise EdgesegError(f"shard {i + 1}/{len(bounds)} (images {bounds[i][0] + 1}-{bounds[i][1]}) failed: {reason}")
    results = [done[i][1] for i in range(len(bounds))]
    for i, r in enumerate(results):
        stats = {k: v for k, v in r.items() if k != "scores"}
        logger.info("shard %d on %s: %d images, setup %.2f s, evaluation %.2f s", i + 1, stats["host"],
                    stats["images"], stats["setup_s"], stats["eval_s"])
        if shard_stats is not None:
            shard_stats.append(stats)
    info = dataset.info
    scores = [_summed(path, [r["scores"][k] for r in results], info) for k, path in enumerate(artifacts)]
    return EvalResult(info.name, dataset.split, len(dataset), resize, scores, info.classes, batch).check_measured()


def _run_shards(ray, artifacts, request, dataset, bounds, how, timeout, progress) -> dict:
    """One task per shard: the artifacts put in the object store once, each shard's files once."""
    remote = ray.remote(num_cpus=request.threads, max_retries=RETRIES, retry_exceptions=False,
                        scheduling_strategy="SPREAD")(score_shard)
    shared = ray.put([pack_file(a) for a in artifacts])
    pending = {i: remote.remote(edgeseg.__version__, shared, request, dataset.info, dataset.split, dataset.lut,
                                ray.put(pack_samples(dataset.samples[a:b])), *how)
               for i, (a, b) in enumerate(bounds)}
    return gather(ray, pending, timeout,
                  on_done=lambda i, ok, _: progress(bounds[i][1] - bounds[i][0]) if progress and ok else None)


def _summed(path: str, parts: list[dict], info):
    """One artifact's score from its shards' counts: integer sums, so exactly a one-pass result."""
    cm = ConfusionMatrix(info.num_classes, info.ignore_index)
    cm.matrix = np.sum([p["confusion"] for p in parts], axis=0).astype(np.int64)
    return ArtifactScore(path, parts[0]["backend"], parts[0]["precision"], cm, sum(p["agree"] for p in parts),
                         sum(p["compared"] for p in parts), sum(p["seconds"] for p in parts))


def score_validation(head_version: str, model_bytes: bytes, batches: list, labels: list, num_classes: int,
                     ignore_index: int) -> np.ndarray:
    """On a worker: the confusion matrix of one ONNX candidate on one shard of validation inputs."""
    import onnx


    check_version(head_version)
    val = Validation(list(batches), list(labels), num_classes, ignore_index)
    return val.confusion(run(onnx.load_model_from_string(model_bytes), val.batches)).matrix


class ShardedScore:
    """`score(model, val) -> mIoU` summed from Ray workers' confusion matrices: the INT8 fallback's
    candidate evaluations (edgeseg.quant.sensitivity.Score). Connects on first use and leaves the
    cluster on `close()` (or the end of a `with` block); each validation set is put in the object
    store once, each candidate once."""

    def __init__(self, address: str, workers: int | None = None, timeout: float | None = DEFAULT_TIMEOUT_S):
        self.address, self.workers, self.timeout = address, workers, timeout
        self._stack = ExitStack()
        self._ray = None
        self._shards: dict[int, tuple] = {}  # id(val) -> (val, [(batches ref, labels ref), ...])

    def __enter__(self) -> "ShardedScore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._shards.clear()
        self._ray = None
        self._stack.close()

    def _shards_of(self, val) -> list:
        if self._ray is None:
            cpus = (self.workers or 2) if self.address == "local" else None
            self._ray = self._stack.enter_context(connected(self.address, cpus=cpus))
        if id(val) not in self._shards:
            ray = self._ray
            bounds = shard_bounds(len(val.batches), self.workers or default_workers(ray, 1))
            logger.info("INT8 fallback: evaluations in %d shards on %s", len(bounds), self.address)
            self._shards[id(val)] = (val, [(ray.put(val.batches[a:b]), ray.put(val.labels[a:b])) for a, b in bounds])
        return self._shards[id(val)][1]

    def __call__(self, model, val) -> float:
        return self.confusion(model, val).miou()

    def confusion(self, model, val) -> ConfusionMatrix:
        """The summed confusion matrix (what the fallback's class budget reads per-class IoU from)."""
        shards = self._shards_of(val)
        ray = self._ray
        remote = ray.remote(num_cpus=1, max_retries=RETRIES, retry_exceptions=False,
                            scheduling_strategy="SPREAD")(score_validation)
        blob = ray.put(model.SerializeToString())
        pending = {i: remote.remote(edgeseg.__version__, blob, xs, ys, val.num_classes, val.ignore_index)
                   for i, (xs, ys) in enumerate(shards)}
        done = gather(ray, pending, self.timeout)
        bad = sorted((i, r) for i, (ok, r) in done.items() if not ok)
        if bad:
            raise EdgesegError(f"fallback evaluation shard {bad[0][0] + 1}/{len(shards)} failed: {bad[0][1]}")
        cm = ConfusionMatrix(val.num_classes, val.ignore_index)
        cm.matrix = np.sum([done[i][1] for i in range(len(shards))], axis=0).astype(np.int64)
        return cm


def fallback_scorer(address: str | None, workers: int | None = None):
    """A context giving the INT8/FP8 fallback's `score` for `run_export(score=...)`: candidates
    evaluated on the Ray cluster at `address` (None: no cluster, evaluated in the export's own process)."""
    return ShardedScore(address, workers) if address else nullcontext()


def ray_evaluator(address: str, artifacts: list[str], provider: str, workers: int | None = None,
                  timeout: float | None = DEFAULT_TIMEOUT_S):
    """`bench.eval_run.run_eval`'s `sharded` for a Ray cluster, after the checks that cost nothing
    (shardable artifacts, Ray importable, head answering)."""
    check_shardable(artifacts, provider)
    preflight(address)

    def sharded(paths, request, dataset, resize, batch, progress):
        return evaluate_sharded(paths, request, dataset, address=address, workers=workers, resize=resize,
                                batch=batch, timeout=timeout, progress=progress)

    return sharded
