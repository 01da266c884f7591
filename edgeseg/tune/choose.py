"""The choice rule, a pure function of recorded measurements (tested on them, no model needed).

A candidate qualifies when it was measured and its mIoU drop against FP32 is within the budget;
an FP32 candidate always qualifies (the drop of FP32 on another runtime is noise in the float
sums, not a loss the user chose). The fastest median latency wins; equal medians (to 0.01 ms)
go to the smaller drop, then to the simpler artifact (candidate order), then to the name.
"""

from __future__ import annotations

from edgeseg.errors import EdgesegError


def qualifies(row: dict, budget: float) -> bool:
    if row.get("median_ms") is None or row.get("miou") is None:
        return False
    return row.get("precision") == "fp32" or (row.get("miou_drop") or 0.0) <= budget + 1e-9


def rank_key(row: dict) -> tuple:
    return (round(row["median_ms"], 2), max(row.get("miou_drop") or 0.0, 0.0), row.get("order", 0), row["name"])


def choose(rows: list[dict], budget: float) -> tuple[dict, str]:
    """(winning row, why it won, in one sentence)."""
    if budget < 0:
        raise EdgesegError(f"--max-miou-drop must be >= 0 mIoU points, got {budget}")
    ok = sorted((r for r in rows if qualifies(r, budget)), key=rank_key)
    if not ok:
        raise EdgesegError("no candidate was measured (every build failed); see the table for why")
    best = ok[0]
    over = [r for r in rows if r.get("median_ms") is not None and r.get("miou") is not None and not qualifies(r, budget)
            and r["median_ms"] < best["median_ms"]]
    why = (f"fastest within the budget of {budget:g} mIoU points: {best['median_ms']:.2f} ms median, "
           f"drop {best.get('miou_drop') or 0.0:.2f}")
    if len(ok) > 1:
        second = ok[1]
        why += f"; next {second['name']} at {second['median_ms']:.2f} ms"
        if round(second["median_ms"], 2) == round(best["median_ms"], 2):
            why += " (tie: smaller drop, then the simpler artifact)"
    if over:
        why += "; faster but over the budget: " + ", ".join(f"{r['name']} (drop {r['miou_drop']:.2f})" for r in over)
    return best, why
