"""`edgeseg eval` from start to end: the request checked before any model loads, the artifacts
opened and checked against the dataset, evaluated here or by a sharded evaluator (Ray)."""

from __future__ import annotations

from dataclasses import dataclass

from edgeseg.bench.accuracy import RESIZE_MODES, check_classes, evaluate
from edgeseg.data.contract import DatasetInfo
from edgeseg.data.datasets import open_dataset
from edgeseg.errors import EdgesegError
from edgeseg.progress import silent
from edgeseg.runtime import open_runner


@dataclass(frozen=True, kw_only=True)
class EvalRequest:
    data: str
    dataset: str = "camvid"  # camvid | cityscapes | folder
    split: str = "val"
    limit: int | None = None
    batch: int = 1
    resize: str = "logits"
    provider: str = "cpu"
    backend: str | None = None
    threads: int | None = None
    input_size: tuple[int, int] | None = None  # for checkpoints
    variant: str | None = None

    def runner_options(self) -> dict:
        return {"provider": self.provider, "threads": self.threads, "variant": self.variant,
                "input_size": self.input_size, "dataset": None if self.dataset == "folder" else self.dataset}


def check_request(req: EvalRequest) -> None:
    """Refused before any model is loaded."""
    if req.resize not in RESIZE_MODES or req.batch < 1:
        raise EdgesegError(f"--resize must be one of {', '.join(RESIZE_MODES)} and --batch at least 1")
    if req.limit is not None and req.limit < 1:
        raise EdgesegError(f"--limit must be at least 1, got {req.limit}")


def run_eval(artifacts: list[str], req: EvalRequest, progress=silent, sharded=None) -> dict:
    """The evaluation report of `artifacts` (the first is the reference). Every artifact is opened
    here first (a wrong file stops the run); `sharded(artifacts, runner_options, dataset, resize,
    batch, progress)` evaluates elsewhere (e.g. fleet.shard.ray_evaluator) instead of here."""
    info = DatasetInfo.named(req.dataset) if req.dataset != "folder" else None
    opts = req.runner_options()
    runners = [open_runner(a, req.backend, **opts) for a in artifacts]
    try:
        for r in runners:
            r.activate()
        if info is None:
            if not runners[0].metadata.get("dataset"):
                raise EdgesegError(f"{artifacts[0]}: no dataset in its metadata; name one with --dataset camvid|cityscapes")
            info = DatasetInfo.from_dict(runners[0].metadata.get("dataset"))
        check_classes(runners, info)
        ds = open_dataset(req.data, req.dataset, req.split, req.limit, info)
        with progress(len(ds), "evaluating") as step:
            if sharded is not None:  # the runners above checked every artifact here; workers open their own copies
                result = sharded(artifacts, opts, ds, req.resize, req.batch, step)
            else:
                result = evaluate(runners, ds, resize=req.resize, batch=req.batch, progress=step)
    finally:
        for r in runners:
            r.deactivate()
    return result.to_dict()
