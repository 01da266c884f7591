"""The export pipeline: a list of stages passing artifacts on disk, each verified against its parent.

checkpoint -> deploy model (BN folded) -> raw ONNX -> simplified FP32 ONNX -> FP16 / INT8 / FP8
ONNX -> [pre/post-processing in graph] -> [TensorRT engine]. Each stage is an object
(export/stage.py: key, preflight, build, verify, files); `stages_for` only names them, `plan`
runs every stage's preflight before the first runs. A stage whose files are complete and keyed
the same (parent hash + stage options + edgeseg version) is reused, not rebuilt. One export at a
time writes to a work directory (a lock), and temporaries of killed runs there are swept.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeseg.artifacts import sha256_file
from edgeseg.data.calibset import load_calibset
from edgeseg.data.contract import DatasetInfo, Preprocess
from edgeseg.errors import EdgesegError, OptionError
from edgeseg.errors import field as f
from edgeseg.export.deepstream import write_nvinfer_config
from edgeseg.export.deploy import Deploy, run_torch
from edgeseg.export.engine_stage import Engine
from edgeseg.export.quantized_stage import Fp8, Int8
from edgeseg.export.naming import export_stem, path_for
from edgeseg.export.options import ExportOptions, prepared
from edgeseg.export.preflight import preflight
from edgeseg.export.samples import batches, image_paths, read_images, synthetic_images
from edgeseg.export.stage import Stage, StageResult, run_stage
from edgeseg.export.onnx_stages import Fp16, IoWrap, RawOnnx, Simplified, run_onnx, verify_onnx  # noqa: F401 (public)
from edgeseg.models import checkpoint
from edgeseg.workdir import locked, sweep_stale

__all__ = ["Context", "ExportResult", "StageResult", "plan", "run_export", "run_onnx", "run_torch", "stages_for",
           "verify_onnx"]


@dataclass
class ExportResult:
    stages: list[StageResult]
    final: Path
    deepstream: Path | None = None  # the nvinfer config written for `final` (options.deepstream)

    def to_dict(self) -> dict:
        return {"final": str(self.final), "stages": [s.to_dict() for s in self.stages],
                **({"deepstream": str(self.deepstream)} if self.deepstream else {})}


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
    model: object = None  # the checkpoint's model (the deploy stage's source)
    score: object = None  # edgeseg.quant.sensitivity.Score for the INT8/FP8 fallback's candidates (default: here)

    def batches(self, size, uint8: bool = False) -> list[np.ndarray]:
        if self.arrays is not None:
            if uint8 or tuple(self.arrays.shape[2:]) != tuple(size):
                raise OptionError(f"{f('verify.samples')} .npy holds inputs of size {self.arrays.shape[2:]}; "
                                  f"this stage needs {'uint8 images' if uint8 else size}: give images instead")
            return [a[None].astype(np.float32) for a in self.arrays]
        return batches(self.preprocess, self.images, size, uint8)


def _context(ckpt_path, out_dir, options: ExportOptions, progress=None, score=None) -> Context:
    c = options.contract
    model, ckpt = checkpoint.load_model(ckpt_path, c.variant)
    dataset = DatasetInfo.named(c.dataset) if c.dataset else DatasetInfo.for_classes(ckpt.arch.classes)
    if dataset.num_classes != ckpt.arch.classes:
        raise OptionError(f"{f('contract.dataset')} {dataset.name} has {dataset.num_classes} classes; the checkpoint "
                          f"has {ckpt.arch.classes}")
    size = tuple(c.input_size or dataset.input_size)
    base = Preprocess.official(dataset, size)
    preprocess = Preprocess(mean_bgr=c.mean_bgr or base.mean_bgr, std_bgr=c.std_bgr,
                            channel_order=c.channel_order or base.channel_order,
                            input_size=None if c.dynamic else size)
    sizes = list(c.verify_sizes) if c.dynamic and c.verify_sizes else [size]
    images, arrays = _verification_inputs(options, size)
    # a variant never takes the official file's name
    stem = export_stem(ckpt.arch.variant, size, c.dynamic, options.onnx, preprocess, base)
    return Context(Path(ckpt_path), sha256_file(ckpt_path), ckpt.arch, dataset, preprocess, options,
                   Path(out_dir), stem, images, sizes, arrays, progress, model, score)


def _verification_inputs(options: ExportOptions, size) -> tuple[list, np.ndarray | None]:
    """(BGR images, preprocessed arrays or None) every stage is verified on."""
    v, q = options.verify, options.quant
    if v.samples and v.samples.endswith(".npy"):
        return [], _load_arrays(v.samples, v.num_samples)
    if v.samples:
        return read_images(image_paths(v.samples, v.num_samples)), None
    if options.quantized and q.calib:
        # INT8 ranges fit real images; synthetic ones would be clipped and misjudge the model.

        return read_images(load_calibset(q.calib, q.calib_data, v.num_samples).paths), None
    return synthetic_images(v.num_samples, size), None


def _load_arrays(path: str, limit: int) -> np.ndarray:
    try:
        arrays = np.load(path)
    except (OSError, ValueError) as exc:
        raise EdgesegError(f"samples: cannot read {path} ({exc})") from None
    if arrays.ndim != 4 or arrays.shape[1] != 3:
        raise EdgesegError(f"samples: {path} must hold preprocessed inputs N x 3 x H x W, got {arrays.shape}")
    return arrays[:limit]


def stages_for(ctx: Context) -> list[Stage]:
    """The stages up to `options.precision` / `options.format`, each the parent of the next.
    Naming them reads nothing; `plan` runs their preflights."""
    o, here = ctx.options, {"out_dir": ctx.out_dir, "stem": ctx.stem}
    stages: list[Stage] = [Deploy(path_for("deploy", **here), ctx.model)]
    stages.append(RawOnnx(path_for("raw", **here), stages[-1]))
    stages.append(Simplified(path_for("simplified", **here), stages[-1]))
    if o.precision == "fp16":
        stages.append(Fp16(path_for("fp16", **here, fp16_io=o.contract.fp16_io), stages[-1]))
    elif o.quantized:
        stages.append({"int8": Int8, "fp8": Fp8}[o.precision](ctx, stages[-1]))
    if o.contract.embed_preprocess or o.contract.argmax:
        stages.append(IoWrap(stages[-1], o.contract))
    if o.format == "engine":
        stages.append(Engine(stages[-1], o.engine))
    return stages


def plan(ctx: Context) -> list[Stage]:
    """`stages_for`, with every stage's preflight run (calibration set read, TensorRT and the GPU
    found) before any stage runs: what cannot work is refused before minutes of work."""
    stages = stages_for(ctx)
    for stage in stages:
        stage.preflight(ctx)
    return stages


def run_export(ckpt_path, out_dir, options: ExportOptions, *, progress=None, score=None) -> ExportResult:
    """Run the chain up to `options.precision` / `options.format`; returns every stage's result.

    `progress`: an edgeseg.progress factory (the CLI's draws a bar); `score(model, val) -> mIoU`:
    how the INT8/FP8 fallback evaluates its candidates (default: here; the CLI passes Ray workers'
    for --ray, edgeseg.fleet.shard.fallback_scorer).
    """
    options = prepared(options)
    preflight(ckpt_path, out_dir, options)
    ctx = _context(ckpt_path, out_dir, options, progress, score)
    stages = plan(ctx)
    with locked(ctx.out_dir):
        sweep_stale(ctx.out_dir / ".calib-cache")
        result, outputs = stages[0].run(ctx)
        results = [result]
        for stage in stages[1:]:
            result, outputs = run_stage(ctx, stage, outputs)
            results.append(result)
        final = stages[-1].path
        return ExportResult(results, final, write_nvinfer_config(final) if options.deepstream else None)
