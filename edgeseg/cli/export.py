"""`edgeseg export CKPT`: checkpoint -> verified ONNX (FP32 / FP16 / INT8 / FP8) -> optional engine."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from edgeseg.cli.common import (MODEL, OUTPUT, QUANT, VERIFY, Calib, CalibData, ComputeCapability, InputSize,
                                MaxMemory, Runtime, TimingCache, Variant, Workspace, console, parse_size, parse_triple,
                                progress)

# How messages name each export option: the one table from the library's option fields to this CLI's flags.
FLAGS = {
    "precision": "--precision", "format": "--format", "device": "--device", "save_deploy": "--save-deploy",
    "contract.dataset": "--dataset", "contract.variant": "--variant", "contract.input_size": "--input-size",
    "contract.dynamic": "--dynamic", "contract.verify_sizes": "--verify-size", "contract.mean_bgr": "--mean",
    "contract.std_bgr": "--std", "contract.channel_order": "--channel-order", "contract.fp16_io": "--fp16-io",
    "contract.embed_preprocess": "--embed-preprocess", "contract.argmax": "--argmax",
    "onnx.opset": "--opset", "onnx.simplifier": "--simplifier",
    "verify.samples": "--samples", "verify.num_samples": "--num-samples", "verify.min_agreement": "--min-agreement",
    "verify.max_rel_diff": "--max-rel-diff",
    "quant.calib": "--calib", "quant.data": "--data", "quant.method": "--calib-method", "quant.limit": "--calib-limit",
    "quant.percentile": "--calib-percentile", "quant.target": "--target", "quant.max_miou_drop": "--max-miou-drop",
    "quant.val": "--val", "quant.val_limit": "--val-limit", "quant.fallback_limit": "--fallback-limit",
    "quant.preset": "--quant-preset", "quant.ray": "--ray", "quant.fp16_rest": "--fp32-rest",
    "engine.workspace_gb": "--workspace", "engine.timing_cache": "--timing-cache", "engine.runtime": "--runtime",
    "engine.compute_capabilities": "--compute-capability",
}


def _o(kind, panel: str, help: str, *decls: str):
    return Annotated[kind, typer.Option(*decls, help=help, rich_help_panel=panel)]


def export_cmd(
    checkpoint: Annotated[str, typer.Argument(help="official S²-FPN / SPFNet checkpoint (.pth)")],
    out_dir: _o(str, OUTPUT, "work directory (one file per stage)", "-o", "--out") = "edgeseg-out",
    precision: _o(str, OUTPUT, "fp32 | fp16 | int8 | fp8 (E4M3, TensorRT on Ada/Hopper/Blackwell)") = "fp32",
    format: _o(str, OUTPUT, "onnx | engine (TensorRT, builds on this machine)", "--format") = "onnx",
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
    opset: _o(int, MODEL, "ONNX opset") = 17,
    simplifier: _o(str, MODEL, "onnxsim | onnxslim | none (onnxsim: fewest nodes, measured)") = "onnxsim",
    fp16_io: _o(bool, MODEL, "FP16 model with float16 input/output (default: float32 I/O)") = False,
    embed_preprocess: _o(bool, MODEL, "input uint8 NHWC BGR; preprocessing inside the graph") = False,
    argmax: _o(Optional[str], MODEL, "output the class map: int32 | uint8") = None,
    mean: _o(Optional[str], MODEL, "B,G,R mean override") = None,
    std: _o(Optional[str], MODEL, "B,G,R std (official checkpoints use none)") = None,
    channel_order: _o(Optional[str], MODEL, "RGB | BGR fed to the model (official: RGB)") = None,
    samples: _o(Optional[str], VERIFY, "folder or list of real images for verification") = None,
    num_samples: _o(int, VERIFY, "images used for verification") = 4,
    verify_size: _o(list[str], VERIFY, "with --dynamic: HxW sizes to verify at (repeatable)") = [],
    min_agreement: _o(Optional[float], VERIFY, "override every check's minimum argmax agreement (0..1)") = None,
    max_rel_diff: _o(Optional[float], VERIFY, "override the float checks' max |Δ| / max(1, |logits|)") = None,
    allow_mismatch: _o(bool, VERIFY, "INT8/FP8: publish, marked MISMATCH in its sidecar, an artifact another runtime "
                       "here (OpenVINO) runs differently from ONNX Runtime (default: refused)", "--allow-mismatch") = False,
    calib: Calib = None,
    calib_data: CalibData = None,
    calib_method: _o(Optional[str], QUANT, "minmax | entropy | percentile") = None,
    calib_limit: _o(Optional[int], QUANT, "use at most N calibration images") = None,
    calib_percentile: _o(Optional[float], QUANT, "percentile method: share of |x| kept, in % (default 99.999)") = None,
    quant_preset: _o(Optional[str], QUANT, "tensorrt | cpu | naive (everything quantized, per-tensor, minmax); "
                     "default: --device's, else tensorrt") = None,
    target: _o(Optional[str], QUANT, "Q/DQ placement: tensorrt | cpu (default: the preset's)") = None,
    fp32_rest: _o(bool, QUANT, "for TensorRT: what is not quantized stays FP32, at the export opset (TensorRT "
                  "8.6 / JetPack 6.0 read opset <= 17); default FP16, opset 19", "--fp32-rest") = False,
    val: _o(Optional[str], QUANT, "validation data with labels, ROOT[:SPLIT] or a list file") = None,
    val_limit: _o(Optional[int], QUANT, "use at most N validation images") = None,
    max_miou_drop: _o(Optional[float], QUANT, "budget in mIoU points (needs --val)") = None,
    fallback_limit: _o(Optional[int], QUANT, "keep at most N layers in float (default 24; 0: no fallback, only "
                       "the drop is measured)") = None,
    fail_on_budget: _o(bool, QUANT, "exit 1, writing nothing, when --max-miou-drop is still missed (default: a "
                       "warning)", "--fail-on-budget") = False,
    ray: _o(Optional[str], QUANT, "fallback: evaluate candidates on a Ray cluster (HEAD:PORT or 'local')",
            "--ray") = None,
    workspace: Workspace = None,
    timing_cache: TimingCache = None,
    runtime: Runtime = None,
    compute_capability: ComputeCapability = None,
):
    """Turn a checkpoint into a verified ONNX model (and optionally a TensorRT engine).

    The last line on stdout is the path of the final artifact.
    """
    from edgeseg.engine.builder import BuildSettings
    from edgeseg.export import options as o
    from edgeseg.export.pipeline import run_export
    from edgeseg.export.preflight import prepare_export
    from edgeseg.export.report import print_export
    from edgeseg.fleet.shard import fallback_scorer

    options = o.ExportOptions(
        precision, format, device, save_deploy,
        o.ContractOptions(dataset, variant, parse_size(input_size), dynamic, tuple(parse_size(s) for s in verify_size),
                          parse_triple(mean, "--mean"), parse_triple(std, "--std"), channel_order, fp16_io,
                          embed_preprocess, argmax),
        o.OnnxOptions(opset, simplifier), o.VerifyOptions(samples, num_samples, min_agreement, max_rel_diff, allow_mismatch),
        o.QuantOptions(calib, calib_data, calib_method, calib_limit, calib_percentile, target, max_miou_drop, val,
                       val_limit, fallback_limit, quant_preset, ray, False if fp32_rest else None,
                       fail_on_budget or None),
        BuildSettings(workspace_gb=workspace, timing_cache=timing_cache, runtime=runtime,
                      compute_capabilities=compute_capability))
    options = prepare_export(checkpoint, out_dir, options, FLAGS, deepstream=deepstream, max_memory_gb=max_memory_gb)
    with fallback_scorer(ray) as score:  # --ray: the fallback's candidates scored on a Ray cluster
        result = run_export(checkpoint, out_dir, options, progress=progress, score=score)
    print_export(result, console(), deepstream, gpu=options.device != "cpu")
    typer.echo(str(result.final))


def register(app: typer.Typer) -> None:
    app.command("export")(export_cmd)
