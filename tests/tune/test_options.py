"""What `tune` refuses before any build (and `export`'s budget alike): non-finite or negative
budgets, an unknown variant or tail, unlabelled val lines, label values outside the classes;
and a full disk stops the run in one line instead of losing candidates one by one."""

import math
import shutil

import numpy as np
import pytest

from edgeseg.errors import EdgesegError, OptionError
from edgeseg.tune import TuneOptions, tune_options
from edgeseg.tune.measure import Protocol
from edgeseg.tune.tails import TAILS
from edgeseg.tune.search import open_val
from paths import REPO

DEMO = REPO / "edgeseg" / "assets" / "camvid-demo"


@pytest.mark.parametrize("kw,words", [
    ({"max_miou_drop": math.nan}, "--max-miou-drop must be a finite number >= 0"),
    ({"max_miou_drop": math.inf}, "--max-miou-drop must be a finite number >= 0"),
    ({"max_miou_drop": -0.1}, "--max-miou-drop must be a finite number >= 0"),
    ({"max_class_drop": math.nan}, "--max-class-drop must be a finite number >= 0"),
    ({"min_fps": math.nan}, "--min-fps must be a finite number > 0"),
    ({"min_fps": 0.0}, "--min-fps must be a finite number > 0"),
    ({"variant": "bogus"}, "--variant 'bogus': unknown"),
    ({"tails": ("argmax", "bogus")}, "--tails must be"),
    ({"tails": ()}, "--tails must be"),
    ({"threads": 0}, "--threads must be at least 1"),
    ({"thread_counts": (2, 0)}, "--thread-counts must be whole numbers >= 1"),
    ({"input_sizes": ((180, 0),)}, "--input-sizes must be HxW sizes"),
    ({"protocol": Protocol(rounds=0)}, "--rounds must be at least 1"),
    ({"val": None}, "tune needs --val"),
])
def test_bad_options_are_refused(kw, words):
    """check() refuses with the field path; str() renders it as the field's own flag (the CLI may
    render it as another, its parameter's)."""
    options = TuneOptions(**{"val": "v", **kw})
    with pytest.raises(OptionError, match=words):
        options.check()


def test_an_error_names_the_field_path():
    with pytest.raises(OptionError) as caught:
        TuneOptions(val="v", protocol=Protocol(iters=0)).check()
    assert caught.value.fields == ["protocol.iters"]


def test_flat_options_take_the_librarys_defaults_for_none():
    """The CLI passes every flag by name, None when not given: the default lives here only."""
    o = tune_options(val="v", tails=None, max_miou_drop=None, rounds=3, iters=None, thread_counts=(2, 2))
    assert o.tails == TAILS and o.max_miou_drop == TuneOptions.max_miou_drop
    assert o.protocol == Protocol(rounds=3) and o.thread_counts == (2,)
    with pytest.raises(TypeError, match="unknown fields bogus"):
        tune_options(val="v", bogus=1)


def test_no_tune_module_spells_a_flag():
    """Messages name field paths; only the CLI renders them as flags (issue 29)."""
    import ast

    found = []
    for path in (REPO / "edgeseg" / "tune").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("--"):
                found.append(f"{path.name}:{node.lineno} {node.value[:30]!r}")
    assert not found, found


@pytest.mark.parametrize("budget", [math.nan, math.inf])
def test_export_budget_is_finite_too(budget):
    from edgeseg.quant.config import QuantConfig

    with pytest.raises(EdgesegError, match="--max-miou-drop must be a finite number"):
        QuantConfig(max_miou_drop=budget)


def _val(tmp_path, lines):
    for sub in ("val", "valannot"):
        shutil.copytree(DEMO / sub, tmp_path / sub, dirs_exist_ok=True)
    listing = tmp_path / "list.txt"
    listing.write_text("".join(f"{line}\n" for line in lines))
    return TuneOptions(val=str(listing))


def test_unlabelled_list_lines_are_refused(tmp_path):
    lines = (DEMO / "camvid_val_list.txt").read_text().splitlines()[:3]
    opts = _val(tmp_path, lines[:2] + [lines[2].split()[0]])
    with pytest.raises(EdgesegError, match="1 images without labels"):
        open_val(opts)


def test_labels_outside_the_classes_are_refused_before_any_build(tmp_path):
    import cv2

    lines = (DEMO / "camvid_val_list.txt").read_text().splitlines()[:3]
    opts = _val(tmp_path, lines)
    label = tmp_path / lines[2].split()[1]
    cv2.imwrite(str(label), np.full(cv2.imread(str(label), cv2.IMREAD_UNCHANGED).shape[:2], 200, np.uint8))
    with pytest.raises(EdgesegError, match=r"values \[200\] outside the 11 classes"):
        open_val(opts)
    assert len(open_val(_val(tmp_path / "ok", lines))) == 3


@pytest.mark.parametrize("error", [RuntimeError("Exception from src/core: basic_ios::clear: iostream error"),
                                   OSError(28, "No space left on device")])
def test_a_full_disk_stops_the_run(error):
    from edgeseg.tune.build import _try

    def build():
        raise error

    with pytest.raises(EdgesegError, match="disk is full"):
        _try(build)
    assert _try(lambda: (_ for _ in ()).throw(RuntimeError("unsupported layer"))).startswith("RuntimeError")


@pytest.mark.parametrize("args", [
    ["export", "CKPT", "--precision", "int8", "--calib", "CALIB", "--val", "VAL", "--max-miou-drop", "nan"],
    ["export", "CKPT", "--precision", "int8", "--calib", "CALIB", "--val", "VAL", "--max-miou-drop", "inf"],
    ["fleet", "tune", "CKPT", "--ray", "127.0.0.1:1", "--val", "VAL", "--max-miou-drop", "nan"],
    ["tune", "CKPT", "--val", "VAL", "--max-miou-drop", "inf"],
])
def test_non_finite_budgets_are_one_line_everywhere(tmp_path, capsys, args):
    from edgeseg.cli.main import main

    ckpt = tmp_path / "m.pth"
    ckpt.write_bytes(b"not loaded: refused before")
    (tmp_path / "calib").mkdir()
    (tmp_path / "val").mkdir()
    subst = {"CKPT": str(ckpt), "CALIB": str(tmp_path / "calib"), "VAL": str(tmp_path / "val")}
    assert main([subst.get(a, a) for a in args] + ["-o" if args[0] != "fleet" else "--work-dir",
                                                   str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "--max-miou-drop must be a finite number >= 0" in err and "Traceback" not in err
