"""The CLI's one log setup: what library code logs under `edgeseg.*` goes to stderr through Rich.

Library modules log with `logging.getLogger(__name__)` and never print; only the CLI decides
where records go and how much is shown. Each record is one plain line (no time or level
columns, so a log stays readable in CI): info as is, debug dim, warnings and errors with a
coloured prefix. `-v/--verbose` adds debug records, `-q/--quiet` keeps warnings and errors; both
are accepted before the command (`edgeseg -q export ...`) and after it (`edgeseg export -q ...`).
"""

from __future__ import annotations

import functools
import inspect
import logging

import typer
from rich.highlighter import NullHighlighter
from rich.logging import RichHandler
from rich.text import Text

from edgeseg.errors import EdgesegError

LOGGER = "edgeseg"
_PREFIX = {logging.WARNING: ("warning: ", "yellow"), logging.ERROR: ("error: ", "red"),
           logging.CRITICAL: ("error: ", "red")}

VERBOSE = typer.Option(False, "-v", "--verbose", help="also show debug messages", rich_help_panel="Logging")
QUIET = typer.Option(False, "-q", "--quiet", help="show only warnings and errors", rich_help_panel="Logging")


class LineHandler(RichHandler):
    """A RichHandler that prints a record as one line, never wrapped (a path stays greppable);
    Rich's console keeps log lines above a live progress bar instead of tearing it."""

    def emit(self, record: logging.LogRecord) -> None:
        prefix, style = _PREFIX.get(record.levelno, ("", ""))
        line = Text.assemble((prefix, style), self.render_message(record, self.format(record)))
        if record.levelno < logging.INFO:
            line.stylize("dim")
        try:
            self.console.print(line, soft_wrap=True)
        except Exception:  # noqa: BLE001 - logging's own rule: a broken stream never breaks the program
            self.handleError(record)


def configure(level: int = logging.INFO) -> logging.Logger:
    """Install the stderr handler on the `edgeseg` logger (once per process) and set its level."""
    from edgeseg.cli.common import console

    logger = logging.getLogger(LOGGER)
    for old in [h for h in logger.handlers if isinstance(h, LineHandler)]:
        logger.removeHandler(old)  # a new console each run: stderr may have been replaced (tests, pipes)
    handler = LineHandler(console=console(stderr=True), show_time=False, show_level=False, show_path=False,
                          markup=False, highlighter=NullHighlighter(), rich_tracebacks=False)
    logger.addHandler(handler)
    logger.setLevel(level)
    return logger


def set_verbosity(verbose: bool, quiet: bool) -> None:
    """Apply -v / -q; neither leaves the level as it is (so a root-level flag survives the command's)."""
    if verbose and quiet:
        raise EdgesegError("give -v/--verbose or -q/--quiet, not both")
    if verbose or quiet:
        logging.getLogger(LOGGER).setLevel(logging.DEBUG if verbose else logging.WARNING)


def with_verbosity(func):
    """`func` as a Typer command that also takes -v/--verbose and -q/--quiet (added to its signature)."""
    signature = inspect.signature(func, eval_str=True)
    extra = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=bool)
             for name, default in (("verbose", VERBOSE), ("quiet", QUIET)) if name not in signature.parameters]
    if not extra:
        return func

    @functools.wraps(func)
    def command(*args, verbose: bool = False, quiet: bool = False, **kwargs):
        set_verbosity(verbose, quiet)
        return func(*args, **kwargs)

    command.__signature__ = signature.replace(parameters=[*signature.parameters.values(), *extra])
    command.__annotations__ = {**getattr(func, "__annotations__", {}), "verbose": bool, "quiet": bool}
    return command


def add_verbosity(app: typer.Typer) -> None:
    """Give every command of `app` (and of its sub-apps) the -v/-q options."""
    for info in app.registered_commands:
        if info.callback is not None:
            info.callback = with_verbosity(info.callback)
    for group in app.registered_groups:
        sub = group.typer_instance
        if sub is None:
            continue
        add_verbosity(sub)
        # `edgeseg calib -v make`: the group's own callback takes -v/-q too
        given = sub.registered_callback
        if given is None or given.callback is None:
            sub.callback()(with_verbosity(_group))
        else:
            given.callback = with_verbosity(given.callback)


def _group() -> None:
    """(the group's callback: only -v/-q)"""
