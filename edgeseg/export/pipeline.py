"""The export pipeline: stages pass artifacts on disk, each verified against its parent.

checkpoint -> deploy model (BN folded) -> raw ONNX -> simplified FP32 ONNX -> FP16 / INT8
ONNX -> [pre/post-processing in graph] -> [TensorRT engine]. A stage whose output exists with
a matching key (parent hash + stage options + edgeseg version) is reused, not rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgeseg.artifacts import atomic_path, read_metadata, scratch_path, set_onnx_metadata, sha256_file, sidecar_path, versions, write_sidecar
from edgeseg.data.contract import DatasetInfo, Preprocess
from edgeseg.errors import EdgesegError
from edgeseg.export import metadata, parity
from edgeseg.export.options import ExportOptions


@dataclass
class StageResult:
    name: str
    path: Path | None
    nodes: int | None = None
    size_bytes: int | None = None
    check: parity.Parity | None = None
    reused: bool = False
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"stage": self.name, "path": str(self.path) if self.path else None, "nodes": self.nodes,
                "size_bytes": self.size_bytes, "verification": self.check.to_dict() if self.check else None,
                "reused": self.reused, "seconds": round(self.seconds, 3), **self.extra}


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
    log: object
    arrays: np.ndarray | None = None  # preprocessed NCHW inputs given as .npy instead of images

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


def _stage_key(parent_sha: str, opts: dict) -> str:
    import edgeseg

    blob = json.dumps({"parent": parent_sha, "options": opts, "edgeseg": edgeseg.__version__}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _reusable(path: Path, key: str) -> dict | None:
    """The sidecar of an up-to-date artifact, or None."""
    if not path.exists() or not sidecar_path(path).exists():
        return None
    meta = read_metadata(path)
    if meta.get("provenance", {}).get("stage_key") != key or meta.get("sha256") != sha256_file(path):
        return None
    return meta


def run_onnx(path: Path, batches: list[np.ndarray]) -> list[np.ndarray]:
    from edgeseg.runtime.onnx_runner import OrtRunner

    with OrtRunner(path, provider="cpu") as runner:
        return [runner.infer(b) for b in batches]


def run_torch(model, batches: list[np.ndarray]) -> list[np.ndarray]:
    import torch

    with torch.no_grad():
        return [model(torch.from_numpy(b)).numpy() for b in batches]


def verify_onnx(ctx: Context, path: Path, parents: dict, kind: str, uint8: bool = False):
    """Run `path` on every verified size, compare with the parent's outputs there."""
    outputs = {size: run_onnx(path, ctx.batches(size, uint8)) for size in ctx.sizes}
    checks = [parity.compare(parents[size], outputs[size], kind, *ctx.options.limits) for size in ctx.sizes]
    worst = min(checks, key=lambda c: (c.ok, c.agreement))
    if all(c.max_abs is not None for c in checks):
        worst = parity.Parity(max(c.max_abs for c in checks), float(np.mean([c.mean_abs for c in checks])),
                              min(c.agreement for c in checks), checks[0].max_abs_allowed, checks[0].min_agreement)
    return outputs, worst


def write_onnx_stage(ctx: Context, model_proto, path: Path, *, stage: str, precision: str, parent: dict,
                     key: str, opts: dict, check: parity.Parity | None) -> dict:
    """Write an ONNX artifact atomically with its metadata inside and in the sidecar."""
    import onnx

    meta = metadata.build(arch=ctx.arch, dataset=ctx.dataset, preprocess=ctx.preprocess, stage=stage,
                          precision=precision, io=metadata.onnx_io(model_proto), parent=parent, options=opts,
                          versions=versions("torch", "onnx", "onnxruntime", "onnxsim", "onnxslim"), stage_key=key,
                          verification=check.to_dict() if check else None)
    set_onnx_metadata(model_proto, meta)
    with atomic_path(path) as tmp:
        onnx.save(model_proto, str(tmp))
    meta["sha256"] = sha256_file(path)
    write_sidecar(path, meta)
    return meta


def _count_nodes(path: Path) -> int:
    import onnx

    return len(onnx.load(str(path), load_external_data=False).graph.node)


def _result(name, path, meta, seconds, reused, check=None, **extra) -> StageResult:
    if check is None and meta.get("verification"):
        v = meta["verification"]
        check = parity.Parity(v.get("max_abs"), v.get("mean_abs"), v["agreement"], v.get("max_abs_allowed"), v["min_agreement"])
    return StageResult(name, path, _count_nodes(path), path.stat().st_size, check, reused, seconds, extra)


