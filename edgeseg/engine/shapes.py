"""Optimization profiles: `--shapes min:opt:max` (e.g. 1x3x180x240:1x3x360x480:1x3x1024x2048)."""

from __future__ import annotations

from dataclasses import dataclass

from edgeseg.errors import EdgesegError


@dataclass(frozen=True)
class Shapes:
    min: tuple[int, ...]
    opt: tuple[int, ...]
    max: tuple[int, ...]

    def __post_init__(self):
        if not (len(self.min) == len(self.opt) == len(self.max)):
            raise EdgesegError("--shapes: min, opt and max need the same number of dimensions")
        if any(v <= 0 for s in (self.min, self.opt, self.max) for v in s):
            raise EdgesegError("--shapes: dimensions must be positive")
        if not all(a <= b <= c for a, b, c in zip(self.min, self.opt, self.max)):
            raise EdgesegError(f"--shapes: need min <= opt <= max in every dimension, got {self.text}")

    @property
    def text(self) -> str:
        return ":".join("x".join(str(v) for v in s) for s in (self.min, self.opt, self.max))

    def fits(self, declared) -> None:
        """Check against the ONNX input's declared dims (ints fixed, None/str dynamic)."""
        if len(declared) != len(self.min):
            raise EdgesegError(f"--shapes has {len(self.min)} dims; the model input has {len(declared)}")
        for i, d in enumerate(declared):
            if isinstance(d, int) and d > 0 and not (self.min[i] == self.opt[i] == self.max[i] == d):
                raise EdgesegError(f"--shapes: dim {i} of the model input is fixed at {d}")


def parse_shape(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.lower().split("x"))
    except ValueError:
        raise EdgesegError(f"--shapes: {text!r} is not a shape like 1x3x360x480") from None


def parse_shapes(text: str) -> Shapes:
    parts = text.split(":")
    if len(parts) == 1:
        s = parse_shape(parts[0])
        return Shapes(s, s, s)
    if len(parts) != 3:
        raise EdgesegError(f"--shapes must be min:opt:max (or one shape), got {text!r}")
    return Shapes(*(parse_shape(p) for p in parts))


def from_profile(profile) -> Shapes:
    s = profile.shapes
    return Shapes(tuple(s["min"]), tuple(s["opt"]), tuple(s["max"]))


def is_dynamic(declared) -> bool:
    return any(not isinstance(d, int) or d <= 0 for d in declared)
