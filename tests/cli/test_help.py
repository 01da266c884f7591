"""`--help` of every command: real metavars (HxW, PATH, N), never Typer's `<str>`/`<bool>`; the
device list from the one profile table."""

import pytest

from edgeseg.cli.main import app, main
from edgeseg.platform.devices import profile_names

COMMANDS = [[info.name or info.callback.__name__] for info in app.registered_commands] + \
    [[g.name, c.name] for g in app.registered_groups for c in g.typer_instance.registered_commands]


def help_of(argv, capsys, monkeypatch, columns=100) -> str:
    monkeypatch.setenv("COLUMNS", str(columns))
    assert main([*argv, "--help"]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("argv", [[]] + COMMANDS, ids=lambda a: " ".join(a) or "edgeseg")
def test_help_shows_metavars_not_type_names(argv, capsys, monkeypatch):
    text = help_of(argv, capsys, monkeypatch)
    assert "<str>" not in text and "<bool>" not in text and "<int>" not in text and "<float>" not in text, text


def test_bench_device_lists_every_profile(capsys, monkeypatch):
    text = " ".join(help_of(["bench"], capsys, monkeypatch, columns=400).split())
    assert all(f" {name} " in text or f" {name};" in text for name in profile_names()), text


def test_input_size_reads_hxw(capsys, monkeypatch):
    assert "--input-size" in help_of(["export"], capsys, monkeypatch) and " HxW " in help_of(["export"], capsys,
                                                                                             monkeypatch)


def test_root_help_keeps_each_summary_on_its_own_lines(capsys, monkeypatch):
    """A docstring's line break once split tune's summary mid-sentence in `edgeseg --help`."""
    lines = help_of([], capsys, monkeypatch, columns=200).splitlines()
    tune = next(i for i, line in enumerate(lines) if line.startswith("│ tune "))
    assert "within the budget" in lines[tune] and lines[tune + 1].startswith("│ calib ")
