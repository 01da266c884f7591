"""`edgeseg tune CKPT --val ROOT[:SPLIT]`: the fastest artifact for this machine within an mIoU budget."""

from __future__ import annotations

from typing import Optional

import typer

from edgeseg.cli.common import (CalibData, DataAsCalibRoot, InputSize, console, deprecated_alias, names_fields,
                                parse_names, parse_size, progress)

TAILS_HELP = ("output tails to try (comma list; default: all three): logits | argmax (uint8 class map in the graph) | "
              "argmax-lowres (argmax at the head's resolution, nearest upsample in the graph); tried on candidates "
              "within the budget")


# Parameters are named as TuneOptions' fields (edgeseg.tune.options.tune_options): each goes by name,
# None is the library's default, and an option's error names this command's flag (common.names_fields).
@names_fields
def tune_cmd(
    checkpoint: Optional[str] = typer.Argument(None, help="trained checkpoint (.pth); not with --check"),
    val: Optional[str] = typer.Option(None, help="labelled validation data, ROOT[:SPLIT] or a list file (required)"),
    max_miou_drop: Optional[float] = typer.Option(None, help="accuracy budget: mIoU points below FP32 a pick may "
                                                             "lose (default 0.3)"),
    calib: Optional[str] = typer.Option(None, help="INT8 calibration manifest, list or folder (default: 300 images "
                                                   "drawn from ROOT's train split)"),
    calib_data: CalibData = None,
    data: DataAsCalibRoot = None,
    device: Optional[str] = typer.Option(None, help="device profile: cpu (this CPU, the default) or cuda (this NVIDIA "
                                                    "GPU)"),
    input_size: InputSize = None,
    dataset: Optional[str] = typer.Option(None, help="camvid (default) | cityscapes"),
    variant: Optional[str] = typer.Option(None, help="s2fpn34m for ResNet-34M checkpoints"),
    threads: Optional[int] = typer.Option(None, help="CPU threads the model will run with (default: physical cores)"),
    val_limit: Optional[int] = typer.Option(None, help="use the first N validation images"),
    rounds: Optional[int] = typer.Option(None, help="interleaved timing rounds (each runs every candidate; default 10)"),
    iters: Optional[int] = typer.Option(None, help="timed inferences per candidate per round (default 10)"),
    out_dir: str = typer.Option("edgeseg-tune", "-o", "--out", help="output folder (candidates/, tune.md, the pick)"),
    tails: Optional[str] = typer.Option(None, help=TAILS_HELP),
    min_fps: Optional[float] = typer.Option(None, help="instead of the fastest within --max-miou-drop: the most "
                                                       "accurate candidate whose pipeline reaches this rate"),
    max_class_drop: Optional[float] = typer.Option(None, help="also bound the worst single class's IoU drop "
                                                              "(points)"),
    input_sizes: Optional[str] = typer.Option(None, help="also try these smaller model inputs (comma list of HxW), "
                                                         "built only for candidates within the budget; scored at "
                                                         "the labels' resolution, timed to a full-size class map"),
    thread_counts: Optional[str] = typer.Option(None, help="also try these CPU thread counts (comma list) on the "
                                                           "candidates within the budget"),
    objective: Optional[str] = typer.Option(None, help="latency (default: one frame's pipeline) | throughput "
                                                       "(frames/s with several requests in flight; OpenVINO streams "
                                                       "tried)"),
    streams: Optional[str] = typer.Option(None, help="with --objective throughput: OpenVINO stream counts to try "
                                                     "(comma list; default 1,2,4 up to the threads)"),
    check: Optional[str] = typer.Option(None, help="regression gate: re-measure the pick and runner-up of this "
                                                   "tune.json here; exit 1 when they regressed"),
    tolerance: float = typer.Option(0.10, help="with --check: pipeline latency growth (or, for a throughput record, "
                                               "throughput fall) allowed (0.1 = 10 %)"),
    plan: bool = typer.Option(False, help="print what would be built and measured, and an estimate of the time; "
                                          "build nothing"),
):
    """Build every candidate valid here, measure latency and mIoU on this machine, keep the fastest within the budget.

    Or, with --min-fps, the most accurate one that reaches that rate. The last line on stdout is the
    chosen artifact's path."""
    from edgeseg.errors import EdgesegError
    from edgeseg.filesystem import check_out_dir
    from edgeseg.tune import tune, tune_options

    if check:
        if checkpoint:
            raise EdgesegError("--check re-measures a recorded tune.json: give no checkpoint with it")
        return _check(check, tolerance)
    if not checkpoint:
        raise EdgesegError("tune needs a CHECKPOINT (or --check DIR/tune.json)")
    calib_data = deprecated_alias(calib_data, data, "--data", "--calib-data")
    options = tune_options(val=val, max_miou_drop=max_miou_drop, calib=calib, calib_data=calib_data, device=device,
                           input_size=parse_size(input_size), dataset=dataset, variant=variant, threads=threads,
                           val_limit=val_limit, rounds=rounds, iters=iters, tails=_names(tails), min_fps=min_fps,
                           max_class_drop=max_class_drop, input_sizes=_sizes(input_sizes),
                           thread_counts=_counts(thread_counts, "--thread-counts"), objective=objective,
                           streams=_counts(streams, "--streams")).check()
    check_out_dir(out_dir)
    if plan:
        from edgeseg.tune.plan import plan as make_plan

        typer.echo(make_plan(checkpoint, out_dir, options))
        return
    result = tune(checkpoint, out_dir, options, progress=progress)
    console().print(_table(result.report))
    typer.echo(str(result.path))


