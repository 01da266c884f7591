"""Small helpers shared by the command modules (option parsing, output, progress)."""

from __future__ import annotations

import contextlib
import json
import sys

from edgeseg.errors import EdgesegError


def parse_size(text: str | None) -> tuple[int, int] | None:
    """'360x480' -> (360, 480)."""
    if text is None:
        return None
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise EdgesegError(f"input size must look like HxW (e.g. 360x480), got {text!r}") from None
    if h <= 0 or w <= 0:
        raise EdgesegError(f"input size must be positive, got {text!r}")
    return h, w


def parse_triple(text: str | None, what: str) -> tuple[float, float, float] | None:
    if text is None:
        return None
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3:
        raise EdgesegError(f"{what} needs three comma-separated numbers (B,G,R), got {text!r}")
    return values


def console(stderr: bool = False):
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Pipes and CI logs get a fixed width instead of rich's 80 columns, so tables stay readable.
    return Console(stderr=stderr, highlight=False, width=None if stream.isatty() else 150)


def print_json(data: dict) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


def write_reports(json_out=None, data: dict | None = None, **texts) -> None:
    """A command's report files, each written atomically (never half a table): `json_out` gets
    `data`; each other keyword is (path or None, a function making the text), made only when asked."""
    from pathlib import Path

    from edgeseg.artifacts import atomic_path, write_json

    if json_out:
        write_json(json_out, data)
    for path, make in texts.values():
        if path:
            with atomic_path(path) as tmp:
                Path(tmp).write_text(make())


@contextlib.contextmanager
def progress(total: int, what: str):
    """A transient Rich progress bar on stderr; yields the step function that a library loop
    (`evaluate`, calibration) calls once per item, so the library itself never draws."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    bar = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                   TimeRemainingColumn(), console=console(stderr=True), transient=True)
    task = bar.add_task(what, total=total)
    with bar:
        yield lambda n=1: bar.advance(task, n)
