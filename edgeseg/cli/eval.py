"""`edgeseg eval ARTIFACT... --val ROOT[:SPLIT]`: mIoU, drop and agreement against the first artifact."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from edgeseg.cli.common import (CLUSTER, DATA, MODEL, OUTPUT, RUN, MaxMemory, OldData, OldSplit, Size, Val, Variant, console,
                                given, names_fields, parse_size, progress, scored_val, write_reports)


# Parameters are named as EvalRequest's fields; None: its default. Its errors name these flags (names_fields).
@names_fields
def eval_cmd(
    artifacts: Annotated[list[str], typer.Argument(help="checkpoints (.pth), ONNX models, engines; the first is "
                                                        "the reference")],
    val: Val = None,
    data: OldData = None,
    split: OldSplit = None,
    dataset: Annotated[Optional[str], typer.Option(help="camvid (default) | cityscapes | folder (ROOT/images + "
                                                   "ROOT/labels, classes from the first artifact)",
                                                   rich_help_panel=DATA)] = None,
    limit: Annotated[Optional[int], typer.Option(help="evaluate only the first N images", rich_help_panel=DATA)] = None,
    batch: Annotated[Optional[int], typer.Option(help="images per inference call (images of one size are batched; "
                                                 "default 1)", rich_help_panel=RUN)] = None,
    resize: Annotated[Optional[str], typer.Option(help="logits (default): resize logits to the label size "
                                                  "(official); labels: labels to model size",
                                                  rich_help_panel=RUN)] = None,
    provider: Annotated[Optional[str], typer.Option(help="ONNX Runtime provider: cpu (default) | cuda | tensorrt",
                                                    rich_help_panel=RUN)] = None,
    backend: Annotated[Optional[str], typer.Option(help="ONNX models: onnxruntime | openvino[:DEVICE] (default: the cpu profile's, as run and bench)",
                                                   rich_help_panel=RUN)] = None,
    threads: Annotated[Optional[int], typer.Option(help="CPU threads per runner", rich_help_panel=RUN)] = None,
    input_size: Annotated[Optional[Size], typer.Option(help="HxW for checkpoints (default: the image's size)",
                                                       rich_help_panel=MODEL, parser=parse_size, metavar="HxW")] = None,
    mixed_sizes: Annotated[bool, typer.Option("--mixed-sizes", help="compare artifacts that run at different "
                                              "input sizes (default: refused, since the size alone changes mIoU)",
                                              rich_help_panel=MODEL)] = False,
    variant: Variant = None,
    max_memory_gb: MaxMemory = None,
    json_out: Annotated[Optional[str], typer.Option("--json", help="write results as JSON",
                                                    rich_help_panel=OUTPUT)] = None,
    md_out: Annotated[Optional[str], typer.Option("--md", help="write results as Markdown",
                                                  rich_help_panel=OUTPUT)] = None,
    ray: Annotated[Optional[str], typer.Option("--ray", help="shard the images over a Ray cluster: HEAD:PORT, or "
                                               "'local' for a private one on this machine",
                                               rich_help_panel=CLUSTER)] = None,
    workers: Annotated[Optional[int], typer.Option(help="--ray: shards run in parallel (default: cluster CPUs / "
                                                   "threads)", rich_help_panel=CLUSTER)] = None,
    ray_timeout: Annotated[float, typer.Option(help="--ray: seconds before unfinished shards fail the run",
                                               rich_help_panel=CLUSTER)] = 3600.0,
):
    """Evaluate artifacts on one split: per-class IoU, mIoU, pixel accuracy, drop, agreement."""
    from edgeseg.bench.eval_run import EvalRequest, check_request, run_eval
    from edgeseg.bench.tables import eval_markdown, eval_table
    from edgeseg.memory import set_limit_gb
    from edgeseg.filesystem import check_out_file

    set_limit_gb(max_memory_gb)
    request = EvalRequest(val=scored_val(val, data, split), **given(
        dataset=dataset, limit=limit, batch=batch, resize=resize, provider=provider, backend=backend, threads=threads,
        input_size=input_size, variant=variant, mixed_sizes=mixed_sizes))
    check_request(request)
    check_out_file(json_out, "--json")
    check_out_file(md_out, "--md")
    sharded = None
    if ray:
        from edgeseg.fleet.shard import ray_evaluator

        sharded = ray_evaluator(ray, artifacts, request.provider, workers, ray_timeout)
    report = run_eval(artifacts, request, progress, sharded)
    out = console()
    out.print(eval_table(report))
    out.print(per_class_table(report))
    write_reports(json_out, report, md=(md_out, lambda: eval_markdown(report)))


def per_class_table(report: dict):
    """IoU per class (rows) for every artifact (columns), so a class that collapses stands out."""
    from rich.table import Table

    table = Table(title="per-class IoU (%)")
    table.add_column("class")
    for i, a in enumerate(report["artifacts"]):
        table.add_column(f"{i + 1}. {Path(a['path']).name}", justify="right")
    for name in report["classes"]:
        cells = [a["per_class_iou"][name] for a in report["artifacts"]]
        table.add_row(name, *("-" if v is None else f"{v:.2f}" for v in cells))
    return table


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_cmd)
