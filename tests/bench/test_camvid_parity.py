"""The trained checkpoint's val mIoU equals the official figure, through PyTorch and FP32 ONNX."""

import numpy as np
import pytest

from edgeseg.bench.accuracy import evaluate
from edgeseg.data.datasets import open_dataset
from edgeseg.export.options import ExportOptions
from edgeseg.export.pipeline import run_export
from edgeseg.runtime import open_runner

from conftest import SHARED


def test_torch_and_onnx_match_official_miou(tmp_path, trained_ckpt, camvid_root):
    onnx_path = run_export(trained_ckpt, tmp_path, ExportOptions(input_size=(180, 240), num_samples=1)).final
    runners = [open_runner(trained_ckpt).activate(), open_runner(onnx_path).activate()]
    report = evaluate(runners, open_dataset(camvid_root, "camvid", "val")).to_dict()
    torch_row, onnx_row = report["artifacts"]
    assert report["images"] == 101
    assert torch_row["miou"] == pytest.approx(61.433, abs=0.01)
    assert onnx_row["miou"] == pytest.approx(torch_row["miou"], abs=0.01)
    assert onnx_row["agreement"] >= 99.99
    official = np.load(SHARED / "fixtures" / "s2fpn18_camvid_half.val_confusion.npy")
    ours = np.array(torch_row["confusion"])
    assert ours.sum() == official.sum()
    assert np.abs(ours - official).sum() <= 1e-5 * official.sum()  # a few float-noise pixels at most
    assert torch_row["per_class_iou"]["Sky"] == pytest.approx(92.44, abs=0.01)
