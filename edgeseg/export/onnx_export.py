"""PyTorch deploy model -> ONNX (opset 17 by default), static or dynamic batch/height/width."""

from __future__ import annotations

import warnings
from pathlib import Path

from edgeseg.errors import EdgesegError
from edgeseg.filesystem import is_disk_full

INPUT, OUTPUT = "input", "logits"


def export_onnx(model, path: Path, input_size: tuple[int, int], *, dynamic: bool = False, opset: int = 17) -> None:
    """Trace `model` at `input_size` and write ONNX to `path` (caller handles atomicity).

    Uses the TorchScript exporter: it needs no onnxscript, runs on the CPU build, and maps
    this model's ops (bmm, reductions, Resize, PRelu) one to one.
    """
    import torch

    x = torch.zeros(1, 3, *input_size)
    axes = {0: "batch", 2: "height", 3: "width"} if dynamic else None
    dynamic_axes = {INPUT: axes, OUTPUT: axes} if dynamic else None
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (x,), str(path), dynamo=False, opset_version=opset,
                              input_names=[INPUT], output_names=[OUTPUT], dynamic_axes=dynamic_axes,
                              do_constant_folding=True)
    except Exception as exc:  # the exporter's errors are long; keep the first line
        if is_disk_full(exc):
            raise EdgesegError(f"cannot write the ONNX model in {Path(path).parent}: no space left on device") from None
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EdgesegError(f"ONNX export failed at opset {opset}: {first}") from None