def _names(text: str | None) -> tuple[str, ...] | None:
    """A comma list, or None (the library's default) when not given."""
    return None if text is None else tuple(parse_names(text) or ())


def _sizes(text: str | None):
    return tuple(parse_size(v) for v in parse_names(text) or ())


def _counts(text: str | None, flag: str) -> tuple[int, ...]:
    from edgeseg.errors import EdgesegError

    try:
        return tuple(int(v) for v in parse_names(text) or ())
    except ValueError:
        raise EdgesegError(f"{flag} must be a comma list of whole numbers, got {text!r}") from None


def _check(record: str, tolerance: float):
    from edgeseg.tune.check import check

    result = check(record, tolerance)
    err = console(stderr=True)
    for r in result.rows:
        rate = (f", {r['throughput_fps']:.1f} FPS throughput (recorded {r['recorded_throughput_fps']:.1f})"
                if r.get("throughput_fps") is not None and r.get("recorded_throughput_fps") is not None else "")
        err.print(f"{r['name']}: pipeline {r['pipeline_ms']:.2f} ms (recorded {r['recorded_pipeline_ms']:.2f}){rate}, "
                  f"mIoU {r['miou']:.2f} (recorded {r['recorded_miou']:.2f})", markup=False)
    if result.load:
        err.print(f"load average before/after: {result.load['before']} / {result.load['after']}", markup=False)
    if not result.ok:
        err.print(f"[red]regression:[/red] {result.reason}")
        raise typer.Exit(1)
    typer.echo(f"ok: {result.reason}")


def _table(report: dict):
    from rich.table import Table

    table = Table(title=f"tune: {report['machine']['cpu']}, {report['machine']['threads']} threads, "
                        f"{report['objective']['text']}")
    figures = ("pipeline_ms", "median_ms", "x_fp32_ov") + \
        (("throughput_fps",) if report["objective"].get("throughput") else ()) + \
        ("miou", "miou_drop", "class_drop", "agreement")
    heads = {"pipeline_ms": "pipeline ms", "median_ms": "model ms", "x_fp32_ov": "x FP32 OV", "throughput_fps": "FPS",
             "miou": "mIoU", "miou_drop": "drop", "class_drop": "class drop", "agreement": "agree %"}
    for col in ("candidate", *(heads[k] for k in figures)):
        table.add_column(col, justify="left" if col == "candidate" else "right")
    for r in report["candidates"]:
        name = f"[bold]{r['name']}[/bold]" if r["name"] == report["chosen"]["name"] else r["name"]
        if r.get("error"):
            table.add_row(name, "not built", *[""] * (len(figures) - 2), r["error"][:60])
            continue
        table.add_row(name, *(f"{r[k]:.2f}" if r.get(k) is not None else "-" for k in figures))
    return table


def register(app: typer.Typer) -> None:
    app.command("tune")(tune_cmd)
