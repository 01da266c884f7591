"""The INT8 / FP8 stage of `edgeseg export`: options from the CLI to a verified Q/DQ model on disk."""

from __future__ import annotations

from pathlib import Path

from edgeseg.artifacts import atomic_path, sha256_file, write_json
from edgeseg.errors import EdgesegError


def config_from(options: dict):
    from edgeseg.quant.config import QuantConfig, preset

    base = preset(options.get("preset", "tensorrt"))
    changes = {k: v for k, v in {
        "method": options.get("method"), "target": options.get("target"),
        "max_miou_drop": options.get("max_miou_drop"), "calib_limit": options.get("limit"),
        "percentile": options.get("percentile"),
        "per_channel": options.get("per_channel"), "quantize_all": options.get("quantize_all"),
        "fallback_limit": options.get("fallback_limit"), "dtype": options.get("dtype"),
        "fp16_rest": options.get("fp16_rest"),
    }.items() if v is not None}
    return base.with_(**changes) if changes else QuantConfig(**base.to_dict())


def validation(ctx, val_source: str, limit: int | None):
    """Validation images with labels, preprocessed by the artifact's contract."""
    from edgeseg.data.datasets import open_dataset
    from edgeseg.quant.sensitivity import Validation

    root, _, split = val_source.partition(":")
    path = Path(root)
    if path.is_file():  # a list file: its folder is the root
        ds = open_dataset(path.parent, ctx.dataset.name, str(path), limit, ctx.dataset)
    else:
        ds = open_dataset(path, ctx.dataset.name if ctx.dataset.name != "generic" else "folder", split or "val",
                          limit, ctx.dataset)
    batches, labels = [], []
    contract = _contract(ctx)
    for sample in ds.samples:
        image, label = ds.load(sample)
        batches.append(contract.apply(image)[None])
        labels.append(label)
    return Validation(batches, labels, ctx.dataset.num_classes, ctx.dataset.ignore_index), ds


def _contract(ctx):
    from edgeseg.data.contract import Preprocess

    size = ctx.sizes[0]
    return Preprocess(**{**ctx.preprocess.__dict__, "input_size": size})


def artifact_tag(config) -> str:
    """int8, plus whatever differs from the defaults, so variants never overwrite each other."""
    from edgeseg.quant.config import QuantConfig

    default = QuantConfig()
    parts = [config.dtype]
    if config.method != default.method:
        parts.append(config.method)
    elif config.percentile != default.percentile:
        parts.append(f"p{config.percentile:g}")
    if config.target != default.target:
        parts.append(config.target)
    if not config.half and config.target == "tensorrt":
        parts.append("fp32rest")
    if not config.per_channel:
        parts.append("pertensor")
    if config.quantize_all:
        parts.append("all")
    if config.max_miou_drop is not None:
        parts.append(f"budget{config.max_miou_drop:g}")
    return "-".join(parts)


def int8_stage(ctx, fp32_path: Path, onnx_stage, run_onnx):
    import onnx

    from edgeseg.data.calibset import load_calibset, refuse_overlap
    from edgeseg.quant import quantize
    from edgeseg.quant.placement import RULES_VERSION
    from edgeseg.quant.trt_cache import cache_text

    opts = ctx.options.quant
    dtype = ctx.options.precision if ctx.options.precision in ("int8", "fp8") else "int8"
    if not opts.get("calib"):
        raise EdgesegError(f"--precision {dtype} needs --calib (a manifest from `edgeseg calib make`, a list file or a folder)")
    config = config_from({**opts, "dtype": dtype})
    calib = load_calibset(opts["calib"], opts.get("data"), config.calib_limit)
    if calib.warning():
        ctx.log(f"warning: {calib.warning()}")
    val, val_ds = (None, None)
    if opts.get("val"):
        val, val_ds = validation(ctx, opts["val"], opts.get("val_limit"))
        refuse_overlap(calib, [s.image for s in val_ds.samples])
    fp32_sha = sha256_file(fp32_path)
    report_box = {}

    def make():
        model, amax, report = quantize(onnx.load(str(fp32_path)), fp32_sha, config, calib, _contract(ctx),
                                       cache_dir=ctx.out_dir / ".calib-cache", val=val, log=ctx.log)
        report_box.update(report=report, amax=amax)
        return model

    stage_opts = {"quant": config.to_dict(), "calib_sha256": calib.sha256, "val": opts.get("val"),
                  "placement_rules": RULES_VERSION}
    path = ctx.out_dir / f"{ctx.stem}.{artifact_tag(config)}.onnx"
    parents = {s: run_onnx(fp32_path, ctx.batches(s)) for s in ctx.sizes}
    result, _ = onnx_stage(ctx, dtype, path, fp32_path, fp32_sha, stage_opts, make, parents, "int8", dtype)
    if "report" in report_box:
        report = report_box["report"].to_dict()
        write_json(path.with_name(path.name + ".quant.json"), report)
        if dtype == "int8":  # implicit calibration caches exist for int8 only
            with atomic_path(path.with_name(path.name + ".calib.cache")) as tmp:
                tmp.write_text(cache_text(report_box["amax"]))
    else:
        import json

        qpath = path.with_name(path.name + ".quant.json")
        report = json.loads(qpath.read_text()) if qpath.exists() else {}
    result.extra.update({k: v for k, v in report.items() if k in (
        "calib_images", "calib_sha256", "method", "target", "quantized_layers", "float_layers", "kept_float",
        "ranges_reused", "fp32_miou", "int8_miou", "drop_before", "drop_after", "seconds", "warning", "dtype",
        "float_compute", "opset")})
    missed = budget_missed(config, report)
    if missed:
        ctx.log(f"warning: {missed}")
        result.extra["budget"] = missed
    return result


def budget_missed(config, report: dict) -> str | None:
    """Why the accuracy budget was not met, or None: the artifact is still written, but loudly."""
    drop = report.get("drop_after")
    if config.max_miou_drop is None or drop is None or drop <= config.max_miou_drop:
        return None
    return (f"{config.dtype.upper()} drop {drop:.3f} is still above the budget {config.max_miou_drop:g} with "
            f"{len(report.get('kept_float', []))} layers in float (--fallback-limit {config.fallback_limit}); "
            f"raise the limit, or calibrate with more images or another --calib-method")
