"""TensorRT calibration cache text, for TensorRT versions that still take one (8.6, 10.x).

Format: a header line, then `tensor: <scale as big-endian float32 hex>` per tensor.
"""

from __future__ import annotations

import struct

from edgeseg.quant.qdq import QMAX


def cache_text(amax: dict[str, float], version: str = "100300") -> str:
    lines = [f"TRT-{version}-EntropyCalibration2"]
    for name in sorted(amax):
        scale = max(float(amax[name]), 1e-8) / QMAX
        lines.append(f"{name}: {struct.pack('>f', scale).hex()}")
    return "\n".join(lines) + "\n"


def parse_cache(text: str) -> dict[str, float]:
    """Scales per tensor from cache text (used by tests and to inspect a cache)."""
    out = {}
    for line in text.splitlines()[1:]:
        name, _, hexval = line.rpartition(": ")
        if name:
            out[name] = struct.unpack(">f", bytes.fromhex(hexval))[0]
    return out
