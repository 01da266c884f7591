"""`edgeseg inspect CKPT`: what a checkpoint holds, before anything is exported."""

from __future__ import annotations

from typing import Optional

import typer

from edgeseg.cli.common import console, parse_size, print_json


def inspect_cmd(
    checkpoint: str = typer.Argument(..., help="official S²-FPN / SPFNet checkpoint (.pth)"),
    variant: Optional[str] = typer.Option(None, help="s2fpn18|s2fpn34|s2fpn34m|spfnet18|spfnet34 (34M cannot be detected)"),
    input_size: Optional[str] = typer.Option(None, help="HxW for the FLOP count (default: the dataset's size)"),
    json_out: bool = typer.Option(False, "--json", help="print one JSON object"),
):
    """Generation, encoder, classes, parameters, GFLOPs, epoch and unused keys of a checkpoint."""
    from edgeseg.data.contract import DatasetInfo
    from edgeseg.models import archspec
    from edgeseg.models.checkpoint import describe_checkpoint

    ckpt = describe_checkpoint(checkpoint, variant)  # shapes are all that is counted: no torch
    dataset = DatasetInfo.for_classes(ckpt.arch.classes)
    size = parse_size(input_size) or tuple(dataset.input_size)
    used = archspec.count_params(ckpt.arch)
    info = {
        **ckpt.summary(),
        "params": used + ckpt.unused_params,
        "params_used": used,
        "input_size": list(size),
        "gflops": round(archspec.count_flops(ckpt.arch, size) / 1e9, 3),
        "likely_dataset": dataset.name,
    }
    if json_out:
        print_json(info)
        return
    console().print(_table(checkpoint, info, ckpt, dataset, size, variant))
    if ckpt.nonfinite:
        console(stderr=True).print(f"warning: {ckpt.nonfinite_note()}", style="yellow", markup=False)


def _table(checkpoint, info: dict, ckpt, dataset, size, variant):
    from rich.table import Table

    used = info["params_used"]
    table = Table(title=f"edgeseg inspect {checkpoint}", show_header=False)
    rows = [
        ("model", f"{info['variant']} ({info['family']}, generation {info['generation']})"),
        ("encoder", info["encoder"] + ("" if variant else "  (ResNet-34M cannot be detected: pass --variant)" if ckpt.arch.depth == 34 and info["family"] == "s2fpn" else "")),
        ("classes", f"{info['classes']} (likely {dataset.name})"),
        ("parameters", f"{info['params']:,}" + (f" ({used:,} used)" if ckpt.unused_params else "")),
        (f"GFLOPs @ {size[0]}x{size[1]}", f"{info['gflops']:.2f}"),
        ("epoch", str(info["epoch"]) if info["epoch"] is not None else "not stored"),
        ("layout", info["layout"] + (" with module. prefix" if ckpt.prefixed else "")),
        ("stored dtypes", ", ".join(ckpt.dtypes)),
        ("NaN/Inf weights", f"[red]{len(ckpt.nonfinite)} tensor(s), first {ckpt.nonfinite[0]}: "
                            "not usable[/red]" if ckpt.nonfinite else "none"),
        ("unused keys", f"{len(ckpt.unused)} ({', '.join(sorted({k.split('.')[0] for k in ckpt.unused}))})" if ckpt.unused else "none"),
    ]
    for k, v in rows:
        table.add_row(k, v)
    return table


def register(app: typer.Typer) -> None:
    app.command("inspect")(inspect_cmd)
