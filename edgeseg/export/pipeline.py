"""The export pipeline: a list of stages passing artifacts on disk, each verified against its parent.

checkpoint -> deploy model (BN folded) -> raw ONNX -> simplified FP32 ONNX -> FP16 / INT8
ONNX -> [pre/post-processing in graph] -> [TensorRT engine]. Each stage is an object
(export/stage.py: key, build, verify, files); a stage whose files are complete and keyed the
same (parent hash + stage options + edgeseg version) is reused, not rebuilt. One export at a
time writes to a work directory (a lock), and temporaries of killed runs there are swept.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeseg.artifacts import atomic_path, sha256_file
from edgeseg.data.contract import DatasetInfo, Preprocess
from edgeseg.errors import EdgesegError
from edgeseg.export import parity
from edgeseg.export.options import ExportOptions
from edgeseg.export.stage import Hooks, Lazy, Stage, StageResult, run_stage
from edgeseg.export.stages import run_onnx, verify_onnx, worst  # noqa: F401  (public: tests, bench)

__all__ = ["Context", "ExportResult", "StageResult", "plan", "run_export", "run_onnx", "run_torch", "verify_onnx"]


@dataclass
class ExportResult:
    stages: list[StageResult]
    final: Path

    def to_dict(self) -> dict:
        return {"final": str(self.final), "stages": [s.to_dict() for s in self.stages]}


@dataclass
class Context:
    """What every stage needs: the source, the contract, and the verification inputs."""

    ckpt_path: Path
    ckpt_sha: str
    arch: object
    dataset: DatasetInfo
    preprocess: Preprocess
    options: ExportOptions
    out_dir: Path
    stem: str
    images: list  # BGR uint8 verification images
    sizes: list  # (H, W) verified
    arrays: np.ndarray | None = None  # preprocessed NCHW inputs given as .npy instead of images
    progress: object = None  # edgeseg.progress factory for long steps (calibration)
    score: object = None  # edgeseg.quant.sensitivity.Score for the INT8 fallback's candidates (default: here)

    def batches(self, size, uint8: bool = False) -> list[np.ndarray]:
        if self.arrays is not None:
            if uint8 or tuple(self.arrays.shape[2:]) != tuple(size):
                raise EdgesegError(f"--samples .npy holds inputs of size {self.arrays.shape[2:]}; this stage needs "
                                   f"{'uint8 images' if uint8 else size}: give images instead")
            return [a[None].astype(np.float32) for a in self.arrays]
        pre = Preprocess(**{**self.preprocess.__dict__, "input_size": size})
        if uint8:
            return [pre.resize(img)[None] for img in self.images]
        return [pre.apply(img)[None] for img in self.images]


def run_torch(model, batches: list[np.ndarray]) -> list[np.ndarray]:
    import torch

    with torch.no_grad():
        return [model(torch.from_numpy(b)).numpy() for b in batches]


def _context(ckpt_path, out_dir, options: ExportOptions, progress=None, score=None):
    from edgeseg.export.naming import contract_tag
    from edgeseg.export.samples import image_paths, read_images, synthetic_images
    from edgeseg.models.checkpoint import load_model

    model, ckpt = load_model(ckpt_path, options.variant)
    dataset = DatasetInfo.named(options.dataset) if options.dataset else DatasetInfo.for_classes(ckpt.arch.classes)
    if dataset.num_classes != ckpt.arch.classes:
        raise EdgesegError(f"--dataset {dataset.name} has {dataset.num_classes} classes; the checkpoint has {ckpt.arch.classes}")
    size = tuple(options.input_size or dataset.input_size)
    base = Preprocess.official(dataset, size)
    preprocess = Preprocess(mean_bgr=options.mean_bgr or base.mean_bgr, std_bgr=options.std_bgr,
                            channel_order=options.channel_order or base.channel_order,
                            input_size=None if options.dynamic else size)
    sizes = list(options.verify_sizes) if options.dynamic and options.verify_sizes else [size]
    arrays = None
    if options.samples and options.samples.endswith(".npy"):
        images, arrays = [], _load_arrays(options.samples, options.num_samples)
    elif options.samples:
        images = read_images(image_paths(options.samples, options.num_samples))
    elif options.precision in ("int8", "fp8") and options.quant.get("calib"):
        # INT8 ranges fit real images; synthetic ones would be clipped and misjudge the model.
        from edgeseg.data.calibset import load_calibset

        calib = load_calibset(options.quant["calib"], options.quant.get("data"), options.num_samples)
        images = read_images(calib.paths)
    else:
        images = synthetic_images(options.num_samples, size)
    stem = f"{ckpt.arch.variant}_" + ("dynamic" if options.dynamic else f"{size[0]}x{size[1]}")
    stem += contract_tag(options, preprocess, base)  # a variant never takes the official file's name
    ctx = Context(Path(ckpt_path), sha256_file(ckpt_path), ckpt.arch, dataset, preprocess, options,
                  Path(out_dir), stem, images, sizes, arrays, progress, score)
    return ctx, model


def _load_arrays(path: str, limit: int) -> np.ndarray:
    try:
        arrays = np.load(path)
    except (OSError, ValueError) as exc:
        raise EdgesegError(f"samples: cannot read {path} ({exc})") from None
    if arrays.ndim != 4 or arrays.shape[1] != 3:
        raise EdgesegError(f"samples: {path} must hold preprocessed inputs N x 3 x H x W, got {arrays.shape}")
    return arrays[:limit]


def _deploy_stage(ctx: Context, model):
    """Fold BN, drop dropout and auxiliary heads; verify against the checkpoint's model."""
    import copy

    t0 = time.perf_counter()
    reference = {s: run_torch(model, ctx.batches(s)) for s in ctx.sizes}
    deploy = copy.deepcopy(model).deploy().eval()
    outputs = {s: run_torch(deploy, ctx.batches(s)) for s in ctx.sizes}
    check = worst(parity.compare(reference[s], outputs[s], "deploy", *ctx.options.limits) for s in ctx.sizes)
    parity.require_ok(check, "deploy")
    path = None
    if ctx.options.save_deploy:
        import torch

        path = ctx.out_dir / f"{ctx.stem}.deploy.pt"
        with atomic_path(path) as tmp:
            torch.save({"arch": ctx.arch.to_dict(), "resnet34m": ctx.arch.resnet34m, "deploy_state_dict": deploy.state_dict()}, tmp)
    params = sum(p.numel() for p in deploy.parameters())
    result = StageResult("deploy", path, None, path.stat().st_size if path else None, check, False,
                         time.perf_counter() - t0, {"params": params})
    return result, deploy, outputs


