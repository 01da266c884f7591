"""Optimization profiles: `min:opt:max` shapes (e.g. 1x3x180x240:1x3x360x480:1x3x1024x2048).

A model exported with dynamic axes needs one profile to become an engine; a static model
needs none, and shapes given for it must be its own. Device profiles carry NCHW defaults,
turned into NHWC for models that take the camera's uint8 image (preprocessing in the graph).
"""

from __future__ import annotations

from dataclasses import dataclass

from edgeseg.errors import OptionError, field

SHAPES = field("engine.shapes")  # the option every message here is about


@dataclass(frozen=True)
class Shapes:
    min: tuple[int, ...]
    opt: tuple[int, ...]
    max: tuple[int, ...]

    def __post_init__(self):
        if not (len(self.min) == len(self.opt) == len(self.max)):
            raise OptionError(f"{SHAPES} {self.text}: min, opt and max need the same number of dimensions")
        if any(v <= 0 for s in (self.min, self.opt, self.max) for v in s):
            raise OptionError(f"{SHAPES} {self.text}: dimensions must be positive")
        if not all(a <= b <= c for a, b, c in zip(self.min, self.opt, self.max)):
            raise OptionError(f"{SHAPES} {self.text}: need min <= opt <= max in every dimension")

    @property
    def text(self) -> str:
        return ":".join(format_shape(s) for s in (self.min, self.opt, self.max))

    @property
    def static(self) -> bool:
        return self.min == self.opt == self.max

    def fits(self, declared, name: str = "the model input") -> None:
        """Refuse shapes the model cannot take: wrong rank, or a fixed dimension changed."""
        if len(declared) != len(self.min):
            raise OptionError(f"{SHAPES} {self.text} has {len(self.min)} dimensions; {name} has "
                              f"{len(declared)} ({format_shape(declared)})")
        for i, d in enumerate(normalize(declared)):
            if d is not None and not (self.min[i] == self.opt[i] == self.max[i] == d):
                raise OptionError(f"{SHAPES} {self.text}: dimension {i} of {name} is fixed at {d} "
                                  f"({format_shape(declared)})")


def normalize(declared) -> list[int | None]:
    """Declared dims as ints, None where dynamic (-1, 0, None or a symbolic name)."""
    return [int(d) if isinstance(d, int) and d > 0 else None for d in declared]


def format_shape(dims) -> str:
    return "x".join("?" if d is None else str(d) for d in normalize(dims))


def is_dynamic(declared) -> bool:
    return any(d is None for d in normalize(declared))


def parse_shape(text: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(v) for v in text.strip().lower().split("x"))
    except ValueError:
        raise OptionError(f"{SHAPES}: {text!r} is not a shape like 1x3x360x480") from None
    if len(dims) < 2:
        raise OptionError(f"{SHAPES}: {text!r} is not a shape like 1x3x360x480")
    return dims


def parse_shapes(text: str) -> Shapes:
    """'min:opt:max', or one shape for all three."""
    parts = text.strip().split(":")
    if len(parts) == 1:
        s = parse_shape(parts[0])
        return Shapes(s, s, s)
    if len(parts) != 3:
        raise OptionError(f"{SHAPES} must be min:opt:max (or one shape), got {text!r}")
    return Shapes(*(parse_shape(p) for p in parts))


def from_profile(profile, declared=None) -> Shapes:
    """A device profile's NCHW shapes, as NHWC when the model input is (N, H, W, 3)."""
    s = {k: tuple(int(v) for v in profile.shapes[k]) for k in ("min", "opt", "max")}
    dims = normalize(declared or [])
    if len(dims) == 4 and dims[3] == 3 and dims[1] != 3:
        s = {k: (n, h, w, c) for k, (n, c, h, w) in s.items()}
    return Shapes(s["min"], s["opt"], s["max"])


def choose(declared, explicit: Shapes | None, default: Shapes | None, name: str = "input") -> Shapes | None:
    """The profile to build with: None for a static model, else the given or default shapes.

    Explicit shapes must fit the model (a static model only takes its own shape); device
    defaults are used only where the model is dynamic.
    """
    if explicit is not None:
        explicit.fits(declared, f"model input {name!r}")
    if not is_dynamic(declared):
        return None
    shapes = explicit or default
    if shapes is None:
        raise OptionError(f"model input {name!r} is dynamic ({format_shape(declared)}): give {SHAPES} "
                          f"min:opt:max (e.g. 1x3x180x240:1x3x360x480:1x3x1024x2048) or {field('device')} PROFILE")
    shapes.fits(declared, f"model input {name!r}")
    return shapes


def require_static(shapes: Shapes | None) -> None:
    """The DLA runs one shape: TensorRT moves every DLA layer to the GPU when min != max."""
    if shapes is not None and not shapes.static:
        raise OptionError(f"{field('engine.dla_core')} needs one input shape, the DLA does not take dynamic "
                          f"shapes: give {SHAPES} {format_shape(shapes.opt)} (min = opt = max) instead of {shapes.text}")
