"""Accuracy tables for the screen (rich) and for files (Markdown)."""

from __future__ import annotations

from pathlib import Path


def markdown_table(header: list[str], rows) -> list[str]:
    """The lines of a Markdown table (a `|` inside a cell is escaped); every Markdown report writes with it."""
    def line(cells):
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    return [line(header), "|" + "---|" * len(header), *(line(r) for r in rows)]


# mIoU points a row may lose to the reference (first) row and still read "ok": a bigger drop is said
# beside the figure (an INT8 file 5 points down on one runtime was shown as "ok", issue 28).
MAX_DROP = 0.5


def over_budget(drop) -> str | None:
    """'over budget: drop 5.01 > 0.5' for a drop past MAX_DROP, else None."""
    return f"over budget: drop {drop:.2f} > {MAX_DROP:g}" if drop is not None and drop > MAX_DROP else None


def _fmt(v, suffix: str = "", digits: int = 2) -> str:
    return "-" if v is None else f"{v:.{digits}f}{suffix}"


def _size(a: dict) -> str:
    size = a.get("input_size")
    return f"{size[0]}x{size[1]}" if size else "image's"


def _mixed(report: dict) -> bool:
    """Rows at different input sizes (eval --mixed-sizes) get a size column; one size goes in the title."""
    return len({_size(a) for a in report["artifacts"]}) > 1


def _rows(report: dict):
    mixed = _mixed(report)
    for a in report["artifacts"]:
        drop = _fmt(a["miou_drop"]) + (" OVER BUDGET" if over_budget(a["miou_drop"]) else "")
        yield [Path(a["path"]).name, a["backend"], a["precision"], *([_size(a)] if mixed else []), _fmt(a["miou"]),
               drop, _fmt(a["agreement"], "%", 3), _fmt(a["pixel_acc"])]


HEADER = ["artifact", "backend", "precision", "mIoU", "drop (pts)", "agreement", "pixel acc"]


def _header(report: dict) -> list[str]:
    return HEADER[:3] + ["size"] + HEADER[3:] if _mixed(report) else HEADER


def _title_size(report: dict) -> str:
    rows = report["artifacts"]
    return "" if not rows or _mixed(report) else f", input {_size(rows[0])}"


def eval_table(report: dict):
    from rich.table import Table

    header = _header(report)
    table = Table(title=f"{report['dataset']} {report['split']}: {report['images']} images{_title_size(report)} "
                        f"(first row is the reference; resize: {report['resize']})")
    for i, h in enumerate(header):
        table.add_column(h, justify="left" if i < 3 or h == "size" else "right")
    for row in _rows(report):
        table.add_row(*row)
    return table


def eval_markdown(report: dict) -> str:
    names = report["classes"]
    per_class = [[Path(a["path"]).name, *(_fmt(a["per_class_iou"][n]) for n in names)] for a in report["artifacts"]]
    lines = [f"# {report['dataset']} {report['split']} ({report['images']} images)", "",
             *markdown_table(_header(report), _rows(report)), "", "## Per-class IoU", "",
             *markdown_table(["artifact", *names], per_class)]
    return "\n".join(lines) + "\n"
