"""SPFNet (the authors' Subspace Pyramid Fusion Network) from the same official repository.

Same ResNet encoder (stem conv named `conv`), a subspace pyramid fusion module (SPFM) of
RPP branches on the deepest features, efficient global context aggregation (EGCA) on
every level, and a decoder of sub-pixel convolutions (DSC).
"""

from __future__ import annotations

import torch
import torch.nn as nn

from edgeseg.models.blocks import ConvBlock, deploy_modules
from edgeseg.models.encoder import ResNetEncoder
from edgeseg.models.s2fpn import SegHead, drop_dropout, upsample


class PyramidPooling(nn.Module):
    """RPP: a dilated conv + pixel shuffle branch (applied twice, as the official code
    does; its second dilated branch is built but unused), fused, plus a global-pool term."""

    def __init__(self, ch: int):
        super().__init__()
        self.conv_dws1 = nn.Sequential(ConvBlock(ch, 4 * ch, 3, 1, 4, dilation=4, bn_act=True), nn.PixelShuffle(2))
        self.conv_dws2 = nn.Sequential(ConvBlock(ch, 4 * ch, 3, 1, 8, dilation=8, bn_act=True), nn.PixelShuffle(2))
        self.fusion = nn.Sequential(
            ConvBlock(2 * ch, ch, 1, bn_act=True),
            ConvBlock(ch, ch, 3, 1, 1, bn_act=True),
            ConvBlock(ch, ch, 1, bn_act=True))
        self.conv_dws3 = ConvBlock(ch, ch, 1, bn_act=True)

    def forward(self, x):
        branch = self.conv_dws1(x)
        out = self.fusion(torch.cat([branch, branch], 1))
        return self.conv_dws3(x.mean(dim=(2, 3), keepdim=True)) + out

    def deploy(self) -> None:
        del self.conv_dws2


class SubspacePyramidFusion(nn.Module):
    """SPFM: split channels into subspaces, one RPP each, concatenate, project."""

    def __init__(self, cin: int, cout: int, splits: int):
        super().__init__()
        self.splits = splits
        self.subspaces = nn.ModuleList(PyramidPooling(cin // splits) for _ in range(splits))
        self.out = ConvBlock(cin, cout, 1, bn_act=True)

    def forward(self, x):
        parts = torch.chunk(x, self.splits, dim=1)
        return self.out(torch.cat([rpp(p) for rpp, p in zip(self.subspaces, parts)], 1))


class GlobalContext(nn.Module):
    """EGCA: both channel halves share one depthwise/max-pool/pointwise path (as in the
    official forward; the second path is built but unused), a channel softmax gate, a
    channel shuffle, and a depthwise-separable branch."""

    def __init__(self, ch: int):
        super().__init__()
        self.conv_dws1 = ConvBlock(ch // 2, ch, 1, groups=ch // 2, bn_act=True)
        self.maxpool1 = nn.MaxPool2d(3, 1, 1)
        self.conv_pw1 = ConvBlock(ch, ch, 1)
        self.conv_dws2 = ConvBlock(ch // 2, ch, 1, groups=ch // 2, bn_act=True)
        self.conv_pw2 = ConvBlock(ch, ch, 1)
        self.branch3 = nn.Sequential(ConvBlock(ch, ch, 3, 1, 1, groups=ch, bn_act=True), ConvBlock(ch, ch, 1, bn_act=True))

    def _path(self, half):
        return self.conv_pw1(self.maxpool1(self.conv_dws1(half)))

    def forward(self, x):
        x0, x1 = x.chunk(2, dim=1)
        gate = torch.softmax(self._path(x0) + self._path(x1), dim=1)
        out = gate * x + x
        out = out.unflatten(1, (2, -1)).transpose(1, 2).flatten(1, 2)  # channel shuffle, 2 groups
        return self.branch3(x) + out

    def deploy(self) -> None:
        del self.conv_dws2, self.conv_pw2


class SubpixelDecoder(nn.Module):
    """DSC: guide and upsampled high level, concatenated, 3x3 conv to 4x channels, pixel shuffle."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1 = ConvBlock(cin, cin, 1, bn_act=True)
        self.conv2 = ConvBlock(cin, cin, 3, 1, 1, bn_act=True)
        self.conv3 = nn.Sequential(ConvBlock(2 * cin, 4 * cout, 3, 1, 1, bn_act=True), nn.PixelShuffle(2))

    def forward(self, x_gui, y_high):
        y_high = self.conv2(upsample(y_high, x_gui, align_corners=True))
        return self.conv3(torch.cat([y_high, self.conv1(x_gui)], 1))


class Adjustment(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = ConvBlock(cin, cout, 1, bn_act=True)

    def forward(self, x):
        return self.conv(x)


class SPFNet(ResNetEncoder, nn.Module):
    """SPFNet on a ResNet-18/34 encoder (the official code has no ResNet-34M switch)."""

    generation = "spfnet"
    stem_name = "conv"

    def __init__(self, depth: int = 18, classes: int = 11, resnet34m: bool = False):
        nn.Module.__init__(self)
        if resnet34m:
            raise ValueError("SPFNet has no ResNet-34M variant in the official code")
        self.classes = classes
        self.build_encoder(depth)
        self.spfm = SubspacePyramidFusion(512, 512, 4)
        for i, ch in enumerate((64, 128, 256, 512)):
            setattr(self, f"egca{i + 1}", GlobalContext(ch))
            setattr(self, f"adjust{i + 2}", Adjustment(ch, 64))
        self.fuse = ConvBlock(320, 64, 3, 1, 1, bn_act=True)
        self.dsc5 = SubpixelDecoder(512, 256)
        self.dsc4 = SubpixelDecoder(256, 128)
        self.dsc3 = SubpixelDecoder(128, 64)
        self.dsc2 = SubpixelDecoder(64, 64)
        self.classifier = SegHead(64, classes)

    def forward(self, x):
        x2, x3, x4, x5 = self.encode(x)
        dec = self.dsc5(x5, self.spfm(x5))
        dec = self.dsc4(x4, dec)
        dec = self.dsc3(x3, dec)
        dec = self.dsc2(x2, dec)
        levels = [self.adjust2(self.egca1(x2)), dec, self.adjust3(self.egca2(x3)),
                  self.adjust4(self.egca3(x4)), self.adjust5(self.egca4(x5))]
        merged = self.fuse(torch.cat([upsample(t, x2, align_corners=False) for t in levels], 1))
        return upsample(self.classifier(merged), x, align_corners=True)

    def deploy(self) -> "SPFNet":
        deploy_modules(self)
        self.fuse_stem()
        drop_dropout(self)
        return self
