"""`edgeseg export CKPT`: checkpoint -> verified ONNX (FP32 / FP16 / INT8 / FP8) -> optional engine."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from edgeseg.cli.common import (MODEL, OUTPUT, QUANT, VERIFY, Calib, CalibData, ComputeCapability, DataAsCalibRoot,
                                InputSize, MaxMemory, Runtime, Size, TimingCache, Triple, ValSplit, Variant, Workspace,
                                console, deprecated_alias, names_fields, parse_size, parse_triple, progress)

def _o(kind, panel: str, help: str, *decls: str, **more):
    return Annotated[kind, typer.Option(*decls, help=help, rich_help_panel=panel, **more)]


# Parameters are named as the library's option fields (edgeseg.export.options.export_options), so
# each value goes by name and an option's error names this command's flag (common.names_fields).
# None (and False for a switch) means the library's default, which is stated there once.
@names_fields
def export_cmd(
    checkpoint: Annotated[str, typer.Argument(help="official S²-FPN / SPFNet checkpoint (.pth)")],
    out_dir: _o(str, OUTPUT, "work directory (one file per stage)", "-o", "--out") = "edgeseg-out",
    precision: _o(Optional[str], OUTPUT, "fp32 (default) | fp16 | int8 | fp8 (E4M3, TensorRT on "
                  "Ada/Hopper/Blackwell)") = None,
    format: _o(Optional[str], OUTPUT, "onnx (default) | engine (TensorRT, builds on this machine)", "--format") = None,
    device: _o(Optional[str], OUTPUT, "device profile the artifact is for: its precisions, its INT8 placement "
               "(cpu: the CPU preset), the engine's settings") = None,
    save_deploy: _o(bool, OUTPUT, "also write the fused PyTorch deploy checkpoint") = False,
    deepstream: _o(bool, OUTPUT, "also write FINAL.nvinfer.txt, a DeepStream nvinfer config for the final "
                   "artifact") = False,
    max_memory_gb: MaxMemory = None,
    dataset: _o(Optional[str], MODEL, "camvid | cityscapes (default: from the class count)") = None,
    variant: Variant = None,
    input_size: InputSize = None,
    dynamic: _o(bool, MODEL, "dynamic batch/height/width") = False,
    opset: _o(Optional[int], MODEL, "ONNX opset (default 17)") = None,
    simplifier: _o(Optional[str], MODEL, "onnxsim (default: fewest nodes, measured) | onnxslim | none") = None,
    fp16_io: _o(bool, MODEL, "FP16 model with float16 input/output (default: float32 I/O)") = False,
    embed_preprocess: _o(bool, MODEL, "input uint8 NHWC BGR; preprocessing inside the graph") = False,
    tail: _o(Optional[str], MODEL, "what the model outputs: logits (default) | argmax (the class map, argmax in the "
             "graph) | argmax-lowres (argmax at the head's resolution, nearest upsample in the graph), as tune "
             "names them") = None,
    argmax: _o(Optional[str], MODEL, "the class map's type: int32 | uint8 (alone: --tail argmax; default with a "
               "class-map --tail: uint8)") = None,
    mean_bgr: _o(Optional[Triple], MODEL, "B,G,R mean override", "--mean", parser=parse_triple("--mean"),
                 metavar="B,G,R") = None,
    std_bgr: _o(Optional[Triple], MODEL, "B,G,R std (official checkpoints use none)", "--std", parser=parse_triple("--std"),
                metavar="B,G,R") = None,
    channel_order: _o(Optional[str], MODEL, "RGB | BGR fed to the model (official: RGB)") = None,
    samples: _o(Optional[str], VERIFY, "folder or list of real images for verification") = None,
    num_samples: _o(Optional[int], VERIFY, "images used for verification (default 4)") = None,
    verify_sizes: _o(Optional[list[Size]], VERIFY, "with --dynamic: HxW sizes to verify at (repeatable)",
                     "--verify-size", parser=parse_size, metavar="HxW") = None,
    min_agreement: _o(Optional[float], VERIFY, "override every check's minimum argmax agreement (0..1)") = None,
    max_rel_diff: _o(Optional[float], VERIFY, "override the float checks' max |Δ| / max(1, |logits|)") = None,
    allow_mismatch: _o(bool, VERIFY, "INT8/FP8: publish, marked MISMATCH in its sidecar, an artifact another runtime "
                       "here (OpenVINO) runs differently from ONNX Runtime (default: refused)", "--allow-mismatch") = False,
    calib: Calib = None,
    calib_data: CalibData = None,
    data: DataAsCalibRoot = None,
    method: _o(Optional[str], QUANT, "minmax | entropy | percentile (default: the preset's)", "--calib-method") = None,
    calib_limit: _o(Optional[int], QUANT, "use at most N calibration images") = None,
    percentile: _o(Optional[float], QUANT, "percentile method: share of |x| kept, in % (default 99.999)",
                   "--calib-percentile") = None,
    preset: _o(Optional[str], QUANT, "tensorrt | cpu | naive (everything quantized, per-tensor, minmax); "
               "default: --device's, else tensorrt", "--quant-preset") = None,
    placement: _o(Optional[str], QUANT, "Q/DQ placement: tensorrt | cpu (default: the preset's)") = None,
    target: _o(Optional[str], QUANT, "deprecated: --placement", hidden=True) = None,
    fp16_rest: _o(Optional[bool], QUANT, "for TensorRT: what is not quantized runs in FP16 at opset 19 (default), "
                  "or stays FP32 at the export opset (TensorRT 8.6 / JetPack 6.0 read opset <= 17)",
                  "--fp16-rest/--fp32-rest", show_default=False) = None,
    val: ValSplit = None,
    val_limit: _o(Optional[int], QUANT, "use at most N validation images") = None,
    max_miou_drop: _o(Optional[float], QUANT, "budget in mIoU points (needs --val)") = None,
    max_class_drop: _o(Optional[float], QUANT, "with --max-miou-drop: also bound the worst single class's IoU drop "
                       "(points); layers go back to float until both are met") = None,
    fallback_limit: _o(Optional[int], QUANT, "keep at most N layers in float (default 24; 0: no fallback, only "
                       "the drop is measured)") = None,
    fail_on_budget: _o(bool, QUANT, "exit 1, writing nothing, when --max-miou-drop is still missed (default: a "
                       "warning)", "--fail-on-budget") = False,
    ray: _o(Optional[str], QUANT, "fallback: evaluate candidates on a Ray cluster (HEAD:PORT or 'local')",
            "--ray") = None,
    workspace_gb: Workspace = None,
    timing_cache: TimingCache = None,
    runtime: Runtime = None,
    compute_capabilities: ComputeCapability = None,
):
    """Turn a checkpoint into a verified ONNX model (and optionally a TensorRT engine).

    The last line on stdout is the path of the final artifact.
    """
    from edgeseg.export.options import export_options
    from edgeseg.export.pipeline import run_export
    from edgeseg.export.report import print_export
    from edgeseg.fleet.shard import fallback_scorer
    from edgeseg.memory import set_limit_gb

    set_limit_gb(max_memory_gb)
    calib_data = deprecated_alias(calib_data, data, "--data", "--calib-data")
    placement = deprecated_alias(placement, target, "--target", "--placement")  # a target is a fleet node
    options = export_options(
        precision=precision, format=format, device=device, save_deploy=save_deploy, deepstream=deepstream,
        dataset=dataset, variant=variant, input_size=input_size, dynamic=dynamic, opset=opset, simplifier=simplifier,
        fp16_io=fp16_io, embed_preprocess=embed_preprocess, argmax=argmax, tail=tail, mean_bgr=mean_bgr,
        std_bgr=std_bgr, channel_order=channel_order, samples=samples, num_samples=num_samples,
        verify_sizes=tuple(verify_sizes) if verify_sizes else None, min_agreement=min_agreement,
        max_rel_diff=max_rel_diff, allow_mismatch=allow_mismatch, calib=calib, calib_data=calib_data, method=method,
        calib_limit=calib_limit,
        percentile=percentile, preset=preset, placement=placement, fp16_rest=fp16_rest, val=val, val_limit=val_limit,
        max_miou_drop=max_miou_drop, max_class_drop=max_class_drop, fallback_limit=fallback_limit,
        fail_on_budget=fail_on_budget, ray=ray,
        workspace_gb=workspace_gb, timing_cache=timing_cache, runtime=runtime,
        compute_capabilities=compute_capabilities)
    with fallback_scorer(ray) as score:  # --ray: the fallback's candidates scored on a Ray cluster
        result = run_export(checkpoint, out_dir, options, progress=progress, score=score)
    print_export(result, console(), gpu=options.device != "cpu")
    typer.echo(str(result.final))


def register(app: typer.Typer) -> None:
    app.command("export")(export_cmd)
