"""Graph simplification with onnxsim or onnxslim (constant folding, shape-op cleanup).

Default chosen by measurement on S²-FPN18 (see benchmarks/results/simplifier.json).
"""

from __future__ import annotations

from edgeseg.errors import EdgesegError, OptionError, require
from edgeseg.errors import field as f

SIMPLIFIERS = ("onnxsim", "onnxslim", "none")
DEFAULT = "onnxsim"


def simplify(model, simplifier: str = DEFAULT):
    """Return a simplified copy of an in-memory ONNX model."""
    if simplifier == "none":
        return model
    if simplifier == "onnxsim":
        onnxsim = require("onnxsim", "export")
        simplified, ok = onnxsim.simplify(model)
        if not ok:
            raise OptionError(f"onnxsim could not validate the simplified model; try {f('onnx.simplifier')} onnxslim or "
                              "none")
        return simplified
    if simplifier == "onnxslim":
        onnxslim = require("onnxslim", "export")
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()):  # onnxslim prints its own summary
            return onnxslim.slim(model)
    raise EdgesegError(f"unknown simplifier {simplifier!r}; choose one of {', '.join(SIMPLIFIERS)}")
