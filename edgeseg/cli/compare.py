"""`edgeseg compare RESULTS.json...`: one accuracy/speed table across runs and devices, and a plot."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from edgeseg.cli.common import console


def compare_cmd(
    results: list[str] = typer.Argument(..., help="JSON from `edgeseg bench --json` or `edgeseg eval --json`"),
    md_out: Optional[str] = typer.Option(None, "--md", help="write the table as Markdown"),
    csv_out: Optional[str] = typer.Option(None, "--csv", help="write the table as CSV"),
    plot: Optional[str] = typer.Option(None, help="write mIoU vs FPS with the Pareto front (PNG)"),
):
    """Merge results into one table; rows without mIoU are listed but not plotted."""
    from edgeseg.artifacts import atomic_path
    from edgeseg.bench import report
    from edgeseg.bench.plot import draw

    rows = report.load_rows(results)
    console().print(report.rich_table(rows))
    for out, text in ((md_out, report.markdown), (csv_out, report.csv_text)):
        if out:
            with atomic_path(out) as tmp:
                Path(tmp).write_text(text(rows))
    if plot:
        plotted = draw(rows, plot)
        missing = len(rows) - plotted
        console(stderr=True).print(f"plot: {plotted} rows" + (f"; {missing} without FPS or mIoU not plotted" if missing else ""))


def register(app: typer.Typer) -> None:
    app.command("compare")(compare_cmd)
