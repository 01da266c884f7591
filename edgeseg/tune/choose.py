"""The choice rules, pure functions of recorded measurements (tested on them, no model needed).

Latency here is the pipeline figure (model + host work to a full-size class map): what an
application pays. Two questions, one rule each:
- fastest within a budget (`max_miou_drop`, optionally `max_class_drop`, the worst single
  class's IoU drop): a candidate qualifies when it was measured and its drops are within; an FP32
  candidate always does (its drop on another runtime is float noise, not a loss the user chose).
  Equal latencies (to 0.01 ms) go to the smaller drop, then the simpler artifact, then the name.
- most accurate at a frame rate (`min_fps`): the highest mIoU whose pipeline reaches the rate
  (and within `max_class_drop` when given); equal mIoU goes to the faster.
With the throughput objective, "fast" is frames per second with several requests in flight
(`throughput_fps`, throughput.py) instead of one frame's pipeline latency; the rules are the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgeseg.errors import EdgesegError, OptionError
from edgeseg.errors import field as f


@dataclass(frozen=True)
class Objective:
    max_miou_drop: float = 0.3
    max_class_drop: float | None = None
    min_fps: float | None = None
    throughput: bool = False  # rank by frames/s with requests in flight, not one frame's latency

    def describe(self) -> str:
        what = "throughput" if self.throughput else "pipeline"
        if self.min_fps is not None:
            text = f"most accurate at >= {self.min_fps:g} FPS ({what})"
        else:
            text = f"{'highest throughput' if self.throughput else 'fastest pipeline'} within " \
                   f"{self.max_miou_drop:g} mIoU points"
        if self.max_class_drop is not None:
            text += f", worst class drop <= {self.max_class_drop:g}"
        return text


def measured(row: dict, obj: "Objective | None" = None) -> bool:
    timed = row.get("throughput_fps") is not None if obj is not None and obj.throughput else \
        row.get("pipeline_ms") is not None
    return timed and row.get("miou") is not None


def accurate_enough(row: dict, obj: Objective) -> bool:
    """Within the accuracy budgets (FP32 always is); timing not considered."""
    if row.get("miou") is None:
        return False
    if row.get("precision") == "fp32" and row.get("tail") != "argmax-lowres":
        return True
    drop_ok = obj.min_fps is not None or (row.get("miou_drop") or 0.0) <= obj.max_miou_drop + 1e-9
    cls = row.get("class_drop")
    class_ok = obj.max_class_drop is None or (cls is not None and cls <= obj.max_class_drop + 1e-9)
    return drop_ok and class_ok


def qualifies(row: dict, obj: Objective) -> bool:
    if not (measured(row, obj) and accurate_enough(row, obj)):
        return False
    return obj.min_fps is None or fps(row, obj) >= obj.min_fps - 1e-9


def fps(row: dict, obj: Objective | None = None) -> float:
    """Frames per second as the objective counts them: one frame's pipeline, or the throughput."""
    if obj is not None and obj.throughput:
        return row["throughput_fps"]
    return 1000.0 / row["pipeline_ms"]


def cost(row: dict, obj: Objective) -> float:
    """What ranks speed, smaller is faster: pipeline ms, or ms per frame at the throughput."""
    return round(1000.0 / row["throughput_fps"], 2) if obj.throughput else round(row["pipeline_ms"], 2)


def rank_key(row: dict, obj: Objective) -> tuple:
    drop = max(row.get("miou_drop") or 0.0, 0.0)
    if obj.min_fps is not None:
        return (-round(row["miou"], 2), cost(row, obj), row.get("order", 0), row["name"])
    return (cost(row, obj), drop, row.get("order", 0), row["name"])


def pareto(rows: list[dict]) -> list[dict]:
    """The measured rows no other row beats on both pipeline latency and mIoU, fastest first."""
    pts = sorted((r for r in rows if measured(r)), key=lambda r: (r["pipeline_ms"], -r["miou"]))
    front, best = [], float("-inf")
    for r in pts:
        if r["miou"] > best:
            front.append(r)
            best = r["miou"]
    return front


def speed(row: dict, obj: Objective) -> str:
    """A row's speed as the objective counts it, in words."""
    if obj.throughput:
        return f"{row['throughput_fps']:.1f} FPS throughput"
    return f"{row['pipeline_ms']:.2f} ms pipeline ({fps(row):.1f} FPS)"


def choose(rows: list[dict], obj: Objective) -> tuple[dict, str]:
    """(winning row, why it won, in one sentence)."""
    ok = sorted((r for r in rows if qualifies(r, obj)), key=lambda r: rank_key(r, obj))
    if not ok:
        timed = [r for r in rows if measured(r, obj)]
        if not timed:
            raise EdgesegError("no candidate was measured (every build failed); see the table for why")
        if obj.min_fps is not None:
            within = [r for r in timed if accurate_enough(r, obj)]
            best = min(within or timed, key=lambda r: cost(r, obj))
            where = f"within {f('max_class_drop')} " if within and obj.max_class_drop is not None else ""
            raise OptionError(f"{f('min_fps')} {obj.min_fps:g}: no candidate reaches it here; the fastest "
                              f"{where}is {best['name']} at " + (speed(best, obj) if obj.throughput else
                                                                 f"{fps(best):.1f} FPS ({best['pipeline_ms']:.2f} "
                                                                 "ms pipeline)"))
        raise EdgesegError(f"no candidate is within {obj.describe()}; see the table")
    best = ok[0]
    why = f"{obj.describe()}: {speed(best, obj)}, mIoU {best['miou']:.2f}, drop {best.get('miou_drop') or 0.0:.2f}"
    if best.get("class_drop") is not None:
        why += f", worst class drop {best['class_drop']:.2f}"
    if len(ok) > 1:
        second = ok[1]
        why += f"; next {second['name']} at {speed(second, obj)}, mIoU {second['miou']:.2f}"
        if rank_key(second, obj)[:1] == rank_key(best, obj)[:1]:
            rule = "the faster" if obj.min_fps is not None else "smaller drop, then the simpler artifact"
            why += f" (tie: {rule})"
    if obj.min_fps is None:
        over = [r for r in rows if measured(r, obj) and not accurate_enough(r, obj) and cost(r, obj) < cost(best, obj)]
        if over:
            why += "; faster but over the budget: " + ", ".join(
                f"{r['name']} (drop {r.get('miou_drop') or 0.0:.2f}" +
                (f", class {r['class_drop']:.2f}" if r.get("class_drop") is not None else "") + ")" for r in over)
    return best, why


def runner_up(rows: list[dict], obj: Objective, pick: str) -> dict | None:
    """The next qualifying row after `pick` (what check.py re-measures beside it)."""
    ok = sorted((r for r in rows if qualifies(r, obj)), key=lambda r: rank_key(r, obj))
    return next((r for r in ok if r["name"] != pick), None)
