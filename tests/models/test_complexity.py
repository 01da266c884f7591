"""FLOP and parameter counts on an empty batch: the same figures as torch's FlopCounterMode, no torch._dynamo."""

import subprocess
import sys

import pytest
import torch

from edgeseg.models.complexity import count_flops, count_params
from edgeseg.models.registry import detect
from golden import CASES, state_dict, variant

# FLOPs of one forward, batch 1, as torch.utils.flop_counter.FlopCounterMode counted them on meta tensors
# (the counter edgeseg used before; torch 2.13.0): 96x128, 360x480, 1024x2048.
FLOPS = {
    "s2fpn18": (1591972864, 22996123648, 282071749632),
    "s2fpn18v1": (1306055680, 18714830848, 222427698176),
    "s2fpn34": (2498335744, 35989577728, 436757681152),
    "s2fpn34m": (9830843392, 140107279360, 1762738131968),
    "s2fpn34mv1": (8668496896, 122360028160, 1478496441344),
    "s2fpn34v1": (2211632128, 31697225728, 376979411968),
    "spfnet18": (2804117504, 40217096192, 478547148800),
    "spfnet34": (3709300736, 53193961472, 633031753728),
}
SIZES = ((96, 128), (360, 480), (1024, 2048))


@pytest.mark.parametrize("case", sorted(CASES))
def test_flops_match_flop_counter_mode(case):
    model = detect(state_dict(case), variant(case)).build()
    assert [count_flops(model, size) for size in SIZES] == list(FLOPS[case])
    assert count_params(model) == sum(p.numel() for p in model.parameters()) > 0


def test_every_kind_of_product_is_counted_per_image():
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 8, 3, padding=1, groups=1)
            self.dw = torch.nn.Conv2d(8, 8, 3, padding=1, groups=8)
            self.fc = torch.nn.Linear(8, 5)

        def forward(self, x):
            x = self.dw(self.conv(x))  # (N, 8, 4, 6)
            v = x.flatten(2)  # (N, 8, 24)
            a = torch.bmm(v.transpose(1, 2), v)  # (N, 24, 24): 2*24*8*24
            b = v @ a  # (N, 8, 24): 2*8*24*24
            return self.fc(b.transpose(1, 2))  # (N, 24, 5): 2*24*8*5

    conv, dw = 2 * 8 * 24 * 3 * 9, 2 * 8 * 24 * 9
    assert count_flops(Net(), (4, 6)) == conv + dw + 2 * 24 * 8 * 24 + 2 * 8 * 24 * 24 + 2 * 24 * 8 * 5


def test_an_op_it_cannot_count_is_refused_not_skipped():
    with pytest.raises(NotImplementedError, match="conv_transpose2d"):
        count_flops(torch.nn.ConvTranspose2d(3, 4, 2, stride=2), (4, 4))


def test_inspect_imports_no_dynamo(tmp_path):
    from golden import save_checkpoint

    save_checkpoint("s2fpn18", tmp_path / "c.pth")
    probe = ("import sys; from edgeseg.cli.main import main; "
             f"code = main(['inspect', {str(tmp_path / 'c.pth')!r}, '--json']); "
             "print(code, 'torch._dynamo' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.stdout.strip().endswith("0 False"), result.stdout[-500:] + result.stderr[-2000:]
