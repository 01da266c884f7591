"""The architecture table inspect answers from: current with the models, exact at any size."""

import pytest
import torch

from edgeseg.models import archspec
from edgeseg.models.complexity import count_flops
from edgeseg.models.registry import Arch, detect
from golden import CASES, FLOPS, FLOP_SIZES, state_dict, variant

ODD_SIZES = ((1, 1), (7, 5), (33, 65), (97, 131), (255, 257), (1023, 77))


@pytest.fixture(scope="module")
def generated():
    return archspec.generate()


@pytest.mark.slow
def test_the_shipped_table_is_generated_from_the_models(generated):
    assert archspec.SPEC.read_text() == archspec.dumps(generated), \
        "a model changed: regenerate with `python -m edgeseg.models.archspec`"


@pytest.mark.parametrize("case", sorted(CASES))
def test_flops_equal_the_golden_counts(case):
    arch = detect(state_dict(case), variant(case))
    assert [archspec.count_flops(arch, size) for size in FLOP_SIZES] == list(FLOPS[case])


@pytest.mark.parametrize("case", sorted(CASES))
def test_flops_equal_the_traced_count_at_odd_sizes(case):
    """Odd sizes round differently at every stride: each of the table's sizes is exercised."""
    arch = detect(state_dict(case), variant(case))
    model = arch.build()
    assert [archspec.count_flops(arch, s) for s in ODD_SIZES] == [count_flops(model, s) for s in ODD_SIZES]


@pytest.mark.parametrize("arch", [Arch("current", 18, 2), Arch("v1", 34, 19, True), Arch("spfnet", 34, 150)],
                         ids=lambda a: f"{a.variant}-{a.classes}")
def test_state_and_params_follow_the_class_count(arch):
    model = arch.build()
    assert archspec.state_shapes(arch) == {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert archspec.count_params(arch) == sum(p.numel() for p in model.parameters())
    assert archspec.count_flops(arch, (64, 96)) == count_flops(model, (64, 96))


def test_probe_values_that_collide_are_refused():
    with pytest.raises(ValueError, match="share a value"):
        archspec._names((2**14 + 3, 3 * 2**14 + 1), 1009)  # ceil(H/2) = 2·ceil(H/4)


def test_a_size_the_table_cannot_name_makes_the_probes_disagree(monkeypatch):
    """A floor-rounding stride (kernel 2, stride 2 on an odd size) is not one of the table's sizes."""
    class Floor(torch.nn.Module):
        def __init__(self, *args):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 2, stride=2)

        def forward(self, x):
            return self.conv(x)

    monkeypatch.setattr(Arch, "build", lambda self: Floor())
    with pytest.raises(ValueError, match="probes disagree"):
        archspec.generate()
