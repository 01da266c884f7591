"""`edgeseg eval ARTIFACT... --data ROOT`: mIoU, drop and agreement against the first artifact."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from edgeseg.cli.common import console, parse_size, progress, write_reports


def eval_cmd(
    artifacts: list[str] = typer.Argument(..., help="checkpoints (.pth), ONNX models, engines; the first is the reference"),
    data: str = typer.Option(..., help="dataset root"),
    dataset: str = typer.Option("camvid", help="camvid | cityscapes | folder (ROOT/images + ROOT/labels, classes from the first artifact)"),
    split: str = typer.Option("val", help="split name (val, test) or a list file of 'image label' lines"),
    limit: Optional[int] = typer.Option(None, help="evaluate only the first N images"),
    batch: int = typer.Option(1, help="images per inference call (images of one size are batched)"),
    resize: str = typer.Option("logits", help="logits: resize logits to the label size (official); labels: labels to model size"),
    provider: str = typer.Option("cpu", help="ONNX Runtime provider: cpu | cuda | tensorrt"),
    backend: Optional[str] = typer.Option(None, help="ONNX models: onnxruntime (default) | openvino[:DEVICE]"),
    threads: Optional[int] = typer.Option(None, help="CPU threads per runner"),
    input_size: Optional[str] = typer.Option(None, help="HxW for checkpoints (default: the image's size)"),
    variant: Optional[str] = typer.Option(None, help="--variant for checkpoints (s2fpn34m)"),
    max_memory_gb: Optional[float] = typer.Option(None, help="refuse runs estimated above this many GB (default: the memory available now)"),
    json_out: Optional[str] = typer.Option(None, "--json", help="write results as JSON"),
    md_out: Optional[str] = typer.Option(None, "--md", help="write results as Markdown"),
    ray: Optional[str] = typer.Option(None, "--ray", help="shard the images over a Ray cluster: HEAD:PORT, or "
                                                           "'local' for a private one on this machine"),
    workers: Optional[int] = typer.Option(None, help="--ray: shards run in parallel (default: cluster CPUs / threads)"),
    ray_timeout: float = typer.Option(3600.0, help="--ray: seconds before unfinished shards fail the run"),
):
    """Evaluate artifacts on one split: per-class IoU, mIoU, pixel accuracy, drop, agreement."""
    from edgeseg.bench.accuracy import RESIZE_MODES, check_classes, evaluate
    from edgeseg.bench.tables import eval_markdown, eval_table
    from edgeseg.data.contract import DatasetInfo
    from edgeseg.data.datasets import open_dataset
    from edgeseg.errors import EdgesegError
    from edgeseg.runtime import open_runner

    from edgeseg.memory import set_limit_gb
    from edgeseg.outputs import check_out_file

    set_limit_gb(max_memory_gb)
    if resize not in RESIZE_MODES or batch < 1:  # checked before any model is loaded
        raise EdgesegError(f"--resize must be one of {', '.join(RESIZE_MODES)} and --batch at least 1")
    if limit is not None and limit < 1:
        raise EdgesegError(f"--limit must be at least 1, got {limit}")
    check_out_file(json_out, "--json")
    check_out_file(md_out, "--md")
    if ray:
        from edgeseg.fleet.cluster import preflight
        from edgeseg.fleet.shard import check_shardable

        check_shardable(artifacts, provider)
        preflight(ray)
    info = DatasetInfo.named(dataset) if dataset != "folder" else None
    runners = [open_runner(a, backend, provider=provider, threads=threads, variant=variant, input_size=parse_size(input_size),
                           dataset=dataset if info else None) for a in artifacts]
    try:
        for r in runners:
            r.activate()
        if info is None:
            if not runners[0].metadata.get("dataset"):
                raise EdgesegError(f"{artifacts[0]}: no dataset in its metadata; name one with --dataset camvid|cityscapes")
            info = DatasetInfo.from_dict(runners[0].metadata.get("dataset"))
        check_classes(runners, info)
        ds = open_dataset(data, dataset, split, limit, info)
        with progress(len(ds), "evaluating") as step:
            if ray:  # the runners above checked every artifact here; workers open their own copies
                from edgeseg.fleet.shard import evaluate_sharded

                options = {"provider": provider, "threads": threads, "variant": variant,
                           "input_size": parse_size(input_size), "dataset": None if dataset == "folder" else dataset}
                result = evaluate_sharded(artifacts, options, ds, address=ray, workers=workers, resize=resize,
                                          batch=batch, timeout=ray_timeout, progress=step)
            else:
                result = evaluate(runners, ds, resize=resize, batch=batch, progress=step)
    finally:
        for r in runners:
            r.deactivate()
    report = result.to_dict()
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
