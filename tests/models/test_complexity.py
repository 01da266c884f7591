"""FLOP counts on an empty batch: the same figures as torch's FlopCounterMode, no torch._dynamo."""

import pytest
import torch

from edgeseg.models.complexity import count_flops
from edgeseg.models.registry import detect
from golden import CASES, FLOPS, FLOP_SIZES, state_dict, variant


@pytest.mark.parametrize("case", sorted(CASES))
def test_flops_match_flop_counter_mode(case):
    model = detect(state_dict(case), variant(case)).build()
    assert [count_flops(model, size) for size in FLOP_SIZES] == list(FLOPS[case])


def test_products_are_what_the_count_sums():
    from edgeseg.models.complexity import products

    conv = torch.nn.Conv2d(3, 8, 3, stride=2, padding=1, groups=1)
    assert products(conv, (5, 7)) == [((0, 8, 3, 4), 27)]
    assert count_flops(conv, (5, 7)) == 2 * 8 * 3 * 4 * 27


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
