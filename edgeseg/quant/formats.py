"""The quantized number formats: symmetric int8 and FP8 E4M3, behind the same Q/DQ writer.

Both quantize x as q = x / scale with scale = amax / qmax and a zero point of 0; only the grid
differs. INT8 rounds to integers in [-127, 127]; E4M3 (float8e4m3fn, ONNX opset >= 19) rounds
to the nearest representable float8 and saturates at ±448, as QuantizeLinear does by default.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgeseg.metadata import FLOAT8_TYPES


@dataclass(frozen=True)
class QFormat:
    name: str
    qmax: float
    min_opset: int

    def numpy_dtype(self):
        if self.name == "fp8":
            import ml_dtypes

            return ml_dtypes.float8_e4m3fn
        return np.int8

    def quantize(self, scaled: np.ndarray) -> np.ndarray:
        """Values already divided by their scale -> the stored array (int8 or float8e4m3fn)."""
        clipped = np.clip(scaled, -self.qmax, self.qmax)
        if self.name == "fp8":
            return clipped.astype(np.float32).astype(self.numpy_dtype())
        return np.round(clipped).astype(np.int8)

    def zeros(self, shape=()) -> np.ndarray:
        return np.zeros(shape, self.numpy_dtype())


INT8 = QFormat("int8", 127.0, 13)
FP8 = QFormat("fp8", 448.0, 19)
FORMATS = {f.name: f for f in (INT8, FP8)}


def has_fp8(model) -> bool:
    """True when an ONNX model (proto or path) stores float8 tensors (an FP8 Q/DQ graph)."""
    if not hasattr(model, "graph"):
        import onnx

        model = onnx.load(str(model), load_external_data=False)
    return any(i.data_type in FLOAT8_TYPES for i in model.graph.initializer)

