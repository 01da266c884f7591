"""Building blocks shared by every model family, with state_dict names of the official code."""

from __future__ import annotations

import torch
import torch.nn as nn


class ConvBlock(nn.Module):
    """Conv, BatchNorm and activation; with `bn_act=False` only the conv runs.

    The official blocks build BatchNorm and activation parameters even when they are unused,
    so we build them too (strict loading) and drop them in `deploy()`.
    """

    def __init__(self, cin, cout, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bn_act=False, bias=False, act="prelu"):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size, stride, padding, dilation, groups, bias=bias)
        self.bn = nn.BatchNorm2d(cout)
        self.act = nn.PReLU(cout) if act == "prelu" else nn.ReLU(inplace=False)
        self.bn_act = bn_act

    def forward(self, x):
        x = self.conv(x)
        return self.act(self.bn(x)) if self.bn_act else x

    def deploy(self) -> None:
        if self.bn_act:
            self.conv = fold_bn(self.conv, self.bn)
            self.bn = nn.Identity()
        else:
            self.bn, self.act = nn.Identity(), nn.Identity()


@torch.no_grad()
def fold_bn(conv: nn.Conv2d, bn: nn.Module) -> nn.Conv2d:
    """A conv with `bn` (in eval mode) folded into its weight and bias."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                      conv.padding, conv.dilation, conv.groups, bias=True)
    fused.weight.copy_(conv.weight * scale.reshape(-1, 1, 1, 1))
    bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    fused.bias.copy_((bias - bn.running_mean) * scale + bn.bias)
    return fused


def deploy_modules(model: nn.Module) -> nn.Module:
    """Call `deploy()` on every submodule that has one, deepest first (timm-style deploy step)."""
    for module in list(model.modules())[::-1]:
        if module is not model and callable(getattr(type(module), "deploy", None)):
            module.deploy()
    return model
