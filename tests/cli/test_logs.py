"""The CLI's one log setup: info by default, -q for warnings and errors only, -v for debug, before or after
the command; errors stay one line."""

import logging

import pytest

from edgeseg.cli import logs
from edgeseg.cli.main import main
from tiny import tiny_onnx


def bench(tmp_path, capsys, *flags, before=()):
    model = tiny_onnx(tmp_path / "a.onnx")
    code = main([*before, "bench", str(model), "--input-size", "32x48", "--iters", "2", "--warmup", "0",
                 "--threads", "1", *flags])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out, err


def test_default_shows_info_not_debug(tmp_path, capsys):
    out, err = bench(tmp_path, capsys)
    assert "benchmarking a.onnx\n" in err and "loaded by" not in err
    assert "benchmarking" not in out  # logs never go to stdout, where the table and paths are


@pytest.mark.parametrize("where", ["after", "before"])
def test_quiet_hides_info_and_verbose_shows_debug(tmp_path, capsys, where):
    for flag, shown, hidden in (("-q", [], ["benchmarking", "loaded by"]),
                                ("--quiet", [], ["benchmarking"]),
                                ("-v", ["benchmarking a.onnx", "a.onnx: loaded by "], []),
                                ("--verbose", ["loaded by"], [])):
        out, err = bench(tmp_path, capsys, *([flag] if where == "after" else []),
                         before=[flag] if where == "before" else ())
        assert "a.onnx" in out  # the table itself is never suppressed
        assert all(s in err for s in shown), (flag, err)
        assert not any(s in err for s in hidden), (flag, err)


def test_a_flag_after_the_command_overrides_the_one_before(tmp_path, capsys):
    _, err = bench(tmp_path, capsys, "-v", before=["-q"])
    assert "loaded by" in err


def test_warnings_survive_quiet_with_a_prefix(capsys):
    logs.configure()
    logs.set_verbosity(False, True)
    log = logging.getLogger("edgeseg.test")
    log.info("hidden")
    log.warning("timing cache %s is unreadable", "x.cache")
    assert capsys.readouterr().err == "warning: timing cache x.cache is unreadable\n"


def test_a_long_line_is_never_wrapped(capsys):
    logs.configure()
    logging.getLogger("edgeseg.test").info("written %s", "/a/long/path/" * 30 + "model.onnx")
    assert capsys.readouterr().err == "written " + "/a/long/path/" * 30 + "model.onnx\n"


def test_every_command_takes_the_flags(capsys):
    for command in (["inspect"], ["export"], ["eval"], ["predict"], ["bench"], ["build"], ["compare"], ["demo"],
                    ["calib", "make"]):
        assert main([*command, "--help"]) == 0
        out = capsys.readouterr().out
        assert "--verbose" in out and "--quiet" in out and "-v" in out and "-q" in out, command


@pytest.mark.parametrize("flags", [["-q"], ["-v"], []])
def test_errors_stay_one_line_whatever_the_level(tmp_path, capsys, flags):
    code = main(["bench", str(tmp_path / "a.onnx"), "--iters", "0", *flags])
    out, err = capsys.readouterr()
    assert code == 1 and out == "" and err == "error: --iters must be at least 1, got 0\n"


def test_both_flags_are_refused_in_one_line(tmp_path, capsys):
    for args in (["bench", str(tmp_path / "a.onnx"), "-q", "-v"], ["-q", "-v", "bench", str(tmp_path / "a.onnx")]):
        code = main(args)
        assert code == 1 and capsys.readouterr().err == "error: give -v/--verbose or -q/--quiet, not both\n"


def test_calib_make_warns_even_when_quiet(tmp_path, capsys, camvid_root):
    for flags, info_shown in (([], True), (["-q"], False)):
        code = main(["calib", "make", "--data", str(camvid_root), "-n", "5", "-o", str(tmp_path / "c.txt"), *flags])
        out, err = capsys.readouterr()
        assert code == 0 and out == f"{tmp_path / 'c.txt'}\n"
        assert err.startswith("warning: calibration set has 5 images; fewer than 300")
        assert ("5 images, sha256 " in err) is info_shown
