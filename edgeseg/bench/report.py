"""One accuracy/speed table from bench and eval JSON files, for screen, Markdown and CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from edgeseg.errors import EdgesegError

COLUMNS = ["artifact", "precision", "backend", "device", "median ms", "p99 ms", "FPS", "GPU ms", "W", "FPS/W",
           "mIoU", "drop", "status"]


def load_rows(paths) -> list[dict]:
    """Normalised rows from `edgeseg bench --json` and `edgeseg eval --json` files."""
    rows = []
    for p in paths:
        try:
            data = json.loads(Path(p).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise EdgesegError(f"{p}: not a readable results JSON ({exc})") from None
        rows += _rows_of(data, p)
    return _merge(rows)


def load_rows_from(data: dict) -> list[dict]:
    return _merge(_rows_of(data, "results"))


def _rows_of(data: dict, source) -> list[dict]:
    if "rows" in data:
        device = data.get("device", {})
        name = device.get("jetson_model") or (device.get("gpus") or [{}])[0].get("name") or device.get("cpu", "?")
        return [_bench_row(r, f"{device.get('profile', '?')}: {name}") for r in data["rows"]]
    if "artifacts" in data:
        return [{"artifact": Path(a["path"]).name, "path": a["path"], "precision": a.get("precision"),
                 "backend": a.get("backend"), "device": "-", "miou": a.get("miou"), "drop": a.get("miou_drop"),
                 "status": "ok"} for a in data["artifacts"]]
    raise EdgesegError(f"{source}: neither bench nor eval results (no 'rows' or 'artifacts')")


def _bench_row(r: dict, device: str) -> dict:
    e2e = r.get("end_to_end", {})
    return {"artifact": Path(r["path"]).name, "path": r["path"], "precision": r.get("precision"),
            "backend": r.get("backend"), "device": device, "median_ms": e2e.get("median_ms"),
            "p99_ms": e2e.get("p99_ms"), "fps": e2e.get("fps"),
            "gpu_ms": r.get("gpu_compute", {}).get("median_ms"), "power_w": r.get("power_w"),
            "fps_per_watt": r.get("fps_per_watt"), "miou": r.get("miou"), "drop": r.get("miou_drop"),
            "status": r.get("status", "ok") if r.get("status") == "ok" else f"failed: {r.get('reason')}"}


def _merge(rows: list[dict]) -> list[dict]:
    """An eval row fills the accuracy of bench rows of the same artifact that lack it."""
    acc = {r["path"]: r for r in rows if r["device"] == "-"}
    timed = [r for r in rows if r["device"] != "-"]
    for r in timed:
        a = acc.get(r["path"])
        if a and r.get("miou") is None:
            r["miou"], r["drop"] = a["miou"], a["drop"]
    seen = {r["path"] for r in timed}
    return timed + [r for r in acc.values() if r["path"] not in seen]


def _cells(r: dict) -> list[str]:
    def f(v, d=2):
        return "-" if v is None else f"{v:.{d}f}"

    return [r["artifact"], r.get("precision") or "-", r.get("backend") or "-", r["device"], f(r.get("median_ms")),
            f(r.get("p99_ms")), f(r.get("fps"), 1), f(r.get("gpu_ms")), f(r.get("power_w")),
            f(r.get("fps_per_watt")), f(r.get("miou")), f(r.get("drop"), 3), r["status"]]


def rich_table(rows, title="accuracy / speed"):
    from rich.table import Table

    t = Table(title=title)
    for i, c in enumerate(COLUMNS):
        t.add_column(c, justify="left" if i < 4 or c == "status" else "right")
    for r in rows:
        t.add_row(*_cells(r))
    return t


def markdown(rows) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_cells(r)) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def csv_text(rows) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(COLUMNS)
    for r in rows:
        w.writerow(_cells(r))
    return buf.getvalue()
