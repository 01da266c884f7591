"""`edgeseg demo`: the README's first command; everything it needs ships with the repository."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from edgeseg.cli.common import console, print_table, progress


def demo_cmd(
    out: str = typer.Option("edgeseg-demo", "-o", "--out", help="work directory"),
    iters: int = typer.Option(30, help="timed iterations per model"),
    threads: Optional[int] = typer.Option(None, help="CPU threads (default: all cores)"),
):
    """Export FP32/FP16/INT8 of a trained S²-FPN18, evaluate, benchmark, print the table, plot."""
    from edgeseg.bench import report
    from edgeseg.bench.report import check_rows
    from edgeseg.demo import run_demo
    from edgeseg.errors import EdgesegError
    from edgeseg.filesystem import check_out_dir
    from edgeseg.video import e2e_line

    if iters < 1 or (threads is not None and threads < 1):
        raise EdgesegError(f"--iters and --threads must be at least 1 (got {iters} and {threads})")
    check_out_dir(out)
    t0 = time.perf_counter()
    result = run_demo(Path(out), iters, threads, progress)
    con, title = console(), "edgeseg demo: S²-FPN18 CamVid 180x240 on this CPU"
    print_table(con, report.rich_table(result["rows"], title), turned=lambda: report.rich_table_by_column(
        result["rows"], title))
    con.print(f"plot: {result['plot']}   predictions: {Path(out) / 'predictions'}/   "
              f"({time.perf_counter() - t0:.0f} s)", markup=False, highlight=False, soft_wrap=True)
    con.print(f"video {result['video']['outputs']['video']} ({result['video']['backend']}): "
              + e2e_line(result["video"]), markup=False, highlight=False, soft_wrap=True)
    check_rows(result["bench"])


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_cmd)
