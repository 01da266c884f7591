"""FLOP counts without real arithmetic: the model runs on an empty batch.

With batch 0 every op computes only its output shape, so a forward at 1024x2048 costs
milliseconds; the FLOPs of convolutions and matrix products follow from those shapes,
counted per image as torch's FlopCounterMode counts them (2 x multiply-accumulates, bias
and element-wise ops left out). FlopCounterMode and meta tensors give the same figures but
import torch._dynamo on first use; a TorchFunctionMode does not. `archspec` turns these
counts into the formulas `inspect` evaluates without torch.
"""

from __future__ import annotations

from math import prod


def count_flops(model, input_size: tuple[int, int]) -> int:
    """FLOPs of one eval forward of `model` (on the CPU, weights' values unused) at `input_size`, batch 1."""
    return sum(2 * _per_image(shape) * inner for shape, inner in products(model, input_size))


def products(model, input_size: tuple[int, int]) -> list[tuple[tuple[int, ...], int]]:
    """(output shape, inner dimension) of every product in one eval forward on an empty batch:
    each output element is one dot product of that length."""
    import torch

    counter = _counter(torch)
    with counter, torch.no_grad():
        model.eval()(torch.empty(0, 3, *input_size))
    return counter.products


def _per_image(shape) -> int:
    """Elements of one image's share of a tensor: the empty batch dimension counts as 1."""
    return prod(d or 1 for d in shape)


def _counter(torch):
    from torch.overrides import TorchFunctionMode

    F = torch.nn.functional
    convs = {F.conv1d, F.conv2d, F.conv3d}
    matmuls = {F.linear, torch.mm, torch.addmm, torch.bmm, torch.baddbmm, torch.matmul,
                torch.Tensor.mm, torch.Tensor.bmm, torch.Tensor.matmul, torch.Tensor.__matmul__}
    unsupported = {F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d, torch.einsum,
                   F.scaled_dot_product_attention}

    class Counter(TorchFunctionMode):
        def __init__(self):
            super().__init__()
            self.products = []

        def __torch_function__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if func in convs:  # weight (Cout, Cin/groups, k...)
                self.products.append((tuple(out.shape), prod(args[1].shape[1:])))
            elif func in matmuls:  # (..., m, k) x (..., k, n), or linear's (..., k) x (n, k)^T
                inner = args[-2].shape[-1] if func in (torch.addmm, torch.baddbmm) else args[0].shape[-1]
                self.products.append((tuple(out.shape), inner))
            elif func in unsupported:
                raise NotImplementedError(f"count_flops does not count {func.__name__}")
            return out

    return Counter()
