"""mIoU against FPS with the Pareto front marked, drawn with OpenCV (no plotting library)."""

from __future__ import annotations

import math

import numpy as np

W, H, LEFT, RIGHT, TOP, BOTTOM = 1000, 650, 90, 40, 60, 80
COLORS = [(180, 119, 31), (14, 127, 255), (44, 160, 44), (40, 39, 214), (189, 103, 148), (75, 86, 140),
          (194, 119, 227), (127, 127, 127), (34, 189, 188), (207, 190, 23)]  # BGR


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of points not beaten on both FPS (x) and mIoU (y), sorted by FPS."""
    front = [i for i, (x, y) in enumerate(points)
             if not any((x2 >= x and y2 >= y) and (x2 > x or y2 > y) for x2, y2 in points)]
    return sorted(front, key=lambda i: points[i][0])


def _ticks(lo: float, hi: float, n: int = 6) -> list[float]:
    span = hi - lo or 1.0
    step = 10 ** math.floor(math.log10(span / n))
    for mult in (1, 2, 5, 10):
        if span / (step * mult) <= n:
            step *= mult
            break
    start = math.ceil(lo / step) * step
    return [start + i * step for i in range(int((hi - start) / step) + 1)]


def draw(rows: list[dict], path, title: str = "mIoU vs FPS") -> int:
    """Write the plot; returns how many rows were plotted (those with both FPS and mIoU)."""
    import cv2

    pts = [(r["fps"], r["miou"], r) for r in rows if r.get("fps") and r.get("miou") is not None]
    img = np.full((H, W, 3), 255, np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(img, title, (LEFT, 35), font, 0.8, (0, 0, 0), 2, cv2.LINE_AA)
    if not pts:
        cv2.putText(img, "no row has both FPS and mIoU", (LEFT, H // 2), font, 0.8, (0, 0, 200), 2, cv2.LINE_AA)
        _save(img, path)
        return 0
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    x_lo, x_hi = _pad(min(xs), max(xs))
    y_lo, y_hi = _pad(min(ys), max(ys))

    def to_px(x, y):
        return (int(LEFT + (x - x_lo) / (x_hi - x_lo) * (W - LEFT - RIGHT)),
                int(H - BOTTOM - (y - y_lo) / (y_hi - y_lo) * (H - TOP - BOTTOM)))

    _axes(img, to_px, x_lo, x_hi, y_lo, y_hi, font)
    front = pareto_front([(x, y) for x, y, _ in pts])
    for a, b in zip(front, front[1:]):
        cv2.line(img, to_px(*pts[a][:2]), to_px(*pts[b][:2]), (0, 0, 200), 2, cv2.LINE_AA)
    for i, (x, y, r) in enumerate(pts):
        c = COLORS[i % len(COLORS)]
        px = to_px(x, y)
        cv2.circle(img, px, 8 if i in front else 6, c, -1, cv2.LINE_AA)
        if i in front:
            cv2.circle(img, px, 12, (0, 0, 200), 2, cv2.LINE_AA)
        label = f"{r.get('precision') or '?'} {r.get('backend') or ''}".strip()
        (tw, _), _ = cv2.getTextSize(label, font, 0.45, 1)
        lx = px[0] + 12 if px[0] + 12 + tw < W - 5 else px[0] - 12 - tw  # keep labels inside the image
        cv2.putText(img, label, (lx, px[1] - 8 - 14 * (i % 2)), font, 0.45, c, 1, cv2.LINE_AA)
    cv2.putText(img, "red ring / line: Pareto front (higher mIoU and FPS is better)", (W - RIGHT - 470, 45), font,
                0.45, (0, 0, 200), 1, cv2.LINE_AA)
    _save(img, path)
    return len(pts)


def _pad(lo: float, hi: float) -> tuple[float, float]:
    span = (hi - lo) or max(abs(hi), 1.0) * 0.1
    return lo - 0.1 * span, hi + 0.1 * span


def _axes(img, to_px, x_lo, x_hi, y_lo, y_hi, font) -> None:
    import cv2

    x0, y0 = to_px(x_lo, y_lo)
    x1, y1 = to_px(x_hi, y_hi)
    cv2.rectangle(img, (x0, y1), (x1, y0), (0, 0, 0), 1)
    for t in _ticks(x_lo, x_hi):
        px = to_px(t, y_lo)[0]
        cv2.line(img, (px, y0), (px, y1), (230, 230, 230), 1)
        cv2.putText(img, f"{t:g}", (px - 15, y0 + 22), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    for t in _ticks(y_lo, y_hi):
        py = to_px(x_lo, t)[1]
        cv2.line(img, (x0, py), (x1, py), (230, 230, 230), 1)
        cv2.putText(img, f"{t:g}", (x0 - 70, py + 5), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, "FPS (images/s, median latency)", ((x0 + x1) // 2 - 130, y0 + 50), font, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, "mIoU (%)", (10, y1 - 15), font, 0.6, (0, 0, 0), 1, cv2.LINE_AA)


def _save(img, path) -> None:
    import cv2

    from edgeseg.artifacts import atomic_path

    with atomic_path(path) as tmp:
        ok, buf = cv2.imencode(".png", img)
        tmp.write_bytes(buf.tobytes())
