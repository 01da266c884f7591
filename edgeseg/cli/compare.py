"""`edgeseg compare RESULTS.json...`: one accuracy/speed table across runs and devices, and a plot."""

from __future__ import annotations

import logging
from typing import Optional

import typer

from edgeseg.cli.common import Wide, console, print_table, write_reports

log = logging.getLogger(__name__)


def compare_cmd(
    results: list[str] = typer.Argument(..., help="JSON from `edgeseg bench --json` or `edgeseg eval --json`"),
    md_out: Optional[str] = typer.Option(None, "--md", help="write the table as Markdown"),
    csv_out: Optional[str] = typer.Option(None, "--csv", help="write the table as CSV (every column, raw numbers)"),
    plot: Optional[str] = typer.Option(None, help="write mIoU vs FPS with the Pareto front (PNG)"),
    title: str = typer.Option("mIoU vs FPS", help="title of the table and the plot"),
    max_miou_drop: float = typer.Option(0.3, help="the plot's budget band: mIoU points below the FP32 reference"),
    wide: Wide = False,
):
    """Merge results into one table; eval files add mIoU to the timed rows of the same artifact.

    Rows without mIoU (or without FPS) are listed in the table but cannot be placed on the plot.
    """
    from edgeseg.bench import report
    from edgeseg.bench.plot import draw, plottable

    from edgeseg.filesystem import check_out_file

    for path, option in ((md_out, "--md"), (csv_out, "--csv"), (plot, "--plot")):
        check_out_file(path, option)
    rows = report.load_rows(results)
    print_table(console(), report.rich_table(rows, title, wide), wide, lambda: report.rich_table_by_column(rows, title))
    write_reports(md=(md_out, lambda: report.markdown(rows, title)), csv=(csv_out, lambda: report.csv_text(rows)))
    if plot:
        plotted = draw(rows, plot, title, max_miou_drop)
        shown = {id(r) for r in plottable(rows)}
        missing = [r["artifact"] + (f" on {r['device']}" if r["device"] != report.NO_DEVICE else "")
                   for r in rows if id(r) not in shown]
        note = f"plot: {plotted} rows"
        if missing:
            note += f"; {len(missing)} without FPS or mIoU not plotted ({', '.join(missing)})"
        log.info(note)


def register(app: typer.Typer) -> None:
    app.command("compare")(compare_cmd)
