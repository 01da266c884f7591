"""S²-FPN, current generation of the official code (`SSFPN`, since Oct 2023).

Attention Pyramid Fusion stages with a strip-attention block (SSAM + an MLP of two
dilated convs) and Global Feature Upsample decoder stages with two gated halves.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from edgeseg.models.blocks import ConvBlock, fold_bn, deploy_modules
from edgeseg.models.encoder import ResNetEncoder

CHANNELS = (32, 64, 128, 256, 512)


def upsample(x, like, align_corners: bool):
    return F.interpolate(x, size=like.shape[2:], mode="bilinear", align_corners=align_corners)


class StripAttention(nn.Module):
    """Scale-aware strip attention: pools over the full height, attends along the width.

    The height pooling is written as reductions over dim 2, identical to the official
    `max_pool2d(x, [h, 1])` but free of a kernel pinned to the export-time height.
    """

    def __init__(self, ch: int, gated: bool = False):
        super().__init__()
        self.conv_sh = nn.Conv2d(ch, ch, 1)
        self.bn_sh1 = nn.BatchNorm2d(ch)
        self.bn_sh2 = nn.BatchNorm2d(ch)
        self.augmment_conv = nn.Conv2d(ch, ch, 1)
        self.conv_v = nn.Conv2d(ch, ch, 1)
        self.conv_res = nn.Conv2d(ch, ch, 1)  # built by the official code, never used
        self.fuse = ConvBlock(ch, ch, 1)
        self.fuse_out = ConvBlock(ch, ch, 1)
        self.gamma = nn.Parameter(torch.zeros(1))
        self.deployed = False

    def _project(self, x):
        """conv_sh (weight only) + BN on the full map and on the height-max strip."""
        strip = x.amax(dim=2, keepdim=True)
        if self.deployed:
            return self.proj_full(x), self.proj_strip(strip)
        w = self.conv_sh.weight
        return self.bn_sh2(F.conv2d(x, w)), self.bn_sh1(F.conv2d(strip, w))

    def forward(self, x):
        full, strip = self._project(x)  # (B,C,H,W), (B,C,1,W)
        affinity = torch.bmm(strip.flatten(2).transpose(1, 2), full.flatten(2))  # (B, W, H*W)
        affinity = torch.softmax(affinity, dim=1)
        values = self.conv_v(x.mean(dim=2, keepdim=True)).flatten(2)  # (B, C, W)
        att = torch.bmm(values, affinity).view_as(x)
        att = self.augmment_conv(att)
        fusion = att[:, 0:1] * full + att[:, 1:2] * strip
        out = self.fuse(fusion)
        out = F.relu(self.gamma * out + (1 - self.gamma) * x)
        return self.fuse_out(out)

    @torch.no_grad()
    def deploy(self) -> None:
        bias_free = nn.Conv2d(self.conv_sh.in_channels, self.conv_sh.out_channels, 1, bias=False)
        bias_free.weight.copy_(self.conv_sh.weight)
        self.proj_full = fold_bn(bias_free, self.bn_sh2)
        self.proj_strip = fold_bn(bias_free, self.bn_sh1)
        # Only the first two output channels of augmment_conv are ever read.
        narrow = nn.Conv2d(self.augmment_conv.in_channels, 2, 1)
        narrow.weight.copy_(self.augmment_conv.weight[:2])
        narrow.bias.copy_(self.augmment_conv.bias[:2])
        self.augmment_conv = narrow
        del self.conv_sh, self.bn_sh1, self.bn_sh2, self.conv_res
        self.deployed = True


class GatedMlp(nn.Module):
    """Two dilated 3x3 branches, concatenated, projected and squashed by a sigmoid."""

    def __init__(self, ch: int):
        super().__init__()
        self.dconv1 = ConvBlock(ch, ch // 2, 3, 1, 2, dilation=2, bn_act=True)
        self.dconv2 = ConvBlock(ch, ch // 2, 3, 1, 4, dilation=4, bn_act=True)
        self.fuse = ConvBlock(ch, ch, 1)

    def forward(self, x):
        return torch.sigmoid(self.fuse(torch.cat([self.dconv1(x), self.dconv2(x)], 1)))


class AttentionBlock(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.attn = StripAttention(ch)
        self.mlp = GatedMlp(ch)

    def forward(self, x):
        x = x + self.attn(x)
        return x + self.mlp(x)


class StripAttentionStack(nn.Module):
    """The official `ScaleAwareBlock` (one attention block under `tr.0`)."""

    def __init__(self, ch: int, layers: int = 1):
        super().__init__()
        self.tr = nn.Sequential(*(AttentionBlock(ch) for _ in range(layers)))

    def forward(self, x):
        return self.tr(x)


class ChannelReweight(nn.Module):
    """Channel-wise reweighting block (CRB): squeeze, two 1x1 convs, sigmoid gate."""

    def __init__(self, ch: int, act: str = "prelu", reduction: int = 4):
        super().__init__()
        self.conv_pool = nn.Sequential(
            ConvBlock(ch, ch // reduction, 1, act=act), nn.ReLU(inplace=False),
            ConvBlock(ch // reduction, ch, 1, act=act), nn.Sigmoid())

    def forward(self, x):
        return x * self.conv_pool(x.mean(dim=(2, 3), keepdim=True))


class PyramidFusion(nn.Module):
    """Attention Pyramid Fusion stage: lateral + upsampled high level, spatial and channel attention."""

    def __init__(self, ch_high, ch_low, ch_out, classes, spatial: nn.Module, act: str = "prelu"):
        super().__init__()
        self.lateral_low = ConvBlock(ch_low, ch_high, 1, bn_act=True, act=act)
        self.conv_low = ConvBlock(ch_high, ch_out, 3, 1, 1, bn_act=True, act=act)
        self.sa = spatial
        self.conv_high = ConvBlock(ch_high, ch_out, 3, 1, 1, bn_act=True, act=act)
        self.ca = ChannelReweight(ch_out, act=act)
        self.FRB = nn.Sequential(
            ConvBlock(2 * ch_high, ch_out, 1, bn_act=True, act=act),
            ConvBlock(ch_out, ch_out, 3, 1, 1, bn_act=True, act=act))
        self.classifier = nn.Sequential(  # auxiliary head, used in training only
            ConvBlock(ch_out, ch_out, 3, 1, 1, bn_act=True, act=act), nn.Dropout(0.15),
            ConvBlock(ch_out, classes, 1, act=act))
        self.apf = ConvBlock(ch_out, ch_out, 3, 1, 1, bn_act=True, act=act)

    def forward(self, x_high, x_low):
        lat_low = self.lateral_low(x_low)
        high_up = upsample(x_high, lat_low, align_corners=False)
        merged = self.FRB(torch.cat([lat_low, high_up], 1))
        att_out = self.sa(merged) * self.conv_high(high_up) + self.ca(merged) * self.conv_low(lat_low)
        aux = self.classifier(att_out) if self.training and hasattr(self, "classifier") else None
        return self.apf(att_out), aux

    def deploy(self) -> None:
        del self.classifier


class GatedUpsample(nn.Module):
    """Global Feature Upsample, current generation: the fused map splits into two gates."""

    def __init__(self, low_ch, in_ch, out_ch):
        super().__init__()
        self.conv1 = ConvBlock(low_ch, out_ch, 1, bn_act=True)
        self.conv2 = nn.Sequential(ConvBlock(in_ch, out_ch, 1), nn.ReLU(inplace=False))
        self.conv3 = ConvBlock(out_ch, out_ch, 3, 1, 1, bn_act=True)
        self.s1 = ConvBlock(out_ch // 2, out_ch, 3, 1, 1, bn_act=True)
        self.s2 = nn.Sequential(ConvBlock(out_ch // 2, out_ch, 1), nn.BatchNorm2d(out_ch), nn.Sigmoid())
        self.fuse = ConvBlock(2 * out_ch, out_ch, 3, 1, 1, bn_act=True)

    def forward(self, x_gui, y_high):
        y_up = self.conv2(upsample(y_high, x_gui, align_corners=True))
        x_gui = self.conv1(x_gui)
        s1, s2 = torch.chunk(self.conv3(y_up + x_gui), 2, dim=1)
        return self.fuse(torch.cat([self.s1(s1) * y_up, self.s2(s2) * x_gui], 1))

    def fuse_gate(self) -> None:
        conv = self.s2[0].conv
        self.s2 = nn.Sequential(fold_bn(conv, self.s2[1]), nn.Sigmoid())


class S2FPN(ResNetEncoder, nn.Module):
    """S²-FPN (current generation) on a ResNet-18/34/34M encoder."""

    generation = "current"
    head_name = "seghead"
    act = "prelu"
    upsample_block = GatedUpsample  # the generations differ in these two blocks, the activation and the head's name
    attention = StripAttentionStack

    def __init__(self, depth: int = 18, classes: int = 11, resnet34m: bool = False):
        nn.Module.__init__(self)
        self.classes = classes
        self.build_encoder(depth, stage2_before_pool=resnet34m)
        c = CHANNELS
        a = self.act
        self.fab = nn.Sequential(ConvBlock(c[4], c[4] // 2, 3, 1, 1, groups=c[4] // 2, bn_act=True, act=a), nn.Dropout(0.15))
        self.cfgb = nn.Sequential(ConvBlock(c[4], c[4], 3, 2, 1, groups=c[4], bn_act=True, act=a), nn.Dropout(0.15))
        self.build_decoder(classes)

    def build_decoder(self, classes: int) -> None:
        c = CHANNELS
        for name, guide, high in (("gfu4", 3, 3), ("gfu3", 2, 3), ("gfu2", 1, 2), ("gfu1", 0, 1)):
            setattr(self, name, self.upsample_block(c[guide], c[high], c[guide]))
        for i, (hi, out) in enumerate([(4, 3), (3, 2), (2, 1), (1, 0)]):
            setattr(self, f"apf{i + 1}", PyramidFusion(c[hi], c[hi], c[out], classes, self.attention(c[out]), act=self.act))
        setattr(self, self.head_name, SegHead(c[0], classes, act=self.act))

    def forward(self, x):
        x2, x3, x4, x5 = self.encode(x)
        apf1, aux1 = self.apf1(self.cfgb(x5), x5)
        apf2, aux2 = self.apf2(apf1, x4)
        apf3, aux3 = self.apf3(apf2, x3)
        apf4, aux4 = self.apf4(apf3, x2)
        dec = self.gfu4(apf1, self.fab(x5))
        dec = self.gfu3(apf2, dec)
        dec = self.gfu2(apf3, dec)
        dec = self.gfu1(apf4, dec)
        logits = upsample(getattr(self, self.head_name)(dec), x, align_corners=True)
        if self.training:
            return (logits, *(upsample(a, x, align_corners=True) for a in (aux1, aux2, aux3, aux4)))
        return logits

    def deploy(self) -> "S2FPN":
        """Deploy form: BN folded, dropout and auxiliary heads gone (eval outputs unchanged)."""
        for m in self.modules():
            if isinstance(m, GatedUpsample):
                m.fuse_gate()
        deploy_modules(self)
        self.fuse_stem()
        drop_dropout(self)
        return self


class SegHead(nn.Module):
    def __init__(self, cin: int, classes: int, act: str = "prelu"):
        super().__init__()
        self.fc = ConvBlock(cin, classes, 1, act=act)

    def forward(self, x):
        return self.fc(x)


def drop_dropout(model: nn.Module) -> None:
    """Replace every Dropout by Identity (they are no-ops in eval; gone from the graph)."""
    for name, child in list(model.named_children()):
        if isinstance(child, nn.Dropout):
            setattr(model, name, nn.Identity())
        else:
            drop_dropout(child)
