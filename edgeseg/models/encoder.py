"""ResNet-18/34 encoder with torchvision's parameter names, without torchvision.

The official models keep the encoder's layers as direct attributes (`conv1_x`, `bn1`,
`conv2_x` ... `conv5_x`; SPFNet calls the stem conv `conv`), so the encoder is a base
class the models inherit from rather than a submodule.
"""

from __future__ import annotations

import torch.nn as nn

from edgeseg.models.blocks import fold_bn

DEPTHS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}
WIDTHS = (64, 128, 256, 512)


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)

    def deploy(self) -> None:
        self.conv1, self.bn1 = fold_bn(self.conv1, self.bn1), nn.Identity()
        self.conv2, self.bn2 = fold_bn(self.conv2, self.bn2), nn.Identity()
        if self.downsample is not None:
            self.downsample = nn.Sequential(fold_bn(self.downsample[0], self.downsample[1]))


def _stage(cin: int, cout: int, blocks: int, stride: int) -> nn.Sequential:
    return nn.Sequential(BasicBlock(cin, cout, stride), *(BasicBlock(cout, cout) for _ in range(blocks - 1)))


class ResNetEncoder(nn.Module):
    """Mixin holding the encoder layers; `encode` returns the features at 1/4 .. 1/32.

    `stage2_before_pool` is the ResNet-34M trick: layer1 runs on the stem output before
    max-pooling, so stage 2 keeps 1/2 resolution.
    """

    stem_name = "conv1_x"

    def build_encoder(self, depth: int, stage2_before_pool: bool = False) -> None:
        if depth not in DEPTHS:
            raise ValueError(f"ResNet depth must be one of {sorted(DEPTHS)}, got {depth}")
        self.depth = depth
        self.stage2_before_pool = stage2_before_pool
        setattr(self, self.stem_name, nn.Conv2d(3, 64, 7, 2, 3, bias=False))
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        blocks = DEPTHS[depth]
        self.conv2_x = _stage(64, 64, blocks[0], 1)
        self.conv3_x = _stage(64, 128, blocks[1], 2)
        self.conv4_x = _stage(128, 256, blocks[2], 2)
        self.conv5_x = _stage(256, 512, blocks[3], 2)

    def encode(self, x):
        x1 = self.relu(self.bn1(getattr(self, self.stem_name)(x)))
        x2 = self.conv2_x(x1 if self.stage2_before_pool else self.maxpool(x1))
        x3 = self.conv3_x(x2)
        x4 = self.conv4_x(x3)
        return x2, x3, x4, self.conv5_x(x4)

    def fuse_stem(self) -> None:
        setattr(self, self.stem_name, fold_bn(getattr(self, self.stem_name), self.bn1))
        self.bn1 = nn.Identity()
