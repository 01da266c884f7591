"""TuneOptions: what `tune` (and `fleet tune`) is asked, each default written here once.

`tune_options(**flat)` builds them from flat keywords, a None meaning the default, so the CLI
passes every flag by name and states no default of its own. `check()` refuses what cannot work
with an OptionError naming the field path (`protocol.rounds`), which each command renders as its
own flag; it runs before the first build (tune, plan, fleet tune).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

from edgeseg.errors import OptionError
from edgeseg.errors import field as f
from edgeseg.models.registry import VARIANTS
from edgeseg.quant.config import check_budget
from edgeseg.tune.choose import Objective
from edgeseg.tune.measure import Protocol
from edgeseg.tune.tails import TAILS, check_tails


OBJECTIVES = ("latency", "throughput")


@dataclass(frozen=True, kw_only=True)
class TuneOptions:
    val: str | None = None  # ROOT[:SPLIT] or a list file (required)
    max_miou_drop: float = 0.3
    calib: str | None = None  # manifest, list or folder; default: search.DEFAULT_CALIB images of ROOT's train split
    calib_data: str | None = None
    device: str = "cpu"
    input_size: tuple[int, int] | None = None
    dataset: str = "camvid"
    variant: str | None = None
    threads: int | None = None  # default: the physical cores (what ONNX Runtime uses unasked)
    val_limit: int | None = None
    protocol: Protocol = field(default_factory=Protocol)
    tails: tuple[str, ...] = TAILS
    min_fps: float | None = None  # most accurate whose pipeline reaches it (instead of fastest within the budget)
    max_class_drop: float | None = None  # worst single class's IoU drop, in points
    input_sizes: tuple[tuple[int, int], ...] = ()  # smaller model inputs to try besides input_size
    thread_counts: tuple[int, ...] = ()  # other CPU thread counts to try on the candidates in the running
    objective: str = "latency"  # OBJECTIVES: one frame's pipeline latency, or frames/s with requests in flight
    streams: tuple[int, ...] = ()  # throughput: OpenVINO stream counts to try (default: throughput.DEFAULT_STREAMS)

    def __post_init__(self):
        """Normal forms only (tuples, duplicates dropped); what is wrong is check()'s to say."""
        object.__setattr__(self, "tails", tuple(dict.fromkeys(self.tails or ())))
        try:
            sizes = tuple(tuple(int(v) for v in s) for s in self.input_sizes)
            object.__setattr__(self, "input_sizes", tuple(dict.fromkeys(sizes)))
        except (TypeError, ValueError):
            pass  # check() names it
        object.__setattr__(self, "thread_counts", tuple(dict.fromkeys(self.thread_counts)))
        object.__setattr__(self, "streams", tuple(dict.fromkeys(self.streams)))

    @property
    def rule(self) -> Objective:
        """The choice rule these options ask for (choose.py)."""
        return Objective(self.max_miou_drop, self.max_class_drop, self.min_fps, self.objective == "throughput")

    def check(self) -> "TuneOptions":
        """Raise OptionError (field paths) for options that cannot work; returns self."""
        if not self.val:
            raise OptionError(f"tune needs {f('val')} ROOT[:SPLIT]: labelled images to measure each candidate's "
                              "mIoU on")
        check_budget("max_miou_drop", self.max_miou_drop)
        if self.max_class_drop is not None:
            check_budget("max_class_drop", self.max_class_drop)
        if self.min_fps is not None and not (math.isfinite(self.min_fps) and self.min_fps > 0):
            raise OptionError(f"{f('min_fps')} must be a finite number > 0, got {self.min_fps}")
        if self.variant is not None and self.variant not in VARIANTS:
            raise OptionError(f"{f('variant')} {self.variant!r}: unknown; choose one of {', '.join(VARIANTS)}")
        check_tails(self.tails)
        if any(not isinstance(s, tuple) or len(s) != 2 or min(s) < 1 for s in self.input_sizes):
            raise OptionError(f"{f('input_sizes')} must be HxW sizes, got {list(self.input_sizes)}")
        _at_least("threads", self.threads)
        if any(not isinstance(t, int) or t < 1 for t in self.thread_counts):
            raise OptionError(f"{f('thread_counts')} must be whole numbers >= 1, got {list(self.thread_counts)}")
        _at_least("val_limit", self.val_limit)
        if self.objective not in OBJECTIVES:
            raise OptionError(f"{f('objective')} must be one of {', '.join(OBJECTIVES)}, got {self.objective!r}")
        if any(not isinstance(n, int) or n < 1 for n in self.streams):
            raise OptionError(f"{f('streams')} must be whole numbers >= 1, got {list(self.streams)}")
        if self.streams and self.objective != "throughput":
            raise OptionError(f"{f('streams')} only applies with {f('objective')} throughput (one frame at a time "
                              "runs one stream)")
        p = self.protocol
        for name in ("rounds", "iters"):
            _at_least(f"protocol.{name}", getattr(p, name))
        if p.warmup < 0:
            raise OptionError(f"{f('protocol.warmup')} must be at least 0, got {p.warmup}")
        return self


def _at_least(path: str, value, least: int = 1) -> None:
    if value is not None and value < least:
        raise OptionError(f"{f(path)} must be at least {least}, got {value}")


PROTOCOL_FIELDS = ("rounds", "iters", "warmup")


def tune_options(**flat) -> TuneOptions:
    """TuneOptions from flat keywords (TuneOptions' fields, and rounds / iters / warmup for the
    protocol); a None is the default. Unchecked: call check()."""
    names = {fl.name for fl in fields(TuneOptions)}
    unknown = sorted(k for k in flat if k not in names and k not in PROTOCOL_FIELDS)
    if unknown:
        raise TypeError(f"tune_options: unknown fields {', '.join(unknown)}")
    proto = {k: flat.pop(k) for k in PROTOCOL_FIELDS if k in flat}
    proto = {k: v for k, v in proto.items() if v is not None}
    if proto:
        flat["protocol"] = Protocol(**proto)
    return TuneOptions(**{k: v for k, v in flat.items() if v is not None})
