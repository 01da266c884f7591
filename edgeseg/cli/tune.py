"""`edgeseg tune CKPT --val ROOT[:SPLIT]`: the fastest artifact for this machine within an mIoU budget."""

from __future__ import annotations

from typing import Optional

import typer

from edgeseg.cli.common import CalibData, DataAsCalibRoot, InputSize, console, deprecated_alias, progress


def tune_cmd(
    checkpoint: str = typer.Argument(..., help="trained checkpoint (.pth)"),
    val: Optional[str] = typer.Option(None, help="labelled validation data, ROOT[:SPLIT] or a list file (required)"),
    max_miou_drop: float = typer.Option(0.3, help="accuracy budget: mIoU points below FP32 a pick may lose"),
    calib: Optional[str] = typer.Option(None, help="INT8 calibration manifest, list or folder (default: 300 images "
                                                   "drawn from ROOT's train split)"),
    calib_data: CalibData = None,
    data: DataAsCalibRoot = None,
    device: str = typer.Option("cpu", help="device profile: cpu (this CPU) or cuda (this NVIDIA GPU)"),
    input_size: InputSize = None,
    dataset: str = typer.Option("camvid", help="camvid | cityscapes"),
    variant: Optional[str] = typer.Option(None, help="s2fpn34m for ResNet-34M checkpoints"),
    threads: Optional[int] = typer.Option(None, help="CPU threads the model will run with (default: physical cores)"),
    val_limit: Optional[int] = typer.Option(None, help="use the first N validation images"),
    rounds: int = typer.Option(10, help="interleaved timing rounds (each runs every candidate)"),
    iters: int = typer.Option(10, help="timed inferences per candidate per round"),
    out_dir: str = typer.Option("edgeseg-tune", "-o", "--out", help="output folder (candidates/, tune.md, the pick)"),
):
    """Build every candidate valid here, measure latency and mIoU on this machine, keep the fastest within the budget.

    The last line on stdout is the chosen artifact's path."""
    from edgeseg.filesystem import check_out_dir
    from edgeseg.tune import TuneOptions, tune
    from edgeseg.tune.measure import Protocol

    calib_data = deprecated_alias(calib_data, data, "--data", "--calib-data")
    options = TuneOptions(val=val, max_miou_drop=max_miou_drop, calib=calib, calib_data=calib_data, device=device,
                          input_size=input_size, dataset=dataset, variant=variant, threads=threads,
                          val_limit=val_limit, protocol=Protocol(rounds=rounds, iters=iters))
    check_out_dir(out_dir)
    result = tune(checkpoint, out_dir, options, progress=progress)
    console().print(_table(result.report))
    typer.echo(str(result.path))


def _table(report: dict):
    from rich.table import Table

    table = Table(title=f"tune: {report['machine']['cpu']}, {report['machine']['threads']} threads, "
                        f"budget {report['budget']} mIoU")
    for col in ("candidate", "median ms", "x FP32 OV", "mIoU", "drop", "agree %"):
        table.add_column(col, justify="left" if col == "candidate" else "right")
    for r in report["candidates"]:
        name = f"[bold]{r['name']}[/bold]" if r["name"] == report["chosen"]["name"] else r["name"]
        if r.get("error"):
            table.add_row(name, "not built", "", "", "", r["error"][:60])
            continue
        table.add_row(name, *(f"{r[k]:.2f}" if r.get(k) is not None else "-"
                              for k in ("median_ms", "x_fp32_ov", "miou", "miou_drop", "agreement")))
    return table


def register(app: typer.Typer) -> None:
    app.command("tune")(tune_cmd)
