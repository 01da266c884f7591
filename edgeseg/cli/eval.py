"""`edgeseg eval ARTIFACT... --data ROOT`: mIoU, drop and agreement against the first artifact."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from edgeseg.cli.common import console, parse_size


def eval_cmd(
    artifacts: list[str] = typer.Argument(..., help="checkpoints (.pth), ONNX models, engines; the first is the reference"),
    data: str = typer.Option(..., help="dataset root"),
    dataset: str = typer.Option("camvid", help="camvid | cityscapes | folder"),
    split: str = typer.Option("val", help="split name (val, test) or a list file"),
    limit: Optional[int] = typer.Option(None, help="evaluate only the first N images"),
    resize: str = typer.Option("logits", help="logits: resize logits to the label size (official); labels: labels to model size"),
    provider: str = typer.Option("cpu", help="ONNX Runtime provider: cpu | cuda | tensorrt"),
    threads: Optional[int] = typer.Option(None, help="CPU threads per runner"),
    input_size: Optional[str] = typer.Option(None, help="HxW for checkpoints (default: the image's size)"),
    variant: Optional[str] = typer.Option(None, help="--variant for checkpoints (s2fpn34m)"),
    json_out: Optional[str] = typer.Option(None, "--json", help="write results as JSON"),
    md_out: Optional[str] = typer.Option(None, "--md", help="write results as Markdown"),
):
    """Evaluate artifacts on one split: per-class IoU, mIoU, pixel accuracy, drop, agreement."""
    from edgeseg.bench.accuracy import evaluate
    from edgeseg.bench.tables import eval_markdown, eval_table
    from edgeseg.data.contract import DatasetInfo
    from edgeseg.data.datasets import open_dataset
    from edgeseg.artifacts import write_json
    from edgeseg.runtime import open_runner

    info = DatasetInfo.named(dataset) if dataset != "folder" else None
    runners = [open_runner(a, provider=provider, threads=threads, variant=variant, input_size=parse_size(input_size),
                           dataset=dataset if dataset != "folder" else None) for a in artifacts]
    err = console(stderr=True)
    try:
        for r in runners:
            r.activate()
        if info is None:
            info = DatasetInfo.from_dict(runners[0].metadata["dataset"])
        ds = open_dataset(data, dataset, split, limit, info)
        with _progress(err, len(ds), "evaluating") as step:
            result = evaluate(runners, ds, resize=resize, progress=step)
    finally:
        for r in runners:
            r.deactivate()
    report = result.to_dict()
    console().print(eval_table(report))
    if json_out:
        write_json(json_out, report)
    if md_out:
        from edgeseg.artifacts import atomic_path

        with atomic_path(md_out) as tmp:
            Path(tmp).write_text(eval_markdown(report))


class _progress:
    """A rich progress bar on stderr that `evaluate` advances once per image."""

    def __init__(self, console, total: int, what: str):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        self.bar = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                            TimeRemainingColumn(), console=console, transient=True)
        self.task = self.bar.add_task(what, total=total)

    def __enter__(self):
        self.bar.start()
        return lambda: self.bar.advance(self.task)

    def __exit__(self, *exc):
        self.bar.stop()


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_cmd)
