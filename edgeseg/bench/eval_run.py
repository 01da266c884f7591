"""`edgeseg eval` from start to end: the request checked before any model loads, the artifacts
opened and checked against the dataset, evaluated here or by a sharded evaluator (Ray)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

from edgeseg.bench.accuracy import RESIZE_MODES, check_classes, evaluate
from edgeseg.data.contract import DatasetInfo
from edgeseg.data.datasets import open_dataset, val_split
from edgeseg.data.images import read_image
from edgeseg.errors import OptionError
from edgeseg.errors import field as f
from edgeseg.progress import silent
from edgeseg.runtime import open_runner
from edgeseg.runtime.choice import RunnerRequest, class_map_fits, runner_for

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class EvalRequest:
    val: str  # the scored dataset: ROOT[:SPLIT] or a list file (data.datasets.val_split)
    dataset: str = "camvid"  # camvid | cityscapes | folder
    limit: int | None = None
    batch: int = 1
    resize: str = "logits"
    provider: str = "cpu"
    backend: str | None = None
    threads: int | None = None
    input_size: tuple[int, int] | None = None  # for checkpoints
    variant: str | None = None
    mixed_sizes: bool = False  # compare artifacts that run at different input sizes (a warning, a size column)

    def runner_request(self) -> RunnerRequest:
        """What every artifact is asked (edgeseg.runtime.choice.runner_for: each one's backend and options)."""
        return RunnerRequest(backend=self.backend, provider=self.provider, threads=self.threads, variant=self.variant,
                             input_size=self.input_size, dataset=None if self.dataset == "folder" else self.dataset)


def check_request(req: EvalRequest) -> None:
    """Refused before any model is loaded."""
    if not req.val:
        raise OptionError(f"give the labelled dataset to score: {f('val')} ROOT[:SPLIT] or a list file")
    if req.resize not in RESIZE_MODES:
        raise OptionError(f"{f('resize')} must be one of {', '.join(RESIZE_MODES)}, got {req.resize!r}")
    if req.batch < 1:
        raise OptionError(f"{f('batch')} must be at least 1, got {req.batch}")
    if req.limit is not None and req.limit < 1:
        raise OptionError(f"{f('limit')} must be at least 1, got {req.limit}")


def _root_split(req: EvalRequest) -> tuple[str, str, str | None]:
    root, split = val_split(req.val)
    return root, req.dataset, split


def run_eval(artifacts: list[str], req: EvalRequest, progress=silent, sharded=None) -> dict:
    """The evaluation report of `artifacts` (the first is the reference). Every artifact is opened
    here first (a wrong file stops the run); `sharded(artifacts, runner_request, dataset, resize,
    batch, progress)` evaluates elsewhere (e.g. fleet.shard.ray_evaluator) instead of here.

    Where the split's images are each model's input size (a named dataset, resized logits), the
    runtime makes the class maps (runtime/class_map.py): the same maps, less host work."""
    info = DatasetInfo.named(req.dataset) if req.dataset != "folder" else None
    opts = req.runner_request()
    runners = [open_runner(a, *runner_for(a, opts)) for a in artifacts]  # a wrong file stops here
    ds = size = None
    if info is not None:
        check_classes(runners, info)  # from the files' metadata, before the dataset is read
        ds = open_dataset(*_root_split(req), req.limit, info)
        size = read_image(ds.samples[0].image).shape[:2] if ds.samples and req.resize == "logits" else None
    if size is not None:  # not yet activated: opened again, at no cost, where the runtime's class maps fit
        runners = [open_runner(a, *runner_for(a, replace(opts, class_map=class_map_fits(a, size, opts))))
                   for a in artifacts]
    try:
        for r in runners:
            r.activate()
        if info is None:
            if not runners[0].metadata.get("dataset"):
                raise OptionError(f"{artifacts[0]}: no dataset in its metadata; name one with {f('dataset')} "
                                  "camvid|cityscapes")
            info = DatasetInfo.from_dict(runners[0].metadata.get("dataset"))
        check_classes(runners, info)
        ds = ds or open_dataset(*_root_split(req), req.limit, info)
        native = read_image(ds.samples[0].image).shape[:2]  # what "at the image's size" means here
        sizes = check_sizes(artifacts, [run_size(r) or tuple(native) for r in runners], req.mixed_sizes)
        with progress(len(ds), "evaluating") as step:
            if sharded is not None:  # the runners above checked every artifact here; workers open their own copies
                result = sharded(artifacts, opts, ds, req.resize, req.batch, step)
            else:
                result = evaluate(runners, ds, resize=req.resize, batch=req.batch, progress=step)
    finally:
        for r in runners:
            r.deactivate()
    report = result.to_dict()
    for row, size in zip(report["artifacts"], sizes):
        row["input_size"] = list(size) if size else None
    return report


def run_size(runner) -> tuple[int, int] | None:
    """The size `runner` runs images at: its contract's, else its fixed input shape; None: each image's own."""
    meta = runner.metadata
    size = (meta.get("preprocess") or {}).get("input_size")
    if size:
        return tuple(size)
    shape = tuple(runner.io_spec.input_shape or ())
    dims = shape[1:3] if meta.get("embedded_preprocess") else shape[2:4]
    return tuple(dims) if len(dims) == 2 and all(isinstance(d, int) and d > 0 for d in dims) else None


def size_text(size) -> str:
    return f"{size[0]}x{size[1]}"


def check_sizes(artifacts, sizes: list, mixed: bool) -> list:
    """Artifacts at different input sizes differ by the size alone (a checkpoint at the images'
    180x240 against its own ONNX at 360x480 'drops' a point): refused unless `mixed`, then a warning."""
    if len(set(sizes)) > 1:
        each = ", ".join(f"{Path(a).name}: {size_text(s)}" for a, s in zip(artifacts, sizes))
        if not mixed:
            raise OptionError(f"the artifacts run at different input sizes ({each}), so a drop would come from the "
                              f"size alone; give {f('input_size')} HxW (checkpoints run at it) to match them, or "
                              f"{f('mixed_sizes')} to compare anyway")
        log.warning("comparing artifacts at different input sizes (%s): part of each drop is the size", each)
    return sizes
