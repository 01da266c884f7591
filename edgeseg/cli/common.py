"""Small helpers shared by the command modules: the options several commands take (as
`Annotated` aliases, grouped into help panels), option parsing, output, progress."""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Annotated, Optional

import typer

from edgeseg.errors import EdgesegError

# Help panels, in the order a reader meets them.
OUTPUT, MODEL, VERIFY, QUANT, ENGINE = "Output", "Model & contract", "Verification", "INT8/FP8 calibration", "Engine"
TIMING, DATA, CLUSTER, RUN = "Timing", "Accuracy data", "Ray cluster", "Runtime"


class Size(tuple):
    """(height, width), as `parse_size` reads HxW."""


class Triple(tuple):
    """(B, G, R), as `parse_triple` reads B,G,R."""


class Names(tuple):
    """A comma list (device targets, precisions), as `parse_names` reads it."""


def _opt(kind, *decls: str, help: str, panel: str):
    return Annotated[kind, typer.Option(*decls, help=help, rich_help_panel=panel)]


InputSize = Annotated[Optional[Size], typer.Option("--input-size", help="HxW (default: the artifact's or the "
                                                  "dataset's)", rich_help_panel=MODEL, parser=lambda t: parse_size(t),
                                                  metavar="HxW")]
Variant = _opt(Optional[str], "--variant", help="s2fpn34m for ResNet-34M checkpoints", panel=MODEL)
Calib = _opt(Optional[str], "--calib", help="INT8/FP8: calibration manifest, list file or image folder", panel=QUANT)
CalibData = _opt(Optional[str], "--calib-data", help="INT8/FP8: dataset root that --calib paths are relative to",
                 panel=QUANT)
# The calibration root was --data in export, tune and fleet tune, where other commands score --data: kept one release.
DataAsCalibRoot = Annotated[Optional[str], typer.Option("--data", hidden=True, help="deprecated: --calib-data")]
ValSplit = _opt(Optional[str], "--val", help="labelled validation data, ROOT[:SPLIT] or a list file", panel=QUANT)
Workspace = _opt(Optional[float], "--workspace", help="engine: workspace in GB", panel=ENGINE)
TimingCache = _opt(Optional[str], "--timing-cache", help="engine: timing cache file, read if present and written back",
                   panel=ENGINE)
Runtime = _opt(Optional[str], "--runtime", help="engine: tensorrt (default) | tensorrt-rtx (RTX GPUs, builds anywhere)",
               panel=ENGINE)
ComputeCapability = _opt(Optional[str], "--compute-capability", help="engine, tensorrt-rtx: target GPUs, e.g. "
                         "8.6,8.9,12.0", panel=ENGINE)
MaxMemory = _opt(Optional[float], "--max-memory-gb", help="refuse runs estimated above this many GB (default: the "
                 "memory available now)", panel=OUTPUT)
MdOut = _opt(Optional[str], "--md", help="write the table as Markdown", panel=OUTPUT)
Wide = _opt(bool, "--wide", help="every column in the table, also those the same in every row (default: named "
            "once below it)", panel=OUTPUT)
Threads = _opt(Optional[int], "--threads", help="CPU threads per runner (default: the backend's)", panel=TIMING)
Streams = _opt(Optional[int], "--streams", help="OpenVINO: compile for throughput with N streams (default: what a "
               "throughput tune pick recorded, else for latency)", panel=TIMING)
Batch = _opt(Optional[int], "--batch", help="batch size (default 1)", panel=TIMING)
Warmup = _opt(Optional[int], "--warmup", help="untimed iterations first (default 10)", panel=TIMING)
Iters = _opt(Optional[int], "--iters", help="timed iterations (default 100)", panel=TIMING)
Duration = _opt(Optional[float], "--duration", help="time for S seconds instead of --iters", panel=TIMING)
# The scored (labelled) dataset: --val in every command, as export and tune spell it; the calibration root is --calib-data.
Val = Annotated[Optional[str], typer.Option("--val", help="labelled dataset to score: ROOT[:SPLIT] (split default "
                                            "val) or a list file of 'image label' lines", rich_help_panel=DATA,
                                            parser=lambda t: parse_split(t), metavar="ROOT[:SPLIT]")]
