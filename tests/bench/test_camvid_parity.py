"""The trained checkpoint's val mIoU equals the official figure, through PyTorch and FP32 ONNX.

About a minute of CPU: one export, then 101 images through each runner. The runners use one
thread each: on a shared 2-core machine that is faster than two (no spinning threads).
"""

import numpy as np
import pytest

from edgeseg.bench.accuracy import evaluate
from edgeseg.data.datasets import open_dataset
from edgeseg.export.options import export_options as ExportOptions
from edgeseg.export.pipeline import run_export
from edgeseg.runtime import open_runner

from paths import SHARED

pytestmark = pytest.mark.slow


@pytest.fixture
def torch_threads():
    """TorchRunner sets torch's process-wide thread count; give the rest of the suite its own back."""
    import torch

    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_torch_and_onnx_match_official_miou(tmp_path, trained_ckpt, camvid_root, torch_threads):
    onnx_path = run_export(trained_ckpt, tmp_path, ExportOptions(input_size=(180, 240), num_samples=1)).final
    runners = [open_runner(trained_ckpt, threads=1), open_runner(onnx_path, threads=1)]
    with runners[0], runners[1]:
        report = evaluate(runners, open_dataset(camvid_root, "camvid", "val"), batch=4).to_dict()
    torch_row, onnx_row = report["artifacts"]
    assert report["images"] == 101
    assert (torch_row["backend"], onnx_row["backend"]) == ("torch", "onnxruntime")
    assert torch_row["miou"] == pytest.approx(61.433, abs=0.01)
    assert onnx_row["miou"] == pytest.approx(torch_row["miou"], abs=0.01)
    assert onnx_row["agreement"] >= 99.99
    official = np.load(SHARED / "fixtures" / "s2fpn18_camvid_half.val_confusion.npy")
    ours = np.array(torch_row["confusion"])
    assert ours.sum() == official.sum()
    assert np.abs(ours - official).sum() <= 1e-5 * official.sum()  # a few float-noise pixels at most
    assert torch_row["per_class_iou"]["Sky"] == pytest.approx(92.44, abs=0.01)
