"""The mIoU-vs-FPS plot: a real PNG, the Pareto front marked, one colour per device, labels that never overlap."""

import sys

import cv2
import pytest

from edgeseg.bench.plot import DPI, SIZE_IN, draw, figure, pareto_front, point_label
from edgeseg.errors import EdgesegError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def row(name, fps, miou, device="cpu: EPYC", precision="fp32", backend="onnxruntime"):
    return {"artifact": name, "fps": fps, "miou": miou, "device": device, "precision": precision, "backend": backend}


ROWS = [row("a.fp32.onnx", 10.0, 61.4), row("b.int8.onnx", 20.0, 61.3, precision="int8"),
        row("c.fp16.onnx", 5.0, 61.0, precision="fp16"),
        row("d.engine", 400.0, 61.2, device="jetson-orin: AGX Orin MAXN", backend="tensorrt"),
        row("e.engine", None, None, device="cuda: H100"), row("f.onnx", 30.0, None)]
# the demo's shape: four artifacts of one model, three of them within 0.01 mIoU of each other
DEMO = [row("s2fpn18_camvid_half.pth", 4.1, 61.433, backend="torch"), row("s2fpn18_180x240.fp32.onnx", 10.6, 61.433),
        row("s2fpn18_180x240.fp16.onnx", 6.3, 61.431, precision="fp16"),
        row("s2fpn18_180x240.int8.onnx", 9.4, 61.15, precision="int8")]
CROWD = [row(f"s2fpn18_180x240.v{i}.int8.onnx", 10.0 + 0.05 * i, 61.30 + 0.001 * i, precision="int8")
         for i in range(7)] + [row("s2fpn34.fp16.engine", 300.0, 61.42, device="cuda: H100", backend="tensorrt")]


def test_pareto_front():
    assert pareto_front([(10, 61.4), (20, 61.3), (5, 61.0)]) == [0, 1]
    assert pareto_front([(10, 60.0), (10, 60.0)]) == [0, 1]  # equal points beat neither
    assert pareto_front([(1, 1), (2, 2), (3, 3)]) == [2]
    assert pareto_front([(30, 50), (10, 70), (20, 60)]) == [1, 2, 0]  # sorted by FPS


def test_draw_writes_a_png_of_the_plotted_rows(tmp_path):
    out = tmp_path / "plot.png"
    assert draw(ROWS, out, "test plot") == 4  # rows without FPS or mIoU are left off
    assert out.read_bytes()[:8] == PNG_SIGNATURE
    assert cv2.imread(str(out)).shape == (SIZE_IN[1] * DPI, SIZE_IN[0] * DPI, 3)
    assert not list(tmp_path.glob("*.tmp*"))  # written atomically


def test_front_devices_and_log_axis():
    fig, labels = figure(ROWS)
    ax = fig.axes[0]
    assert [t.get_text() for t in labels] == [point_label(r) for r in ROWS[:4]]
    assert ax.get_xscale() == "log"  # 5 .. 400 FPS spans more than 20x
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:2] == ["cpu: EPYC", "jetson-orin: AGX Orin MAXN"] and legend[2].startswith("Pareto front")
    cpu, orin, ring = ax.collections[:3]
    assert tuple(cpu.get_facecolor()[0]) != tuple(orin.get_facecolor()[0])  # one colour per device
    assert sorted(map(tuple, ring.get_offsets().tolist())) == [(10.0, 61.4), (20.0, 61.3), (400.0, 61.2)]
    assert figure(DEMO)[0].axes[0].get_xscale() == "linear"


def _boxes(fig, labels):
    renderer = fig.canvas.get_renderer()
    fig.canvas.draw()
    return renderer, [t.get_window_extent(renderer) for t in labels]


@pytest.mark.parametrize("rows", [ROWS, DEMO, CROWD], ids=["mixed", "demo", "crowd"])
def test_labels_overlap_no_label_point_or_legend_and_stay_inside(rows):
    fig, labels = figure(rows)
    ax = fig.axes[0]
    renderer, boxes = _boxes(fig, labels)
    for i, a in enumerate(boxes):
        assert not any(a.overlaps(b) for b in boxes[i + 1:]), labels[i].get_text()
        assert not a.overlaps(ax.get_legend().get_window_extent(renderer)), labels[i].get_text()
        frame = ax.get_window_extent(renderer)
        assert frame.x0 <= a.x0 and a.x1 <= frame.x1 and frame.y0 <= a.y0 and a.y1 <= frame.y1
        for t in labels:
            x, y = ax.transData.transform(t.xy)
            assert not a.contains(x, y), f"{labels[i].get_text()} covers the point of {t.get_text()}"


def test_nothing_to_plot_still_writes_a_picture(tmp_path):
    assert draw([row("x", None, 50.0)], tmp_path / "p.png") == 0
    assert cv2.imread(str(tmp_path / "p.png")).shape == (650, 1000, 3)


def test_without_matplotlib_one_line_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.raises(EdgesegError, match=r"^the plot needs matplotlib: pip install 'edgeseg\[plot\]'$"):
        draw(ROWS, tmp_path / "p.png")
    assert not (tmp_path / "p.png").exists()


def test_long_names_are_shortened():
    assert point_label(row("x" * 50 + ".onnx", 1, 1)).startswith("x" * 31 + "...")



def test_an_honest_axis_with_the_reference_and_the_budget_band():
    """A 0.09-point drop must not fill the height: the axis spans at least MIN_SPAN points, and the
    FP32 reference and the budget band below it are drawn and named."""
    from edgeseg.bench.plot import MIN_SPAN

    rows = [{**row("a.fp32.onnx", 40.0, 61.43), "drop": 0.0}, {**row("b.int8.onnx", 120.0, 61.34), "drop": 0.09}]
    fig, _ = figure(rows, budget=0.3)
    ax = fig.axes[0]
    lo, hi = ax.get_ylim()
    assert hi - lo >= MIN_SPAN and lo <= 61.43 - 0.3
    names = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "FP32 reference: 61.43" in names and any("budget (0.3 mIoU points" in n for n in names)


@pytest.mark.parametrize("rows", [DEMO, CROWD], ids=["demo", "crowd"])
def test_leader_lines_cross_no_other(rows):
    import math

    from edgeseg.bench.plot import MARKER_PT, _crosses

    fig, labels = figure([{**r, "drop": 0.0} for r in rows], budget=0.3)
    fig.canvas.draw()
    ax = fig.axes[0]
    lines = [(tuple(ax.transData.transform(t.xy)), tuple(t.get_window_extent(fig.canvas.get_renderer()).p0))
             for t in ax.texts if not t.get_text()]
    apart = 2 * (MARKER_PT + 8) / 2 * fig.dpi / 72  # leaders fanning out of one blob of points do not count
    assert all(not _crosses(a, b) for i, a in enumerate(lines) for b in lines[i + 1:]
               if math.dist(a[0], b[0]) >= apart)
