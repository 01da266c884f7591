"""mIoU against FPS with the Pareto front marked, drawn with OpenCV (no plotting library).

One colour per device, a red ring and line on the Pareto-optimal points (no other point has
both more FPS and more mIoU), each point labelled with its artifact. FPS goes on a log axis
when it spans more than 20x (a CPU and a Jetson GPU on one plot).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

W, H, LEFT, RIGHT, TOP, BOTTOM = 1000, 650, 90, 40, 70, 80
FONT, BLACK, RED, GRID = 0, (0, 0, 0), (40, 39, 214), (228, 228, 228)  # FONT = cv2.FONT_HERSHEY_SIMPLEX
COLORS = [(180, 119, 31), (14, 127, 255), (44, 160, 44), (189, 103, 148), (75, 86, 140), (194, 119, 227),
          (127, 127, 127), (34, 189, 188), (207, 190, 23)]  # BGR, red kept for the front
LOG_SPAN = 20.0


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of points not beaten on both FPS (x) and mIoU (y), sorted by FPS."""
    front = [i for i, (x, y) in enumerate(points)
             if not any((x2 >= x and y2 >= y) and (x2 > x or y2 > y) for x2, y2 in points)]
    return sorted(front, key=lambda i: points[i][0])


def plottable(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r.get("fps") and r.get("miou") is not None]


class _Axes:
    """Data -> pixel mapping for the plot area, linear or log in x."""

    def __init__(self, xs, ys):
        self.log = min(xs) > 0 and max(xs) / min(xs) > LOG_SPAN
        fx = [math.log10(x) for x in xs] if self.log else list(xs)
        self.x_lo, self.x_hi = _pad(min(fx), max(fx))
        self.y_lo, self.y_hi = _pad(min(ys), max(ys))

    def px(self, x, y) -> tuple[int, int]:
        fx = math.log10(x) if self.log else x
        return (int(round(LEFT + (fx - self.x_lo) / (self.x_hi - self.x_lo) * (W - LEFT - RIGHT))),
                int(round(H - BOTTOM - (y - self.y_lo) / (self.y_hi - self.y_lo) * (H - TOP - BOTTOM))))

    def x_ticks(self) -> list[float]:
        if not self.log:
            return ticks(self.x_lo, self.x_hi)
        out = [m * 10 ** e for e in range(math.floor(self.x_lo), math.ceil(self.x_hi) + 1) for m in (1, 2, 5)]
        return [t for t in out if self.x_lo <= math.log10(t) <= self.x_hi]


def ticks(lo: float, hi: float, n: int = 6) -> list[float]:
    """Round-numbered ticks (1, 2, 5 x 10^k steps) inside [lo, hi]."""
    span = hi - lo or 1.0
    step = 10 ** math.floor(math.log10(span / n))
    for mult in (1, 2, 5, 10):
        if span / (step * mult) <= n:
            step *= mult
            break
    start = math.ceil(lo / step) * step
    return [round(start + i * step, 10) for i in range(int((hi - start) / step + 1e-9) + 1)]


def _pad(lo: float, hi: float) -> tuple[float, float]:
    span = (hi - lo) or max(abs(hi), 1.0) * 0.1
    return lo - 0.12 * span, hi + 0.12 * span


