"""`edgeseg export CKPT`: checkpoint -> verified ONNX (FP32 / FP16 / INT8) -> optional engine."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Optional

import typer

from edgeseg.cli.common import console, parse_size, parse_triple, progress
from edgeseg.errors import EdgesegError


def export_cmd(
    checkpoint: str = typer.Argument(..., help="official S²-FPN / SPFNet checkpoint (.pth)"),
    out_dir: str = typer.Option("edgeseg-out", "-o", "--out", help="work directory (one file per stage)"),
    precision: str = typer.Option("fp32", help="fp32 | fp16 | int8 | fp8 (E4M3, TensorRT on Ada/Hopper/Blackwell)"),
    format: str = typer.Option("onnx", "--format", help="onnx | engine (TensorRT, builds on this machine)"),
    dataset: Optional[str] = typer.Option(None, help="camvid | cityscapes (default: from the class count)"),
    variant: Optional[str] = typer.Option(None, help="s2fpn34m for ResNet-34M checkpoints"),
    input_size: Optional[str] = typer.Option(None, help="HxW (default: CamVid 360x480, Cityscapes 1024x2048)"),
    dynamic: bool = typer.Option(False, help="dynamic batch/height/width"),
    verify_size: list[str] = typer.Option([], help="with --dynamic: HxW sizes to verify at (repeatable)"),
    opset: int = typer.Option(17, help="ONNX opset"),
    simplifier: str = typer.Option("onnxsim", help="onnxsim | onnxslim | none (onnxsim: fewest nodes, measured)"),
    fp16_io: bool = typer.Option(False, help="FP16 model with float16 input/output (default: float32 I/O)"),
    embed_preprocess: bool = typer.Option(False, help="input uint8 NHWC BGR; preprocessing inside the graph"),
    argmax: Optional[str] = typer.Option(None, help="output the class map: int32 | uint8"),
    mean: Optional[str] = typer.Option(None, help="B,G,R mean override"),
    std: Optional[str] = typer.Option(None, help="B,G,R std (official checkpoints use none)"),
    channel_order: Optional[str] = typer.Option(None, help="RGB | BGR fed to the model (official: RGB)"),
    samples: Optional[str] = typer.Option(None, help="folder or list of real images for verification"),
    num_samples: int = typer.Option(4, help="images used for verification"),
    save_deploy: bool = typer.Option(False, help="also write the fused PyTorch deploy checkpoint"),
    min_agreement: Optional[float] = typer.Option(None, help="override every check's minimum argmax agreement (0..1)"),
    max_rel_diff: Optional[float] = typer.Option(None, help="override the float checks' max |Δ| / max(1, |logits|)"),
    calib: Optional[str] = typer.Option(None, help="INT8: calibration manifest, list file or image folder"),
    calib_data: Optional[str] = typer.Option(None, "--data", help="INT8: dataset root that --calib paths are relative to"),
    calib_method: Optional[str] = typer.Option(None, help="INT8: minmax | entropy | percentile"),
    calib_limit: Optional[int] = typer.Option(None, help="INT8: use at most N calibration images"),
    calib_percentile: Optional[float] = typer.Option(None, help="INT8 percentile method: share of |x| kept, in % (default 99.999)"),
    target: Optional[str] = typer.Option(None, help="INT8 Q/DQ placement: tensorrt | cpu (default: the preset's)"),
    fp32_rest: bool = typer.Option(False, "--fp32-rest", help="INT8 for TensorRT: what is not quantized stays FP32, "
                                   "at the export opset (TensorRT 8.6 / JetPack 6.0 read opset <= 17); default FP16, opset 19"),
    max_miou_drop: Optional[float] = typer.Option(None, help="INT8: budget in mIoU points (needs --val)"),
    val: Optional[str] = typer.Option(None, help="INT8: validation data with labels, ROOT[:SPLIT] or a list file"),
    val_limit: Optional[int] = typer.Option(None, help="INT8: use at most N validation images"),
    fallback_limit: Optional[int] = typer.Option(None, help="INT8: keep at most N layers in float (default 24; "
                                                             "0: no fallback, only the drop is measured)"),
    fail_on_budget: bool = typer.Option(False, "--fail-on-budget", help="INT8/FP8: exit 1, writing nothing, when "
                                        "--max-miou-drop is still missed (default: a warning)"),
    ray: Optional[str] = typer.Option(None, "--ray", help="INT8 fallback: evaluate candidates on a Ray cluster "
                                                           "(HEAD:PORT or 'local')"),
    quant_preset: Optional[str] = typer.Option(None, help="INT8 preset: tensorrt | cpu | naive (everything quantized, "
                                                          "per-tensor, minmax); default: --device's, else tensorrt"),
    device: Optional[str] = typer.Option(None, help="device profile the artifact is for: its precisions, its INT8 "
                                                    "placement (cpu: the CPU preset), the engine's settings"),
    workspace: Optional[float] = typer.Option(None, help="engine: workspace in GB"),
    timing_cache: Optional[str] = typer.Option(None, help="engine: timing cache file, read if present and written back"),
    deepstream: bool = typer.Option(False, help="also write FINAL.nvinfer.txt, a DeepStream nvinfer config for the final artifact"),
    runtime: Optional[str] = typer.Option(None, help="engine: tensorrt (default) | tensorrt-rtx (RTX GPUs, builds anywhere)"),
    compute_capability: Optional[str] = typer.Option(None, help="engine, tensorrt-rtx: target GPUs, e.g. 8.6,8.9,12.0"),
    max_memory_gb: Optional[float] = typer.Option(None, help="refuse runs estimated above this many GB (default: the memory available now)"),
):
    """Turn a checkpoint into a verified ONNX model (and optionally a TensorRT engine).

    The last line on stdout is the path of the final artifact.
    """
    from edgeseg.export.options import ExportOptions
    from edgeseg.export.pipeline import run_export
    from edgeseg.export.report import print_summary
    from edgeseg.outputs import check_out_dir

    quant = {k: v for k, v in dict(calib=calib, data=calib_data, method=calib_method, limit=calib_limit,
                                   percentile=calib_percentile, target=target, max_miou_drop=max_miou_drop, val=val,
                                   val_limit=val_limit, fallback_limit=fallback_limit,
                                   preset=quant_preset, ray=ray, fp16_rest=False if fp32_rest else None,
                                   fail_on_budget=fail_on_budget or None).items()
             if v is not None}
    engine = {k: v for k, v in dict(device=device, workspace_gb=workspace, timing_cache=timing_cache, runtime=runtime,
                                    compute_capabilities=compute_capability).items() if v is not None}
    options = ExportOptions(
        precision=precision, format=format, dataset=dataset, variant=variant, input_size=parse_size(input_size),
        dynamic=dynamic, verify_sizes=tuple(parse_size(s) for s in verify_size), opset=opset, simplifier=simplifier,
        fp16_io=fp16_io, embed_preprocess=embed_preprocess, argmax=argmax, mean_bgr=parse_triple(mean, "--mean"),
        std_bgr=parse_triple(std, "--std"), channel_order=channel_order, samples=samples, num_samples=num_samples,
        save_deploy=save_deploy, min_agreement=min_agreement, max_rel_diff=max_rel_diff, quant=quant, engine=engine)
    if deepstream:  # refuse what nvinfer cannot run before the export starts
        from edgeseg.export.deepstream import check_export_options

        check_export_options(options)
    if not Path(checkpoint).is_file():
        raise EdgesegError(f"{checkpoint}: no such file (the checkpoint to export)")
    check_out_dir(out_dir)
    _check_memory(options, max_memory_gb)
    err = console(stderr=True)
    with _fallback_score(ray) as score:
        result = run_export(checkpoint, out_dir, options, progress=progress, score=score)
    print_summary(result, err)
    if deepstream:
        from edgeseg.export.deepstream import write_nvinfer_config

        err.print(f"DeepStream nvinfer config: {write_nvinfer_config(result.final)}")
    typer.echo(str(result.final))


def _fallback_score(ray: Optional[str]):
    """With --ray, the INT8 fallback's candidates are evaluated on a Ray cluster (joined on first use)."""
    if not ray:
        return contextlib.nullcontext()
    from edgeseg.fleet.shard import ShardedScore

    return ShardedScore(ray)


def _check_memory(options, max_memory_gb) -> None:
    """Refuse an export whose activations would not fit, before the checkpoint loads."""
    from edgeseg.data.contract import DatasetInfo
    from edgeseg.memory import check_fits, set_limit_gb

    set_limit_gb(max_memory_gb)
    size = options.input_size or (DatasetInfo.named(options.dataset).input_size if options.dataset else None)
    for s in ([size] if size else []) + list(options.verify_sizes):
        check_fits(options.variant, s, export=True)


def register(app: typer.Typer) -> None:
    app.command("export")(export_cmd)
