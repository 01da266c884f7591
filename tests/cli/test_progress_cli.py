"""The CLI's progress: one line per phase (count, seconds) when stderr is not a terminal, a live bar
on a terminal; phases nest (calibration inside tune's building) without two live displays."""

import io
import logging

import pytest
from rich.console import Console

from edgeseg.cli import common
from edgeseg.progress import phase, silent


@pytest.fixture(autouse=True)
def info_level():
    """As the CLI sets it (edgeseg.cli.logs.configure); -q raises it and the progress goes quiet."""
    logger = logging.getLogger("edgeseg")
    before = logger.level
    logger.setLevel(logging.INFO)
    yield
    logger.setLevel(before)


def test_quiet_shows_no_progress(capsys):
    logging.getLogger("edgeseg").setLevel(logging.WARNING)
    with phase(common.progress, 2, "evaluating") as advance:
        advance()
    assert capsys.readouterr().err == ""


def test_one_line_per_phase_off_a_terminal(capsys):
    with phase(common.progress, None, "tune: building 4 graphs"):
        with phase(common.progress, 3, "calibrating (percentile)") as advance:
            for _ in range(3):
                advance()
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("calibrating (percentile): 3/3 done in ") and lines[0].endswith(" s")
    assert lines[1].startswith("tune: building 4 graphs: done in ") and len(lines) == 2


def test_nested_bars_share_one_live_display_on_a_terminal(monkeypatch):
    term = Console(file=io.StringIO(), force_terminal=True, width=100)
    monkeypatch.setattr(common, "console", lambda stderr=False: term)
    with phase(common.progress, None, "outer") as outer:
        with phase(common.progress, 2, "inner") as inner:
            inner()
            inner()
            assert common._Bars.depth == 2
        outer()
    assert common._Bars.live is None and common._Bars.depth == 0
    assert "inner" in term.file.getvalue()


def test_no_factory_is_silent():
    with phase(None, 5, "x") as advance:
        advance()
    with silent(1, "y") as advance:
        advance(1)
