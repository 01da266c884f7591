"""The mIoU-vs-FPS plot: Pareto front, axes, legend, labels, drawn with OpenCV."""

import cv2
import numpy as np
import pytest

from edgeseg.bench.plot import COLORS, H, RED, W, _Axes, _label, _overlap, draw, pareto_front, point_label, ticks


def row(name, fps, miou, device="cpu: EPYC", precision="fp32", backend="onnxruntime"):
    return {"artifact": name, "fps": fps, "miou": miou, "device": device, "precision": precision, "backend": backend}


ROWS = [row("a.fp32.onnx", 10.0, 61.4), row("b.int8.onnx", 20.0, 61.3, precision="int8"),
        row("c.fp16.onnx", 5.0, 61.0, precision="fp16"),
        row("d.engine", 400.0, 61.2, device="jetson-orin: AGX Orin MAXN", backend="tensorrt"),
        row("e.engine", None, None, device="cuda: H100"), row("f.onnx", 30.0, None)]


def test_pareto_front():
    assert pareto_front([(10, 61.4), (20, 61.3), (5, 61.0)]) == [0, 1]
    assert pareto_front([(10, 60.0), (10, 60.0)]) == [0, 1]  # equal points beat neither
    assert pareto_front([(1, 1), (2, 2), (3, 3)]) == [2]
    assert pareto_front([(30, 50), (10, 70), (20, 60)]) == [1, 2, 0]  # sorted by FPS


def test_ticks_are_round_numbers_inside_the_range():
    assert ticks(0.0, 10.0) == [0, 2, 4, 6, 8, 10]
    assert ticks(60.95, 61.45) == pytest.approx([61.0, 61.1, 61.2, 61.3, 61.4])
    assert _Axes([5, 400], [1, 2]).log and not _Axes([5, 20], [1, 2]).log  # log FPS past a 20x span
    assert _Axes([5, 400], [1, 2]).x_ticks()[:3] == [5, 10, 20]


def _near(img, p, color, radius):
    y0, x0 = max(p[1] - radius, 0), max(p[0] - radius, 0)
    patch = img[y0:p[1] + radius + 1, x0:p[0] + radius + 1].astype(int)
    return (np.abs(patch - np.array(color)).sum(axis=2) < 30).any()


def test_draw_marks_the_front_and_colours_devices(tmp_path):
    out = tmp_path / "plot.png"
    assert draw(ROWS, out, "test plot") == 4  # rows without FPS or mIoU are left off
    img = cv2.imread(str(out))
    assert img.shape == (H, W, 3)
    axes = _Axes([r["fps"] for r in ROWS[:4]], [r["miou"] for r in ROWS[:4]])
    a, c, d = (axes.px(r["fps"], r["miou"]) for r in (ROWS[0], ROWS[2], ROWS[3]))
    assert _near(img, a, COLORS[0], 2) and _near(img, d, COLORS[1], 2)  # one colour per device
    assert _near(img, (a[0] + 12, a[1]), RED, 2) and _near(img, (d[0], d[1] - 12), RED, 2)  # rings on the front
    assert not _near(img, (c[0] + 12, c[1]), RED, 1)  # c is beaten by a: no ring


def test_nothing_to_plot_still_writes_a_picture(tmp_path):
    assert draw([row("x", None, 50.0)], tmp_path / "p.png") == 0
    assert cv2.imread(str(tmp_path / "p.png")).shape == (H, W, 3)


def test_labels_avoid_each_other():
    img = np.full((H, W, 3), 255, np.uint8)
    taken = []
    for p in [(500, 300), (505, 302), (510, 298)]:
        _label(img, p, "s2fpn18.int8.onnx (int8, onnxruntime)", taken)
    assert not any(_overlap(a, b) for i, a in enumerate(taken) for b in taken[i + 1:])
    assert all(0 <= b[0] and b[2] <= W for b in taken)
    assert point_label(row("x" * 50 + ".onnx", 1, 1)).startswith("x" * 31 + "...")
