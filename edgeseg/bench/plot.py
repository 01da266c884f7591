"""mIoU against FPS with the Pareto front marked, drawn with matplotlib (the `plot` extra).

One colour per device, a red ring and line on the Pareto-optimal points (no other point has
both more FPS and more mIoU), each point labelled with its artifact; the FP32 reference's mIoU as
a dashed line and the accuracy budget below it as a band, on an mIoU axis at least MIN_SPAN points
tall, so a drop of 0.09 looks as small as it is. FPS goes on a log axis
when it spans more than 20x (a CPU and a Jetson GPU on one plot). matplotlib has no label
placement of its own, so `_place` tries positions around each point, nearest first, and
keeps the first whose text box (measured by the renderer) overlaps no other label, point or
the legend and stays inside the axes, and whose leader line crosses no other leader or label.
"""

from __future__ import annotations

import math
from pathlib import Path

from edgeseg.artifacts import atomic_path
from edgeseg.errors import EdgesegError

SIZE_IN, DPI = (10.0, 6.5), 100  # 1000 x 650 pixels
LOG_SPAN = 20.0
MIN_SPAN = 2.0  # mIoU points the y axis spans at least
REFERENCE, BAND = "#555555", "#2ca02c"
FRONT = "#d62728"
MARKER_PT = 9  # marker diameter in points
# where a label may go: rings of distances (points) from its point, and directions on each ring
# (degrees, beside the point first, then above/below); the text is anchored on the side facing the point
_GAP = 2  # pixels kept free around a label
_RINGS = (10, 22, 38, 58, 82, 110, 145, 185, 230, 280, 340)
_ANGLES = (0, 40, -40, 180, 140, -140, 90, -90, 20, -20, 160, -160, 65, -65, 115, -115)


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of points not beaten on both FPS (x) and mIoU (y), sorted by FPS."""
    front = [i for i, (x, y) in enumerate(points)
             if not any((x2 >= x and y2 >= y) and (x2 > x or y2 > y) for x2, y2 in points)]
    return sorted(front, key=lambda i: points[i][0])


def plottable(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r.get("fps") and r.get("miou") is not None]


def point_label(r: dict) -> str:
    name = Path(r.get("artifact") or r.get("path") or "?").name
    name = name if len(name) <= 34 else name[:31] + "..."
    return f"{name} ({r.get('precision') or '?'}, {r.get('backend') or '?'})"


def reference_miou(rows: list[dict]) -> float | None:
    """The reference's mIoU (the first artifact, FP32), from any row's mIoU and its drop against it."""
    return next((r["miou"] + r["drop"] for r in rows if r.get("drop") is not None and r.get("miou") is not None), None)


def draw(rows: list[dict], path, title: str = "mIoU vs FPS", budget: float | None = None) -> int:
    """Write the plot as PNG; returns how many rows were plotted (those with both FPS and mIoU).
    `budget`: the accuracy budget in mIoU points, drawn as a band below the reference."""
    fig, labels = figure(rows, title, budget)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI)
    return len(labels)


def figure(rows: list[dict], title: str = "mIoU vs FPS", budget: float | None = None):
    """(matplotlib Figure, the label of each plotted row), labels already placed."""
    Figure, FuncFormatter, LogLocator = _matplotlib()
    fig = Figure(figsize=SIZE_IN, dpi=DPI)
    fig.subplots_adjust(left=0.09, right=0.97, top=0.9, bottom=0.12)  # fixed: labels are placed once
    ax = fig.add_subplot()
    ax.set_title(title, loc="left", fontweight="bold")
    pts = plottable(rows)
    if not pts:
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no row has both FPS and mIoU", color=FRONT, ha="center", va="center", fontsize=14)
        return fig, []
    xs, ys = [r["fps"] for r in pts], [r["miou"] for r in pts]
    if min(xs) > 0 and max(xs) / min(xs) > LOG_SPAN:
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xlabel("FPS (images/s from median latency" + (", log scale)" if ax.get_xscale() == "log" else ")"))
    ax.set_ylabel("mIoU (%)")
    ax.grid(True, color="#e4e4e4", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.margins(0.15)
    ref = reference_miou(rows)
    if ref is not None:
        ax.axhline(ref, color=REFERENCE, linestyle="--", linewidth=1, zorder=1, label=f"FP32 reference: {ref:.2f}")
        if budget:
            ax.axhspan(ref - budget, ref, color=BAND, alpha=0.12, zorder=0, linewidth=0,
                       label=f"within the budget ({budget:g} mIoU points below)")
    _honest_y(ax, ys + ([ref] if ref is not None else []) + ([ref - budget] if ref is not None and budget else []))
    devices = list(dict.fromkeys(r.get("device") or "?" for r in pts))
    colours = {d: f"C{i % 10}" for i, d in enumerate(devices)}
    front = pareto_front(list(zip(xs, ys)))
    ax.plot([xs[i] for i in front], [ys[i] for i in front], color=FRONT, linewidth=1.6, zorder=2)
    for d in devices:
        mine = [i for i, r in enumerate(pts) if (r.get("device") or "?") == d]
        ax.scatter([xs[i] for i in mine], [ys[i] for i in mine], s=MARKER_PT ** 2, color=colours[d], zorder=3,
                   label=d if len(d) <= 60 else d[:57] + "...")
    ax.scatter([xs[i] for i in front], [ys[i] for i in front], s=(MARKER_PT + 8) ** 2, facecolors="none",
               edgecolors=FRONT, linewidths=2, zorder=4, label="Pareto front: no point has more FPS and more mIoU")
    legend = ax.legend(fontsize=9, framealpha=0.95)
    labels = [ax.annotate(point_label(r), (x, y), fontsize=8.5, color="#333333", zorder=5)
              for r, x, y in zip(pts, xs, ys)]
    _place(fig, ax, labels, legend, [(xs[i], ys[i]) for i in front], ref)
    return fig, labels


def _honest_y(ax, values: list[float]) -> None:
    """An mIoU axis at least MIN_SPAN points tall around the data: auto-zoom would stretch 0.09
    points over the whole height and make it look like a cliff."""
    lo, hi = min(values), max(values)
    span = max(hi - lo, MIN_SPAN) * 1.3
    middle = (lo + hi) / 2
    ax.set_ylim(middle - span / 2, middle + span / 2)


def _matplotlib():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import FuncFormatter, LogLocator
    except ImportError as exc:
        if (getattr(exc, "name", None) or "").split(".")[0] == "matplotlib":
            raise EdgesegError("the plot needs matplotlib: pip install 'edgeseg[plot]'") from None
        raise
    return (lambda **kw: FigureCanvasAgg(Figure(**kw)).figure), FuncFormatter, LogLocator


def _place(fig, ax, labels, legend, front_line, ref: float | None = None) -> None:
    """Pin the legend to the corner that hides the fewest points, then move each label to the nearest
    free position around its point (see the module docstring)."""
    renderer = fig.canvas.get_renderer()
    fig.canvas.draw()  # final axis limits
    half = (MARKER_PT + 8) / 2 * fig.dpi / 72.0
    points = [ax.transData.transform(label.xy) for label in labels]
    taken = [(x - half, y - half, x + half, y + half) for x, y in points]
    legend_box = _pin_legend(fig, legend, taken)
    taken += [legend_box]
    lines = _line_boxes(ax, front_line, half / 4)
    if ref is not None:  # labels keep off the reference line too
        lines += _line_boxes(ax, [(x, ref) for x in ax.get_xlim()], half / 4)
    frame = ax.get_window_extent(renderer)
    leaders, boxes = [], []  # leader lines drawn so far, label boxes placed so far
    scale = fig.dpi / 72.0
    for label, (px, py) in zip(labels, points):
        best = None
        for ring in _RINGS:
            for dx, dy, ha, va in _directions(ring):
                box = _try(label, renderer, dx, dy, ha, va)
                inside = box[0] >= frame.x0 and box[2] <= frame.x1 and box[1] >= frame.y0 and box[3] <= frame.y1
                cost = sum(_overlap(box, t) for t in taken) + (0 if inside else 1e9)
                cost += 1e3 * sum(_overlap(box, b) for b in boxes)  # on another label: unreadable, the worst
                cost += 50 * sum(_overlap(box, b) for b in lines)  # on a line: hard to read
                if ring > _RINGS[0]:  # a leader line: it may cross no other leader and no label
                    line = ((px, py), (px + dx * scale, py + dy * scale))
                    cost += 1e6 * (sum(_crosses(line, other) for other in leaders if _apart(line, other, 2 * half))
                                   + sum(_through(line, b) for b in boxes))
                if best is None or cost < best[0]:
                    best = (cost, dx, dy, ha, va, box)
                if cost == 0:
                    break
            if best[0] == 0:
                break
        _, dx, dy, ha, va, box = best
        _try(label, renderer, dx, dy, ha, va)
        if max(abs(dx), abs(dy)) > _RINGS[0]:  # far from its point: a thin leader line says whose it is
            ax.annotate("", label.xy, xytext=label.xyann, textcoords="offset points", zorder=1,
                        arrowprops={"arrowstyle": "-", "color": "#999999", "linewidth": 0.7, "shrinkA": 0,
                                    "shrinkB": MARKER_PT / 2})
            leaders.append(((px, py), (px + dx * scale, py + dy * scale)))
        taken.append(box)
        boxes.append(box)


def _directions(ring: float):
    for angle in _ANGLES:
        c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        yield (ring * c, ring * s, "left" if c > 0.3 else "right" if c < -0.3 else "center",
               "bottom" if s > 0.3 else "top" if s < -0.3 else "center")


def _pin_legend(fig, legend, marks) -> tuple:
    """Fix the legend in the corner it overlaps the fewest point marks in (matplotlib's "best" would
    move it again once the labels exist); returns its box."""
    choices = []
    for corner in ("upper right", "upper left", "lower left", "lower right"):
        legend.set_loc(corner)
        b = legend.get_window_extent(fig.canvas.get_renderer())
        box = (b.x0, b.y0, b.x1, b.y1)
        choices.append((sum(_overlap(box, m) > 0 for m in marks), len(choices), corner, box))
    _, _, corner, box = min(choices)
    legend.set_loc(corner)
    return box


def _line_boxes(ax, points, half: float) -> list[tuple]:
    """Small boxes along the Pareto line, so labels keep off it too."""
    pixels = [ax.transData.transform(p) for p in points]
    boxes = []
    for (x0, y0), (x1, y1) in zip(pixels, pixels[1:]):
        steps = max(1, int(max(abs(x1 - x0), abs(y1 - y0)) / 6))
        for k in range(steps + 1):
            x, y = x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps
            boxes.append((x - half, y - half, x + half, y + half))
    return boxes


def _try(label, renderer, dx: float, dy: float, ha: str, va: str) -> tuple[float, float, float, float]:
    label.set_anncoords("offset points")
    label.xyann = (dx, dy)
    label.set_horizontalalignment(ha)
    label.set_verticalalignment(va)
    b = label.get_window_extent(renderer)
    return b.x0 - _GAP, b.y0 - _GAP, b.x1 + _GAP, b.y1 + _GAP  # a little air between neighbours


def _crosses(a, b) -> bool:
    """Whether segments a and b ((x, y), (x, y)) cross."""
    def side(p, q, r):
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    (p1, p2), (p3, p4) = a, b
    return side(p1, p2, p3) * side(p1, p2, p4) < 0 and side(p3, p4, p1) * side(p3, p4, p2) < 0


def _apart(a, b, distance: float) -> bool:
    """Whether two leaders start from points `distance` pixels apart or more: leaders from one blob
    of (nearly) coincident points fan out from it, and are not counted as crossing."""
    return math.dist(a[0], b[0]) >= distance


def _through(line, box) -> bool:
    """Whether a leader line passes through a label's box (sampled along the line)."""
    (x0, y0), (x1, y1) = line
    return any(box[0] <= x0 + (x1 - x0) * t <= box[2] and box[1] <= y0 + (y1 - y0) * t <= box[3]
               for t in (i / 20 for i in range(2, 19)))


def _overlap(a, b) -> float:
    """Area shared by two boxes (x0, y0, x1, y1), 0 when they do not touch."""
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
