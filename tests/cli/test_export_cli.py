"""`edgeseg export` through the CLI: last stdout line is the artifact; bad input writes nothing."""

import numpy as np
import pytest

from edgeseg.artifacts import metadata_dict
from edgeseg.cli.main import main
from golden import io, save_checkpoint


@pytest.fixture(scope="module")
def small_ckpt(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "s2fpn18.pth"
    save_checkpoint("s2fpn18", path)
    return path


@pytest.fixture(scope="module")
def golden_input(tmp_path_factory):
    """Random weights overflow FP16 on arbitrary images; verify on the golden input instead."""
    path = tmp_path_factory.mktemp("x") / "x.npy"
    np.save(path, io("s2fpn18")[0])
    return path


@pytest.mark.slow
def test_export_prints_final_path_last(tmp_path, capsys, small_ckpt, golden_input):
    code = main(["export", str(small_ckpt), "-o", str(tmp_path), "--input-size", "96x128", "--samples", str(golden_input),
                 "--precision", "fp32"])
    out, err = capsys.readouterr()
    assert code == 0, err
    final = out.strip().splitlines()[-1]
    assert final.endswith("s2fpn18_96x128.fp32.onnx")
    meta = metadata_dict(final)
    assert meta["precision"] == "fp32" and meta["model"]["variant"] == "s2fpn18"
    assert "simplified" in out and "raw: building" in err and "building" not in out  # table: stdout, log: stderr
    assert not list(tmp_path.glob(".*tmp")) and not list(tmp_path.glob(".scratch*"))


@pytest.mark.parametrize("args,message", [
    (["--precision", "int4"], "--precision must be one of"),
    (["--input-size", "96by128"], "input size must look like HxW"),
    (["--mean", "1,2"], "--mean needs three"),
    (["--dataset", "cityscapes"], "has 19 classes; the checkpoint has 11"),
    (["--simplifier", "magic"], "--simplifier must be one of"),
])
def test_bad_options_one_line_nothing_written(tmp_path, capsys, small_ckpt, args, message):
    out_dir = tmp_path / "out"
    code = main(["export", str(small_ckpt), "-o", str(out_dir), *args])
    _, err = capsys.readouterr()
    assert code == 1 and message in err and err.count("\n") == 1
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_missing_checkpoint(tmp_path, capsys):
    code = main(["export", str(tmp_path / "nope.pth"), "-o", str(tmp_path / "out")])
    _, err = capsys.readouterr()
    assert code == 1 and "no such file" in err


def test_the_old_calibration_root_flag_still_works_with_a_note(tmp_path, capsys):
    """--data was the calibration root of export; --calib-data is its name in every command now.
    The old spelling is kept one release, with one line saying so; both at once is refused."""
    args = ["export", str(tmp_path / "missing.pth"), "-o", str(tmp_path / "out"), "--precision", "int8",
            "--calib", str(tmp_path)]
    code = main([*args, "--data", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1 and "note: --data is now --calib-data here" in err and "missing.pth: no such file" in err
    code = main([*args, "--data", str(tmp_path), "--calib-data", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1 and "--data is the old spelling of --calib-data; give only --calib-data" in err


def test_an_option_error_names_this_commands_flag(tmp_path, capsys):
    """The library names QuantOptions.method; export calls it --calib-method."""
    code = main(["export", str(tmp_path / "missing.pth"), "-o", str(tmp_path / "out"), "--precision", "int8",
                 "--calib", str(tmp_path), "--calib-method", "magic"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: --calib-method must be one of") and "\0" not in err
