"""`edgeseg build MODEL.onnx -o model.engine`: a TensorRT engine built on this machine."""

from __future__ import annotations

from typing import Optional

import typer

from edgeseg.cli.common import console


def build_cmd(
    model: str = typer.Argument(..., help="ONNX model (FP32, FP16 or Q/DQ INT8) from `edgeseg export`"),
    out: str = typer.Option(..., "-o", "--out", help="engine file to write (a plain TensorRT plan)"),
    device: Optional[str] = typer.Option(None, help="device profile (workspace, shapes, DLA cores)"),
    workspace: Optional[float] = typer.Option(None, help="workspace in GB"),
    opt_level: int = typer.Option(3, help="builder optimization level 0-5"),
    timing_cache: Optional[str] = typer.Option(None, help="timing cache file, read and written"),
    shapes: Optional[str] = typer.Option(None, help="min:opt:max for dynamic inputs, e.g. 1x3x180x240:1x3x360x480:1x3x1024x2048"),
    dla_core: Optional[int] = typer.Option(None, help="Jetson: run on this DLA core, GPU fallback"),
):
    """Version-aware build (TensorRT 8.6, 10, 11); the sidecar records where it was built."""
    from edgeseg.engine.builder import build_engine

    err = console(stderr=True)
    meta = build_engine(model, out, device=device, workspace_gb=workspace, opt_level=opt_level,
                        timing_cache=timing_cache, shapes=shapes, dla_core=dla_core, console=err)
    err.print(f"TensorRT {meta['tensorrt']} on {meta['gpu']['name']}: {meta['precision']} engine in "
              f"{meta['provenance']['build_seconds']} s")
    if "dla" in meta:
        err.print(meta["dla"]["summary"])
    typer.echo(out)


def register(app: typer.Typer) -> None:
    app.command("build")(build_cmd)
