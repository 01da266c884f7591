"""A small convnet with the op mix of S²-FPN (conv, PReLU, residual add, concat, sigmoid gate,
attention matmul + softmax, resize) exported to ONNX for the quantization tests."""

from __future__ import annotations

import numpy as np
import pytest


def _net():
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 16, 3, 2, 1)
            self.act = nn.PReLU(16)
            self.a = nn.Conv2d(16, 16, 3, 1, 1)
            self.b = nn.Conv2d(16, 16, 3, 1, 1)
            self.gate = nn.Conv2d(32, 16, 1)
            self.q = nn.Conv2d(16, 16, 1)
            self.head = nn.Conv2d(16, 5, 1)

        def forward(self, x):
            x = self.act(self.stem(x))
            r = F.relu(self.a(x) + x)  # residual add
            cat = torch.cat([r, self.b(r)], 1)
            g = torch.sigmoid(self.gate(cat)) * r
            q = self.q(g).flatten(2)  # (B, C, HW)
            att = torch.softmax(torch.bmm(q.transpose(1, 2), q), dim=1)
            g = g + torch.bmm(q, att).view_as(g)
            out = self.head(g)
            return F.interpolate(out, scale_factor=2.0, mode="bilinear", align_corners=False)

    torch.manual_seed(0)
    return Net().eval()


@pytest.fixture(scope="session")
def small_onnx(tmp_path_factory):
    import warnings

    import onnx
    import torch

    path = tmp_path_factory.mktemp("q") / "net.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(_net(), (torch.zeros(1, 3, 32, 48),), str(path), dynamo=False, opset_version=17,
                          input_names=["input"], output_names=["logits"])
    return onnx.load(str(path))


@pytest.fixture(scope="session")
def batches():
    rng = np.random.default_rng(0)
    return [rng.normal(0, 50, (1, 3, 32, 48)).astype(np.float32) for _ in range(8)]
