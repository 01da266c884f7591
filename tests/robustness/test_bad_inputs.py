"""Bad inputs to predict/inspect, Ctrl-C and --version (issue 14 items 4, 9, 11)."""

import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from cliproc import DEMO, REPO, cli, refused
from tiny import tiny_onnx


def test_version():
    import edgeseg

    p = cli("--version")
    assert p.returncode == 0 and p.stdout.strip() == f"edgeseg {edgeseg.__version__}"


@pytest.mark.slow
def test_predict_goes_on_past_bad_images_and_skips_its_own_outputs(tmp_path):
    a = tiny_onnx(tmp_path / "a.onnx")
    images = tmp_path / "images"
    images.mkdir()
    for name in ("x.png", "y.png"):
        cv2.imwrite(str(images / name), np.full((24, 32, 3), 90, np.uint8))
    (images / "broken.png").write_bytes(b"not a png")
    out = images / "out"  # inside the input folder
    for _ in range(2):  # the second run must not read the first run's masks as inputs
        p = cli("predict", a, images, "-o", out)
        refused(p, "1 of 3 images could not be read", "broken.png", "predicted the other 2")
        assert sorted(q.name for q in out.iterdir()) == ["x_mask.png", "x_overlay.png", "y_mask.png", "y_overlay.png"]


@pytest.mark.slow
def test_predict_resizes_a_huge_image_instead_of_running_it_full_size(tmp_path):
    a = tiny_onnx(tmp_path / "a.onnx")  # dynamic H x W, CamVid metadata (360x480)
    big = tmp_path / "big.png"
    cv2.imwrite(str(big), np.full((3000, 4000, 3), 120, np.uint8))
    p = cli("predict", a, big, "-o", tmp_path / "out")
    assert p.returncode == 0, p.stderr
    assert cv2.imread(str(tmp_path / "out" / "big_mask.png")).shape == (3000, 4000, 3)


def test_feeder_caps_the_size_at_the_dataset_pixel_count(tmp_path):
    from edgeseg.bench.accuracy import feeder
    from edgeseg.runtime import open_runner

    with open_runner(tiny_onnx(tmp_path / "a.onnx")) as r:
        _, feed = feeder(r)
        x = feed(np.zeros((3000, 4000, 3), np.uint8))
    assert x.shape[0] == 3 and x.shape[1] * x.shape[2] <= 360 * 480 and abs(x.shape[2] / x.shape[1] - 4 / 3) < 0.01


@pytest.mark.slow
def test_nan_weights_are_named_by_export_and_inspect(trained_ckpt, tmp_path):
    import torch

    sd = torch.load(trained_ckpt, map_location="cpu", weights_only=True)
    sd["model"]["conv1_x.weight"][0, 0, 0, 0] = float("nan")
    bad = tmp_path / "nan.pth"
    torch.save(sd, bad)
    line = refused(cli("export", bad, "-o", tmp_path / "out"), "holds NaN or Inf", "conv1_x.weight")
    assert "overflow" not in line and not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    p = cli("inspect", bad)
    assert p.returncode == 0 and "NaN/Inf weights" in p.stdout and "holds NaN or Inf" in p.stderr


def test_unreadable_checkpoint(tmp_path, monkeypatch):
    """Root reads any file, so the OS refusal is simulated (monkeypatched open) in-process."""
    import builtins

    from edgeseg.errors import EdgesegError
    from edgeseg.models.checkpoint import read_checkpoint

    path = tmp_path / "c.pth"
    path.write_bytes(b"PK\x03\x04")
    real_open = builtins.open

    def deny(file, *a, **k):
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *a, **k)

    monkeypatch.setattr(builtins, "open", deny)
    with pytest.raises(EdgesegError, match=r"c.pth: cannot read it \(Permission denied\)"):
        read_checkpoint(path)


@pytest.mark.parametrize("args", [("bench", "{onnx}", "--input-size", "64x64", "--iters", "100000000", "--warmup", "0"),
                                  ("bench", str(DEMO / "s2fpn18_camvid_half.pth"), "--input-size", "90x120",
                                   "--iters", "100000000", "--warmup", "0")], ids=["onnxruntime", "torch"])
@pytest.mark.slow
def test_ctrl_c_says_interrupted_and_exits_130(tmp_path, args):
    onnx_path = tiny_onnx(tmp_path / "a.onnx")
    cmd = [sys.executable, "-m", "edgeseg.cli.main", *(a.format(onnx=onnx_path) for a in args)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    time.sleep(4)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130 and "Traceback" not in err and err.strip().splitlines()[-1] == "error: interrupted", err
