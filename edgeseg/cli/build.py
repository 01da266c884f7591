"""`edgeseg build MODEL.onnx -o model.engine`: a TensorRT engine built on this machine, for this machine
(or, with `--runtime tensorrt-rtx`, a TensorRT-RTX engine built here for the RTX GPUs named)."""

from __future__ import annotations

import logging
from typing import Optional

import typer

from edgeseg.cli.common import names_fields

log = logging.getLogger(__name__)


@names_fields  # parameters named as BuildSettings' fields: its errors name these flags
def build_cmd(
    model: str = typer.Argument(..., help="ONNX model from `edgeseg export` (FP32, FP16 or Q/DQ INT8)"),
    out: str = typer.Option(..., "-o", "--out", help="engine file to write (.engine or .plan; a plain TensorRT plan)"),
    device: Optional[str] = typer.Option(None, help="device profile: default workspace, shapes and DLA cores"),
    workspace_gb: Optional[float] = typer.Option(None, "--workspace", help="builder workspace in GB (default: the profile's, else TensorRT's)"),
    opt_level: Optional[int] = typer.Option(None, "--opt-level", help="builder optimization level 0-5 (default 3; higher: slower build, maybe faster engine)"),
    timing_cache: Optional[str] = typer.Option(None, help="timing cache file, read if present and written back"),
    shapes: Optional[str] = typer.Option(None, help="dynamic models: min:opt:max, e.g. 1x3x180x240:1x3x360x480:1x3x1024x2048"),
    dla_core: Optional[int] = typer.Option(None, help="Jetson: run on this DLA core, unsupported layers on the GPU"),
    runtime: Optional[str] = typer.Option(None, help="tensorrt (default; Jetson, data-centre GPUs; builds on the target) | "
                                "tensorrt-rtx (RTX 20-50, DGX Spark; builds on any machine)"),
    compute_capabilities: Optional[str] = typer.Option(None, "--compute-capability", help="tensorrt-rtx: target GPUs, e.g. 8.6,8.9,12.0 "
                                                     "(default 8.6,8.9,12.0,12.1; 7.5 = RTX 20 on request)"),
    class_map: Optional[bool] = typer.Option(None, "--class-map/--no-class-map", help="end the engine with a TopK over "
                                             "the classes: it gives class maps, not logits (default: as the ONNX ends)"),
    progress: bool = typer.Option(True, help="show build progress on stderr"),
):
    """Build a TensorRT engine the way the installed TensorRT (8.6, 10 or 11) wants it.

    The sidecar MODEL.engine.json records where it was built; the last line on stdout is the engine path.
    """
    from edgeseg.engine import sidecar
    from edgeseg.engine.builder import BuildSettings, build_engine

    given = {"device": device, "workspace_gb": workspace_gb, "opt_level": opt_level, "timing_cache": timing_cache,
             "shapes": shapes, "dla_core": dla_core, "runtime": runtime, "compute_capabilities": compute_capabilities,
             "class_map": class_map}
    settings = BuildSettings(**{k: v for k, v in given.items() if v is not None})
    path = build_engine(model, out, settings, progress=progress)
    meta = sidecar.read_engine(path)
    built_for, engine = sidecar.BuiltFor.from_dict(meta.target), meta.engine
    log.info(f"{meta.precision} engine, {engine['build']['mode']}, {engine['bytes'] / 2**20:.1f} MiB, "
             f"built in {meta.provenance['build_seconds']} s with {built_for.describe()}")
    if engine.get("build", {}).get("shapes"):
        log.info(f"optimization profile {engine['build']['shapes']}")
    if engine.get("qdq_fusion"):
        log.info(f"Q/DQ: {engine['qdq_fusion']['summary']}")
    if engine.get("dla"):
        log.info(f"DLA: {engine['dla']['summary']}")
        for f in engine["dla"]["fallbacks"][:10]:
            log.info(f"  on the GPU: {f['layer']}{' (' + f['reason'] + ')' if f.get('reason') else ''}")
    typer.echo(str(path))


def register(app: typer.Typer) -> None:
    app.command("build")(build_cmd)