def onnx_stage(ctx: Context, name: str, path: Path, parent_path: Path | None, parent_sha: str, opts: dict,
               make, parents: dict, kind: str, precision: str, uint8: bool = False):
    """Build (or reuse) one ONNX stage, verify it, and return (result, its outputs per size).

    The candidate is verified from a scratch file; only a verified model reaches `path`.
    """
    import onnx

    t0 = time.perf_counter()
    key = _stage_key(parent_sha, opts)
    meta = _reusable(path, key)
    parent = {"path": str(parent_path or ctx.ckpt_path), "sha256": parent_sha}
    if meta is not None:
        ctx.log(f"{name}: up to date, reusing {path.name}")
        outputs = {s: run_onnx(path, ctx.batches(s, uint8)) for s in ctx.sizes}
        return _result(name, path, meta, time.perf_counter() - t0, True), outputs
    ctx.log(f"{name}: building {path.name}")
    model_proto = make()
    with scratch_path(path.parent, ".onnx") as scratch:
        onnx.save(model_proto, str(scratch))
        outputs, check = verify_onnx(ctx, scratch, parents, kind, uint8)
    parity.require_ok(check, name)
    meta = write_onnx_stage(ctx, model_proto, path, stage=name, precision=precision, parent=parent,
                            key=key, opts=opts, check=check)
    return _result(name, path, meta, time.perf_counter() - t0, False, check), outputs


def _context(ckpt_path, out_dir, options: ExportOptions, log):
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
    ctx = Context(Path(ckpt_path), sha256_file(ckpt_path), ckpt.arch, dataset, preprocess, options,
                  Path(out_dir), stem, images, sizes, log, arrays)
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
    checks = [parity.compare(reference[s], outputs[s], "deploy", *ctx.options.limits) for s in ctx.sizes]
    check = max(checks, key=lambda c: c.max_abs)
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


def run_export(ckpt_path, out_dir, options: ExportOptions, log=lambda msg: None) -> ExportResult:
    """Run the chain up to `options.precision` / `options.format`; returns every stage's result."""
    from edgeseg.export import fp16, io_wrap, simplify
    from edgeseg.export.onnx_export import export_onnx

    ctx, model = _context(ckpt_path, out_dir, options, log)
    o = options
    deploy_res, deploy, deploy_out = _deploy_stage(ctx, model)
    stages = [deploy_res]

    raw_path = ctx.out_dir / f"{ctx.stem}.raw.onnx"

    def make_raw():
        import onnx

        with scratch_path(ctx.out_dir, ".onnx") as tmp:
            export_onnx(deploy, tmp, tuple(o.input_size or ctx.dataset.input_size),
                        dynamic=o.dynamic, opset=o.opset)
            return onnx.load(str(tmp))

    raw_opts = o.stage_options("variant", "input_size", "dynamic", "opset", "dataset", "mean_bgr", "std_bgr", "channel_order")
    res, raw_out = onnx_stage(ctx, "raw", raw_path, None, ctx.ckpt_sha, raw_opts, make_raw, deploy_out, "fp32", "fp32")
    stages.append(res)

    fp32_path = ctx.out_dir / f"{ctx.stem}.fp32.onnx"
    res, fp32_out = onnx_stage(ctx, "simplified", fp32_path, raw_path, sha256_file(raw_path),
                               o.stage_options("simplifier"), lambda: simplify.simplify(_load(raw_path), o.simplifier),
                               raw_out, "fp32", "fp32")
    stages.append(res)
    final, final_out, prec = fp32_path, fp32_out, "fp32"

    if o.precision == "fp16":
        path = ctx.out_dir / f"{ctx.stem}.fp16{'-io16' if o.fp16_io else ''}.onnx"
        res, final_out = onnx_stage(ctx, "fp16", path, fp32_path, sha256_file(fp32_path), o.stage_options("fp16_io"),
                                    lambda: fp16.to_fp16(_load(fp32_path), keep_io_float32=not o.fp16_io),
                                    fp32_out, "fp16", "fp16")
        stages.append(res)
        final, prec = path, "fp16"
    elif o.precision in ("int8", "fp8"):
        res = _int8_stage(ctx, fp32_path)
        stages.append(res)
        final, prec = res.path, o.precision
        final_out = {s: run_onnx(final, ctx.batches(s)) for s in ctx.sizes}

    if o.embed_preprocess or o.argmax:
        suffix = "-".join(([ "bgr8in"] if o.embed_preprocess else []) + ([f"labels-{o.argmax}"] if o.argmax else []))
        path = final.with_name(final.name.replace(".onnx", f".{suffix}.onnx"))

        def make_io():
            proto = _load(final)
            if o.embed_preprocess:
                io_wrap.embed_preprocess(proto, ctx.preprocess)
            if o.argmax:
                io_wrap.embed_argmax(proto, o.argmax)
            return proto

        kind = "labels" if o.argmax else prec
        res, _ = onnx_stage(ctx, "io", path, final, sha256_file(final), o.stage_options("embed_preprocess", "argmax"),
                            make_io, final_out, kind, prec, uint8=o.embed_preprocess)
        stages.append(res)
        final = path

    if o.format == "engine":
        stages.append(_engine_stage(ctx, final))
        final = stages[-1].path
    return ExportResult(stages, final)


def _load(path: Path):
    import onnx

    return onnx.load(str(path))


def _int8_stage(ctx: Context, fp32_path: Path) -> StageResult:
    from edgeseg.quant import run_int8_stage

    return run_int8_stage(ctx, fp32_path)


def _engine_stage(ctx: Context, onnx_path: Path) -> StageResult:
    from edgeseg.engine.builder import build_engine

    t0 = time.perf_counter()
    path = onnx_path.with_suffix(".engine")
    build_engine(onnx_path, path, **ctx.options.engine)
    return StageResult("engine", path, None, path.stat().st_size, None, False, time.perf_counter() - t0)
