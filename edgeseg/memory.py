"""Will a run fit in memory? Estimated before anything is allocated, refused with the numbers.

Activation memory grows with the input's pixels (H x W x batch); the bytes per pixel of each
variant were measured with the real models (benchmarks/memory_per_pixel.py, one PyTorch CPU
inference per point) and live in edgeseg/data/memory.json. An export holds more than one
inference at once (the checkpoint's model and the deploy copy, the traced graph, ONNX Runtime
verifying each stage), counted as EXPORT_FACTOR inferences. The limit is the memory available
now, or what `--max-memory-gb` says.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from edgeseg.errors import OptionError, field

EXPORT_FACTOR = 3  # inferences' worth of activations an export holds at its peak (not measured: an estimate)
_limit_gb: float | None = None


@lru_cache(maxsize=None)
def _table() -> dict:
    return json.loads(resources.files("edgeseg.data").joinpath("memory.json").read_text())["variants"]


def set_limit_gb(value: float | None) -> None:
    """The limit the user set (`max_memory_gb`): raises (or lowers) it for this process."""
    global _limit_gb
    if value is not None and value <= 0:
        raise OptionError(f"{field('max_memory_gb')} must be > 0, got {value}")
    _limit_gb = value


def available_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (Linux, Jetson), else free physical pages, else None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import os

        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def estimate_bytes(variant: str | None, size, batch: int = 1, export: bool = False) -> int:
    """Peak bytes for one run at `size` (H, W); an unknown variant is costed as the hungriest."""
    table = _table()
    # Unknown: the hungriest that detection can yield (ResNet-34M is only ever chosen by name).
    entry = table.get(variant or "") or max((e for k, e in table.items() if not k.endswith("m")),
                                            key=lambda e: e["bytes_per_pixel"])
    pixels = int(size[0]) * int(size[1]) * int(batch)
    one = entry["base_bytes"] + entry["bytes_per_pixel"] * pixels
    return one * (EXPORT_FACTOR if export else 1)


def _limit() -> tuple[int | None, str]:
    if _limit_gb is not None:
        return int(_limit_gb * 1e9), f"the {field('max_memory_gb')} limit"
    return available_bytes(), "the memory available now"


def check_fits(variant: str | None, size, batch: int = 1, export: bool = False, what: str | None = None,
               held: int = 0) -> None:
    """Refuse a run whose estimate (plus `held` bytes of data it keeps) exceeds the limit, in one line."""
    need = estimate_bytes(variant, size, batch, export) + held
    limit, source = _limit()
    if limit is None or need <= limit:
        return
    h, w = size
    what = what or f"{'export' if export else 'inference'} at {h}x{w}" + (f", batch {batch}" if batch != 1 else "")
    raise OptionError(f"{what} needs about {need / 1e9:.1f} GB ({variant or 'any variant'}), more than "
                      f"{source} ({limit / 1e9:.1f} GB); use a smaller {field('input_size')} or batch, or raise the "
                      f"limit with {field('max_memory_gb')}")


def validation_bytes(images: int, size, classes: int) -> int:
    """What INT8/FP8 validation keeps in memory: each image's float input, its label and its FP32 logits."""
    h, w = size
    return images * h * w * (3 * 4 + 1 + classes * 4)


# Bytes per pixel an image costs at its own size once decoded: the BGR image, its class map
# (int64 from argmax), the colour mask and the overlay (an estimate, not measured).
IMAGE_BYTES_PER_PIXEL = 20


def check_image(path, size) -> None:
    """Refuse an image whose decoded size (from its header) would not fit, before it is decoded:
    a 140 KB PNG can hold 12000x12000 pixels."""
    h, w = size
    need = IMAGE_BYTES_PER_PIXEL * h * w
    limit, source = _limit()
    if limit is not None and need > limit:
        raise OptionError(f"image {path} is {w}x{h}: decoding and predicting it at that size needs about "
                          f"{need / 1e9:.1f} GB, more than {source} ({limit / 1e9:.1f} GB); shrink it first or "
                          f"raise the limit with {field('max_memory_gb')}")


def fit_within(size, limit) -> tuple[int, int]:
    """`size` (H, W) scaled down, aspect kept, to at most `limit`'s pixel count; unchanged if it fits."""
    h, w = int(size[0]), int(size[1])
    cap = int(limit[0]) * int(limit[1])
    if h * w <= cap:
        return h, w
    scale = (cap / (h * w)) ** 0.5
    return max(1, int(h * scale)), max(1, int(w * scale))