def draw(rows: list[dict], path, title: str = "mIoU vs FPS") -> int:
    """Write the plot as PNG; returns how many rows were plotted (those with both FPS and mIoU)."""
    import cv2

    pts = plottable(rows)
    img = np.full((H, W, 3), 255, np.uint8)
    cv2.putText(img, title, (LEFT, 32), FONT, 0.75, BLACK, 2, cv2.LINE_AA)
    if not pts:
        cv2.putText(img, "no row has both FPS and mIoU", (LEFT, H // 2), FONT, 0.8, RED, 2, cv2.LINE_AA)
        _save(img, path)
        return 0
    axes = _Axes([r["fps"] for r in pts], [r["miou"] for r in pts])
    _frame(img, axes)
    devices = list(dict.fromkeys(r.get("device") or "?" for r in pts))
    color = {d: COLORS[i % len(COLORS)] for i, d in enumerate(devices)}
    front = pareto_front([(r["fps"], r["miou"]) for r in pts])
    for a, b in zip(front, front[1:]):
        cv2.line(img, axes.px(pts[a]["fps"], pts[a]["miou"]), axes.px(pts[b]["fps"], pts[b]["miou"]), RED, 2,
                 cv2.LINE_AA)
    taken: list[tuple[int, int, int, int]] = []
    marks = []
    for i, r in enumerate(pts):
        p = axes.px(r["fps"], r["miou"])
        marks.append((p[0] - 13, p[1] - 13, p[0] + 13, p[1] + 13))
        cv2.circle(img, p, 7, color[r.get("device") or "?"], -1, cv2.LINE_AA)
        if i in front:
            cv2.circle(img, p, 12, RED, 2, cv2.LINE_AA)
        _label(img, p, point_label(r), taken)
    _legend(img, devices, color, marks + taken)
    _save(img, path)
    return len(pts)


def point_label(r: dict) -> str:
    name = Path(r.get("artifact") or r.get("path") or "?").name
    name = name if len(name) <= 34 else name[:31] + "..."
    return f"{name} ({r.get('precision') or '?'}, {r.get('backend') or '?'})"


def _label(img, p, text: str, taken: list) -> None:
    """Put the label beside its point where it overlaps no earlier label and stays inside the image."""
    import cv2

    (tw, th), _ = cv2.getTextSize(text, FONT, 0.42, 1)
    candidates = [(14, -8), (14, 16), (-14 - tw, -8), (-14 - tw, 16), (-tw // 2, -18), (-tw // 2, 28)]
    boxes = [(p[0] + dx, p[1] + dy - th, p[0] + dx + tw, p[1] + dy + 3) for dx, dy in candidates]
    inside = [b for b in boxes if b[0] >= 2 and b[2] <= W - 2 and b[1] >= TOP - 10 and b[3] <= H - 2] or boxes
    free = [b for b in inside if not any(_overlap(b, t) for t in taken)]
    box = (free or inside)[0]
    taken.append(box)
    cv2.putText(img, text, (box[0], box[3] - 3), FONT, 0.42, (50, 50, 50), 1, cv2.LINE_AA)


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _frame(img, axes: _Axes) -> None:
    """Plot box, grid, ticks and axis titles."""
    import cv2

    x0, y0, x1, y1 = LEFT, H - BOTTOM, W - RIGHT, TOP
    for t in axes.x_ticks():
        px = axes.px(t, axes.y_lo)[0]
        cv2.line(img, (px, y0), (px, y1), GRID, 1)
        cv2.line(img, (px, y0), (px, y0 + 6), BLACK, 1)
        label = f"{t:g}"
        (tw, _), _ = cv2.getTextSize(label, FONT, 0.45, 1)
        cv2.putText(img, label, (px - tw // 2, y0 + 24), FONT, 0.45, BLACK, 1, cv2.LINE_AA)
    for t in ticks(axes.y_lo, axes.y_hi):
        py = axes.px(10 ** axes.x_lo if axes.log else axes.x_lo, t)[1]
        cv2.line(img, (x0, py), (x1, py), GRID, 1)
        cv2.line(img, (x0 - 6, py), (x0, py), BLACK, 1)
        label = f"{t:g}"
        (tw, _), _ = cv2.getTextSize(label, FONT, 0.45, 1)
        cv2.putText(img, label, (x0 - 12 - tw, py + 5), FONT, 0.45, BLACK, 1, cv2.LINE_AA)
    cv2.rectangle(img, (x0, y1), (x1, y0), BLACK, 1)
    xt = "FPS (images/s from median latency" + (", log scale)" if axes.log else ")")
    (tw, _), _ = cv2.getTextSize(xt, FONT, 0.55, 1)
    cv2.putText(img, xt, ((x0 + x1 - tw) // 2, y0 + 55), FONT, 0.55, BLACK, 1, cv2.LINE_AA)
    cv2.putText(img, "mIoU (%)", (10, y1 - 14), FONT, 0.55, BLACK, 1, cv2.LINE_AA)


def _legend(img, devices: list[str], color: dict, occupied: list) -> None:
    """One entry per device, then the front; in the plot corner that hides the fewest points and labels."""
    import cv2

    entries = [(d if len(d) <= 60 else d[:57] + "...", color[d]) for d in devices]
    entries.append(("Pareto front: no point has more FPS and more mIoU", None))
    width = max(cv2.getTextSize(t, FONT, 0.42, 1)[0][0] for t, _ in entries) + 44
    height = 20 * len(entries) + 10
    corners = [(LEFT + 10, H - BOTTOM - 10 - height), (W - RIGHT - 10 - width, H - BOTTOM - 10 - height),
               (W - RIGHT - 10 - width, TOP + 10), (LEFT + 10, TOP + 10)]
    x, y = min(corners, key=lambda c: sum(_overlap((c[0], c[1], c[0] + width, c[1] + height), o) for o in occupied))
    cv2.rectangle(img, (x, y), (x + width, y + height), (255, 255, 255), -1)
    cv2.rectangle(img, (x, y), (x + width, y + height), (160, 160, 160), 1)
    for i, (text, c) in enumerate(entries):
        cy = y + 16 + 20 * i
        if c is None:
            cv2.circle(img, (x + 16, cy - 4), 7, RED, 2, cv2.LINE_AA)
        else:
            cv2.circle(img, (x + 16, cy - 4), 6, c, -1, cv2.LINE_AA)
        cv2.putText(img, text, (x + 32, cy), FONT, 0.42, BLACK, 1, cv2.LINE_AA)


def _save(img, path) -> None:
    import cv2

    from edgeseg.artifacts import atomic_path

    ok, buf = cv2.imencode(".png", img)
    if not ok:
        from edgeseg.errors import EdgesegError

        raise EdgesegError(f"{path}: OpenCV could not encode the plot as PNG")
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(buf.tobytes())
