"""S²-FPN, first generation of the official code (`SSFPNv1`, the paper's numbers).

Differs from the current generation in its spatial attention (a softmax over the product
of two pooled strips), its simpler GFU, ReLU instead of PReLU, and the head's name.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from edgeseg.models.blocks import ConvBlock, fold_bn
from edgeseg.models.s2fpn import S2FPN, upsample


class StripSpatialAttention(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.conv_sh = nn.Conv2d(ch, ch, 1)
        self.bn_sh1 = nn.BatchNorm2d(ch)
        self.bn_sh2 = nn.BatchNorm2d(ch)
        self.conv_res = nn.Conv2d(ch, ch, 1)  # built by the official code, never used
        self.fuse = ConvBlock(ch, ch, 1, act="relu")
        self.gamma = nn.Parameter(torch.zeros(1))
        self.deployed = False

    def _project(self, x):
        mx, avg = x.amax(dim=2, keepdim=True), x.mean(dim=2, keepdim=True)
        if self.deployed:
            return self.proj_max(mx), self.proj_avg(avg)
        w = self.conv_sh.weight
        return self.bn_sh1(F.conv2d(mx, w)), self.bn_sh2(F.conv2d(avg, w))

    def forward(self, x):
        mx, avg = self._project(x)  # (B, C, 1, W) each
        att = torch.softmax(mx * avg, dim=1)
        out = self.fuse(att[:, 0:1] * avg + att[:, 1:2] * mx)
        return F.relu(self.gamma * out + (1 - self.gamma) * x)

    @torch.no_grad()
    def deploy(self) -> None:
        bias_free = nn.Conv2d(self.conv_sh.in_channels, self.conv_sh.out_channels, 1, bias=False)
        bias_free.weight.copy_(self.conv_sh.weight)
        self.proj_max = fold_bn(bias_free, self.bn_sh1)
        self.proj_avg = fold_bn(bias_free, self.bn_sh2)
        del self.conv_sh, self.bn_sh1, self.bn_sh2, self.conv_res
        self.deployed = True


class GlobalUpsample(nn.Module):
    """GFU, first generation: upsampled high level plus the guide, one 1x1 conv."""

    def __init__(self, low_ch, in_ch, out_ch):
        super().__init__()
        self.conv1 = ConvBlock(low_ch, out_ch, 1, bn_act=True, act="relu")
        self.conv2 = nn.Sequential(ConvBlock(in_ch, out_ch, 1, act="relu"), nn.ReLU(inplace=False))
        self.conv3 = ConvBlock(out_ch, out_ch, 1, bn_act=True, act="relu")

    def forward(self, x_gui, y_high):
        y_up = self.conv2(upsample(y_high, x_gui, align_corners=True))
        return self.conv3(y_up + self.conv1(x_gui))


class S2FPNv1(S2FPN):
    """S²-FPN v1 on a ResNet-18/34/34M encoder.

    The official v1 also builds `down2`..`down5`, used only for ResNet-50 and deeper; the
    checkpoint loader reports those keys as unused instead of carrying dead weights.
    """

    generation = "v1"
    head_name = "classifier"
    act = "relu"
    upsample_block = GlobalUpsample
    attention = StripSpatialAttention
