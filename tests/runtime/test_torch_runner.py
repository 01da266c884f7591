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


def test_class_maps_in_torch_are_the_hosts_argmax():
    from edgeseg.bench.accuracy import to_labels

    x = np.random.default_rng(0).normal(size=(1, 3, 64, 96)).astype(np.float32)
    with TorchRunner(DEMO_CKPT, threads=1) as plain, TorchRunner(DEMO_CKPT, threads=1, class_map=True) as runner:
        logits, labels = plain.infer(x), runner.infer(x)
        assert runner.io_spec.output == "labels" and "class-map" in runner.description
    assert labels.dtype == np.uint8 and labels.shape == (1, 64, 96)
    np.testing.assert_array_equal(labels[0], to_labels(logits[0], (64, 96), "logits"))
