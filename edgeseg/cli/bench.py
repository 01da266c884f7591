"""`edgeseg bench ARTIFACT...`: latency statistics per backend, optionally with mIoU and drop."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from edgeseg.cli.common import console, parse_size


def bench_cmd(
    artifacts: list[str] = typer.Argument(..., help="checkpoints, ONNX models, engines; the first is the accuracy reference"),
    device: str = typer.Option("cpu", help="device profile: cpu | cuda | jetson-orin | jetson-orin-nx | jetson-orin-nano | jetson-xavier"),
    input_size: Optional[str] = typer.Option(None, help="HxW (default: the artifact's, else the profile's)"),
    batch: int = typer.Option(1, help="batch size"),
    warmup: int = typer.Option(10, help="untimed iterations first"),
    iters: Optional[int] = typer.Option(None, help="timed iterations (default 100)"),
    duration: Optional[float] = typer.Option(None, help="time for S seconds instead of --iters"),
    threads: Optional[int] = typer.Option(None, help="CPU threads (ONNX Runtime intra-op, PyTorch)"),
    provider: str = typer.Option("cpu", help="ONNX Runtime provider: cpu | cuda | tensorrt"),
    data: Optional[str] = typer.Option(None, help="dataset root: also measure mIoU and drop"),
    dataset: str = typer.Option("camvid", help="camvid | cityscapes | folder"),
    split: str = typer.Option("val", help="split or list file for --data"),
    limit: Optional[int] = typer.Option(None, help="evaluate at most N images"),
    json_out: Optional[str] = typer.Option(None, "--json", help="write results JSON (for `edgeseg compare`)"),
    md_out: Optional[str] = typer.Option(None, "--md", help="write the table as Markdown"),
):
    """Warm-up, timed iterations; mean/median/p90/p99 latency, FPS, GPU compute vs end-to-end."""
    from edgeseg.artifacts import atomic_path, write_json
    from edgeseg.bench import report
    from edgeseg.bench.run import BenchSettings, attach_accuracy, run_bench
    from edgeseg.errors import EdgesegError

    if iters is not None and duration is not None:
        raise EdgesegError("give either --iters or --duration, not both")
    if batch < 1 or warmup < 0:
        raise EdgesegError("--batch must be >= 1 and --warmup >= 0")
    settings = BenchSettings(device, parse_size(input_size), batch, warmup, None if duration else (iters or 100),
                             duration, threads, provider, {"input_size": parse_size(input_size)})
    err = console(stderr=True)
    result = run_bench(artifacts, settings, log=lambda m: err.print(f"[dim]{m}[/dim]"))
    if data:
        attach_accuracy(result, _evaluate(artifacts, data, dataset, split, limit, provider, threads))
    rows = report.load_rows_from(result)
    console().print(report.rich_table(rows, f"edgeseg bench on {result['device']['cpu']}"))
    if json_out:
        write_json(json_out, result)
    if md_out:
        with atomic_path(md_out) as tmp:
            Path(tmp).write_text(report.markdown(rows))


def _evaluate(artifacts, data, dataset, split, limit, provider, threads) -> dict:
    from edgeseg.bench.accuracy import evaluate
    from edgeseg.data.datasets import open_dataset
    from edgeseg.runtime import open_runner

    runners = [open_runner(a, provider=provider, threads=threads) for a in artifacts]
    try:
        for r in runners:
            r.activate()
        return evaluate(runners, open_dataset(data, dataset, split, limit)).to_dict()
    finally:
        for r in runners:
            r.deactivate()


def register(app: typer.Typer) -> None:
    app.command("bench")(bench_cmd)
