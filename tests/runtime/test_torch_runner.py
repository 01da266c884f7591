"""The PyTorch runner: the reference every artifact is compared with."""

from pathlib import Path

import numpy as np
import torch

from edgeseg.runtime.torch_runner import TorchRunner

DEMO_CKPT = Path(__file__).resolve().parents[2] / "edgeseg" / "assets" / "camvid-demo" / "s2fpn18_camvid_half.pth"


def test_threads_apply_while_active_and_are_put_back():
    before = torch.get_num_threads()
    runner = TorchRunner(DEMO_CKPT, threads=1)
    with runner:
        assert torch.get_num_threads() == 1
        out = runner.infer(np.zeros((1, 3, 64, 96), np.float32))
        assert out.shape == (1, 11, 64, 96) and out.dtype == np.float32
        assert runner.metadata["model"]["classes"] == 11
    assert torch.get_num_threads() == before