# Until this release eval, bench and fleet bench spelled it --data ROOT --split S: kept one release.
OldData = Annotated[Optional[str], typer.Option("--data", hidden=True, help="deprecated: --val ROOT[:SPLIT]")]
OldSplit = Annotated[Optional[str], typer.Option("--split", hidden=True, help="deprecated: --val ROOT:SPLIT")]
DatasetKind = _opt(Optional[str], "--dataset", help="camvid (default) | cityscapes | folder", panel=DATA)
Limit = _opt(Optional[int], "--limit", help="evaluate at most N images", panel=DATA)


def parse_size(text: str | None) -> Size | None:
    """'360x480' -> (360, 480): the one reader of HxW, every command's (Typer `parser=`)."""
    if text is None or isinstance(text, tuple):
        return text
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise EdgesegError(f"input size must look like HxW (e.g. 360x480), got {text!r}") from None
    if h <= 0 or w <= 0:
        raise EdgesegError(f"input size must be positive, got {text!r}")
    return Size((h, w))


def parse_triple(flag: str):
    """A parser of B,G,R for the option `flag` ('104,117,123' -> three floats), naming it when refused."""
    def parse(text: str | None) -> Triple | None:
        if text is None or isinstance(text, tuple):
            return text
        try:
            values = tuple(float(v) for v in text.split(","))
        except ValueError:
            values = ()
        if len(values) != 3:
            raise EdgesegError(f"{flag} needs three comma-separated numbers (B,G,R), got {text!r}")
        return Triple(values)

    return parse


def parse_names(text: str | None) -> Names | None:
    """'a, b,,c' -> ('a', 'b', 'c'): the one reader of comma lists (fleet targets, precisions)."""
    if text is None or isinstance(text, tuple):
        return text
    return Names(p.strip() for p in text.split(",") if p.strip())


def parse_split(text: str | None) -> str | None:
    """ROOT[:SPLIT] or a list file, checked by the library's one reader of it (data/datasets.split_root)."""
    from edgeseg.data.datasets import split_root

    if text is not None:
        split_root(text)
    return text


def deprecated_alias(value, old_value, old: str, new: str):
    """`value`, or `old_value` given by its old spelling `old` with a one-line note on stderr."""
    if old_value is None:
        return value
    if value is not None:
        raise EdgesegError(f"{old} is the old spelling of {new}; give only {new}")
    sys.stderr.write(f"note: {old} is now {new} here (the old spelling goes in the next release)\n")
    return old_value


def scored_val(val: str | None, data: str | None, split: str | None) -> str | None:
    """The scored dataset, `--val ROOT[:SPLIT]`, or the old `--data ROOT [--split S]` (one release, noted)."""
    val = deprecated_alias(val, data, "--data", "--val")
    if split is not None:
        deprecated_alias(None, split, "--split S", "--val ROOT:S")
        if val is None:
            raise EdgesegError("--split names a split of a dataset: give --val ROOT:SPLIT")
        val = parse_split(f"{val}:{split}")
    return val


def given(**options) -> dict:
    """The options a user gave (None: not given), to build a library dataclass by name: its defaults
    are written there once, never restated by a command."""
    return {k: v for k, v in options.items() if v is not None}


def flags_of(command) -> dict[str, str]:
    """Each parameter of a Typer command -> the flag a user types for it: the first long
    declaration (for an on/off pair, the off one: what turns a library default of on away)."""
    import inspect
    import typing

    from typer.models import ParameterInfo

    hints = typing.get_type_hints(command, include_extras=True)
    flags = {}
    for name, param in inspect.signature(command).parameters.items():
        infos = [m for m in getattr(hints.get(name), "__metadata__", ()) if isinstance(m, ParameterInfo)]
        info = infos[0] if infos else param.default if isinstance(param.default, ParameterInfo) else None
        given = tuple(getattr(info, "param_decls", None) or ())
        if infos and isinstance(info.default, str) and info.default.startswith("-"):
            given = (info.default, *given)  # Annotated: Typer reads a first argument like '--x' as a declaration
        longs = [d for decl in given for d in decl.split("/") if d.startswith("--")]
        flags[name] = longs[-1] if "/" in "".join(given) else longs[0] if longs else "--" + name.replace("_", "-")
    return flags