def plan(ctx: Context) -> list[Stage]:
    """The stages up to `options.precision` / `options.format`, each the parent of the next.

    Built before any stage runs, so what a stage can check on its own (calibration set,
    TensorRT present) is refused before minutes of work.
    """
    from edgeseg.export.stages import Fp16, IoWrap, RawOnnx, Simplified

    o = ctx.options
    stages: list[Stage] = [RawOnnx(ctx.out_dir / f"{ctx.stem}.raw.onnx")]
    stages.append(Simplified(ctx.out_dir / f"{ctx.stem}.fp32.onnx", stages[-1]))
    if o.precision == "fp16":
        stages.append(Fp16(ctx.out_dir / f"{ctx.stem}.fp16{'-io16' if o.fp16_io else ''}.onnx", stages[-1]))
    elif o.precision in ("int8", "fp8"):
        from edgeseg.export.int8 import Int8

        stages.append(Int8(ctx, stages[-1]))
    if o.embed_preprocess or o.argmax:
        stages.append(IoWrap(IoWrap.path_for(stages[-1].path, o), stages[-1], ctx))
    if o.format == "engine":
        from edgeseg.export.engine_stage import Engine

        stages.append(Engine(ctx, stages[-1]))
    return stages


def run_export(ckpt_path, out_dir, options: ExportOptions, *, progress=None,
               hooks: Hooks | None = None, score=None) -> ExportResult:
    """Run the chain up to `options.precision` / `options.format`; returns every stage's result.

    `progress`: an edgeseg.progress factory (the CLI's draws a bar); `hooks`: extra checks and
    files per stage (default: export/hooks.py); `score(model, val) -> mIoU`: how the INT8
    fallback evaluates its candidates (default: here; the CLI passes Ray workers' for --ray).
    """
    from edgeseg.export.hooks import default_hooks
    from edgeseg.workdir import locked, sweep_stale

    ctx, model = _context(ckpt_path, out_dir, options, progress, score)
    hooks = default_hooks(options) if hooks is None else hooks
    stages = plan(ctx)
    with locked(ctx.out_dir):
        sweep_stale(ctx.out_dir / ".calib-cache")
        deploy_res, stages[0].deploy, deploy_out = _deploy_stage(ctx, model)
        results = [deploy_res]
        outputs = Lazy(None, deploy_out)
        for stage in stages:
            result, outputs = run_stage(ctx, stage, outputs, hooks)
            results.append(result)
    return ExportResult(results, stages[-1].path)
