"""Parameter and FLOP counts without running real arithmetic (meta tensors)."""

from __future__ import annotations


def count_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def count_flops(arch, input_size: tuple[int, int]) -> int:
    """FLOPs (2 x multiply-accumulates) of one eval forward at `input_size`, batch 1."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        model = arch.build().eval()
        x = torch.empty(1, 3, *input_size)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    return int(counter.get_total_flops())
