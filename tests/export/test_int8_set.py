"""An INT8 stage is complete only with all four files (.onnx, sidecar, .quant.json, .calib.cache):
a run killed between them, or a deleted report or cache, is rebuilt on the next run."""

import json
import os

import cv2
import numpy as np
import onnx
import pytest

from edgeseg.cli.main import main
from edgeseg.export import stage as stage_mod
from golden import CASES, save_checkpoint

pytestmark = pytest.mark.slow  # exports or builds real models: the full run, not the fast tier

CASE = "spfnet18"  # random weights that stay in float32 range on smooth images (see test_spfnet_int8)

SUFFIXES = (".quant.json", ".calib.cache")
DATASET = "camvid" if CASES[CASE]["classes"] == 11 else "cityscapes"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("int8set")
    save_checkpoint(CASE, root / "c.pth")
    calib = root / "calib"
    calib.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):  # smooth images around the dataset mean: in range for random weights
        img = cv2.resize(rng.integers(60, 140, (6, 8, 3), dtype=np.uint8), (128, 96), interpolation=cv2.INTER_CUBIC)
        cv2.imwrite(str(calib / f"{i}.png"), img)
    return root


def args(root):
    return ["export", str(root / "c.pth"), "-o", str(root / "out"), "--input-size", "96x128", "--precision", "int8",
            "--calib", str(root / "calib"), "--num-samples", "2", "--min-agreement", "0.8", "--dataset", DATASET]


def export(capsys, root):
    code = main(args(root))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out.strip().splitlines()[-1], err


def test_int8_set_restored_after_deletion_and_kill(setup, capsys, monkeypatch):
    final, err = export(capsys, setup)
    files = [final, final + ".json", *(final + s for s in SUFFIXES)]
    cache = open(final + ".calib.cache").read()
    layers = json.load(open(final + ".quant.json"))["quantized_layers"]
    onnx.checker.check_model(final, full_check=True)
    assert set(json.load(open(final + ".json"))["files"]) == {final.rsplit("/", 1)[1] + s for s in SUFFIXES}

    _, err = export(capsys, setup)
    assert "int8: up to date" in err

    for suffix in SUFFIXES:  # a deleted report or cache: rebuilt (ranges come from the range cache)
        (setup / "out" / (final.rsplit("/", 1)[1] + suffix)).unlink()
        _, err = export(capsys, setup)
        assert "int8: building" in err and "reusing calibrated ranges" in err
        assert open(final + ".calib.cache").read() == cache
        assert json.load(open(final + ".quant.json"))["quantized_layers"] == layers

    real, renamed = stage_mod.os.replace, []

    def killed(src, dst):  # the sidecar and report are in place, the model is not
        if str(dst) == final:
            raise KeyboardInterrupt
        renamed.append(dst)
        real(src, dst)

    monkeypatch.setattr(stage_mod.os, "replace", killed)
    (setup / "out" / (final.rsplit("/", 1)[1] + ".calib.cache")).unlink()
    assert main(args(setup)) == 130
    monkeypatch.undo()
    capsys.readouterr()
    assert len(renamed) == 3 and not (setup / "out" / final.rsplit("/", 1)[1]).exists()
    _, err = export(capsys, setup)
    assert "int8: building" in err
    assert open(final + ".calib.cache").read() == cache and all(map(os.path.exists, files))
    assert not [p for p in (setup / "out").iterdir() if p.name.startswith(".") and p.name != ".calib-cache"]