def names_fields(command):
    """Wrap a command so that an OptionError from the library names each option as this command's flag:
    a field path (`quant.calib`) is the flag of the parameter named as the field (`calib`)."""
    import functools

    from edgeseg.errors import OptionError

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except OptionError as exc:
            flags = flags_of(command)
            name = exc.render(lambda path: flags.get(path.rpartition(".")[2]) or OptionError.default_name(path))
            raise EdgesegError(name) from None

    return wrapper


WIDTH = 100  # columns of a table written to a pipe or a log


def console(stderr: bool = False):
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Pipes and CI logs get a fixed 100 columns (rich would take 80); tables are made to fit it. A line
    # of text is never cut (soft_wrap): paths and messages stay one greppable line.
    return Console(stderr=stderr, highlight=False, width=None if stream.isatty() else WIDTH, soft_wrap=True)


def show_results(result: dict, title: str, json_out=None, md_out=None, plot=None, notes=None, wide=False) -> None:
    """A bench result's table (and how it was measured) on stdout; JSON, Markdown and the plot when asked.
    Columns the same in every row are named once below the table, unless `wide`."""
    from edgeseg.bench import report

    rows = report.load_rows_from(result)
    notes = report.describe(result) if notes is None else notes
    out = console()
    print_table(out, report.rich_table(rows, title, wide), wide, lambda: report.rich_table_by_column(rows, title))
    for line in notes:
        out.print(line, style="dim", markup=False, highlight=False, soft_wrap=True)  # one greppable line
    write_reports(json_out, result, md=(md_out, lambda: report.markdown(rows, title, notes)))
    if plot:
        from edgeseg.bench.plot import draw

        console(stderr=True).print(f"plot: {draw(rows, plot, title)} rows", markup=False)


def print_table(out, table, wide: bool = False, turned=None) -> None:
    """`table` on `out`; `wide` (every column) widens the console to the table rather than crop it;
    otherwise a table too wide even with its cells wrapped is printed as `turned()` when given."""
    from rich.measure import Measurement

    needs = Measurement.get(out, out.options.update(width=10_000), table)
    if wide:
        out.width = max(out.width, needs.maximum)
    elif turned is not None and needs.minimum > out.width:
        table = turned()
    out.print(table)


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


class _Bars:
    """The one live Rich progress display of a command: phases opened inside another phase
    (calibration inside tune's building) add a line to it, since Rich draws one live display."""

    live = None
    depth = 0


@contextlib.contextmanager
def progress(total: int | None, what: str):
    """A phase of library work, shown on stderr: on a terminal a transient bar with counts and an
    ETA (a spinner and elapsed time when `total` is None); elsewhere (CI logs, pipes) one line when
    the phase ends, with its count and seconds; nothing under -q. Yields the step function that a
    library loop calls once per item, so the library itself never draws."""
    import logging
    import time

    if not logging.getLogger("edgeseg").isEnabledFor(logging.INFO):  # -q: warnings and errors only
        yield lambda n=1: None
        return
    err = console(stderr=True)
    if not err.is_terminal:
        done, t0 = [0], time.perf_counter()

        def step(n=1):
            done[0] += n

        yield step
        count = f"{done[0]}/{total} " if total else (f"{done[0]} " if done[0] else "")
        err.print(f"{what}: {count}done in {time.perf_counter() - t0:.1f} s", markup=False, highlight=False)
        return
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    if _Bars.live is None:
        _Bars.live = Progress(SpinnerColumn(), "[progress.description]{task.description}", BarColumn(),
                              MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(), console=err,
                              transient=True)
        _Bars.live.start()
    bar = _Bars.live
    _Bars.depth += 1
    task = bar.add_task(what, total=total)
    try:
        yield lambda n=1: bar.advance(task, n)
    finally:
        bar.remove_task(task)
        _Bars.depth -= 1
        if _Bars.depth == 0:
            bar.stop()
            _Bars.live = None
