"""Bench and eval JSON merged into one table; Markdown, CSV and the description of a run."""

import csv
import io
import json

import pytest

from edgeseg.bench.report import _merge, _rows_of, csv_text, describe, device_label, load_rows, load_rows_from, markdown
from edgeseg.errors import EdgesegError


def stats(median, p99=None):
    return {"count": 50, "mean_ms": median * 1.1, "median_ms": median, "p90_ms": median * 1.2,
            "p99_ms": p99 or median * 1.5, "fps": 1000 / median, "fps_mean": 1000 / (median * 1.1)}


CPU_RUN = {
    "format": "edgeseg-bench/1",
    "device": {"profile": "cpu", "machine": "x86_64", "cpu": "AMD EPYC 7B13", "cores": 2, "threads": 4, "gpus": [],
               "jetson_model": None, "l4t": None, "is_jetson": False},
    "versions": {"edgeseg": "0.1.0", "onnxruntime": "1.32.0"},
    "settings": {"batch": 1, "warmup": 10, "iters": 50, "duration": None, "threads": 2, "provider": "cpu",
                 "input_size": [180, 240]},
    "rows": [
        {"path": "work/m.fp32.onnx", "status": "ok", "backend": "onnxruntime", "precision": "fp32",
         "end_to_end": stats(40.0), "cpu_threads": 2, "miou": 61.43, "miou_drop": None},
        {"path": "work/m.int8.onnx", "status": "ok", "backend": "onnxruntime", "precision": "int8",
         "end_to_end": stats(20.0), "cpu_threads": 2},
        {"path": "work/m.engine", "status": "failed", "reason": "TensorRT is not installed"},
    ],
    "accuracy": {"dataset": "camvid", "split": "val", "images": 101, "resize": "logits", "reference": "work/m.fp32.onnx"},
}
JETSON_RUN = {
    "format": "edgeseg-bench/1",
    "device": {"profile": "jetson-orin", "machine": "aarch64", "cpu": "ARM CPU part 0xd42", "cores": 12, "threads": 12,
               "gpus": [], "jetson_model": "NVIDIA Jetson AGX Orin Developer Kit", "l4t": "36.4.0", "is_jetson": True,
               "power_mode": {"mode": "MAXN", "id": 0}, "clocks": {"locked": True}},
    "versions": {"edgeseg": "0.1.0", "tensorrt": "10.3.0"},
    "settings": {"batch": 1, "warmup": 10, "iters": None, "duration": 10.0, "threads": None, "provider": "cuda",
                 "input_size": None},
    "rows": [{"path": "/abs/m.engine", "status": "ok", "backend": "tensorrt", "precision": "int8",
              "end_to_end": stats(2.5), "gpu_compute": stats(1.9), "h2d_ms": 0.21, "d2h_ms": 0.05, "cpu_threads": None,
              "power_w": 21.5, "fps_per_watt": 18.6}],
}
EVAL = {"dataset": "camvid", "split": "val", "images": 101, "artifacts": [
    {"path": "work/m.fp32.onnx", "backend": "onnxruntime", "precision": "fp32", "miou": 61.40, "miou_drop": None},
    {"path": "other/dir/m.int8.onnx", "backend": "onnxruntime", "precision": "int8", "miou": 60.9, "miou_drop": 0.5},
    {"path": "m.engine", "backend": "tensorrt", "precision": "int8", "miou": 60.7, "miou_drop": 0.7, "agreement": 98.9},
    {"path": "work/m.fp16.onnx", "backend": "onnxruntime", "precision": "fp16", "miou": 61.39, "miou_drop": 0.01}]}


@pytest.fixture
def files(tmp_path):
    paths = []
    for name, data in (("cpu.json", CPU_RUN), ("orin.json", JETSON_RUN), ("eval.json", EVAL)):
        (tmp_path / name).write_text(json.dumps(data))
        paths.append(tmp_path / name)
    return paths


def test_merge_across_runs_devices_and_eval(files):
    rows = load_rows(files)
    by = {(r["artifact"], r["device"]): r for r in rows}
    assert len(rows) == 5  # 3 CPU rows, 1 Orin row, the eval-only fp16 row
    fp32 = by["m.fp32.onnx", "cpu: AMD EPYC 7B13"]
    assert fp32["miou"] == 61.43 and fp32["fps"] == 25.0 and fp32["threads"] == 2  # bench's own mIoU kept
    assert by["m.int8.onnx", "cpu: AMD EPYC 7B13"]["drop"] == 0.5  # matched by its unique file name
    orin = by["m.engine", "jetson-orin: NVIDIA Jetson AGX Orin Developer Kit MAXN"]
    assert orin["miou"] == 60.7 and orin["gpu_ms"] == 1.9 and orin["fps_per_watt"] == 18.6
    failed = by["m.engine", "cpu: AMD EPYC 7B13"]
    assert failed["status"] == "failed: TensorRT is not installed" and failed["median_ms"] is None
    assert by["m.fp16.onnx", "-"]["miou"] == 61.39 and by["m.fp16.onnx", "-"].get("fps") is None


def test_ambiguous_file_names_are_not_guessed():
    run = {"rows": [{"path": "a/m.onnx", "status": "ok", "end_to_end": stats(10)}], "device": {"profile": "cpu"}}
    ev = {"artifacts": [{"path": "b/m.onnx", "miou": 1.0}, {"path": "c/m.onnx", "miou": 2.0}]}
    assert load_rows_from(run)[0]["miou"] is None
    merged = _merge(_rows_of(run, "r") + _rows_of(ev, "e"))
    assert merged[0]["miou"] is None and len(merged) == 3  # both eval rows kept as rows of their own


def test_bad_files_are_refused(tmp_path):
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(EdgesegError, match="x.json: neither bench nor eval results"):
        load_rows([tmp_path / "x.json"])
    (tmp_path / "y.json").write_text("not json")
    with pytest.raises(EdgesegError, match="y.json: not a readable results JSON"):
        load_rows([tmp_path / "y.json"])
    (tmp_path / "z.json").write_text(json.dumps({**CPU_RUN, "format": "edgeseg-bench/9"}))
    with pytest.raises(EdgesegError, match="format 'edgeseg-bench/9'"):
        load_rows([tmp_path / "z.json"])
    with pytest.raises(EdgesegError, match="no_such.json: not a readable"):
        load_rows([tmp_path / "no_such.json"])


def test_markdown_shows_optional_columns_only_when_used(files):
    cpu_only = load_rows([files[0]])
    md = markdown(cpu_only)
    header = md.splitlines()[0]
    assert md.count("\n") == 2 + len(cpu_only)
    assert "threads" in header and "GPU Compute ms" not in header and "FPS/W" not in header
    assert "| failed: TensorRT is not installed |" in md
    md = markdown(load_rows(files), "CamVid", ["note one"])
    assert md.startswith("## CamVid\n\n- note one\n\n|")
    assert "GPU Compute ms | H2D ms | D2H ms | W | FPS/W" in md


def test_csv_has_every_column_and_raw_numbers(files):
    table = list(csv.DictReader(io.StringIO(csv_text(load_rows(files)))))
    assert len(table) == 5 and list(table[0])[:4] == ["artifact", "precision", "backend", "device"]
    fp32 = table[0]
    assert fp32["median_ms"] == "40.0" and fp32["fps"] == "25.0" and fp32["gpu_ms"] == "" and fp32["status"] == "ok"
    assert table[2]["status"].startswith("failed") and table[2]["reason"] == "TensorRT is not installed"


def test_describe_and_device_labels():
    cpu = describe(CPU_RUN)
    assert cpu[0] == "device profile cpu: x86_64, AMD EPYC 7B13 (2 cores, 4 threads)"
    assert "50 timed iterations, input 180x240, provider cpu, threads 2" in cpu[1]
    assert cpu[-1] == "mIoU on camvid val (101 images); drop against m.fp32.onnx"
    orin = describe(JETSON_RUN)
    assert "Jetson: NVIDIA Jetson AGX Orin Developer Kit, L4T 36.4.0, power mode MAXN, clocks locked at max" in orin
    assert "10.0 s timed, input from each artifact" in orin[2]
    gpu = {"profile": "cuda", "cpu": "Xeon", "gpus": [{"name": "NVIDIA H100"}]}
    assert device_label(gpu) == "cuda: NVIDIA H100"
    assert device_label({**gpu, "profile": "cpu"}) == "cpu: Xeon"  # a CPU run on a GPU machine is a CPU run
    assert device_label({"profile": "cpu", "cpu": "Xeon", "isa": ["AMX", "VNNI", "BF16"]}) == "cpu: Xeon (AMX, VNNI, BF16)"
    failed = describe({**CPU_RUN, "accuracy": {"error": "no artifact ran"}})
    assert failed[-1] == "accuracy not measured: no artifact ran"


def test_an_eval_figure_goes_only_to_rows_of_its_own_runtime():
    """Issue 28: compare put ONNX Runtime's mIoU (61.32) on the OpenVINO timing row of the same file
    (~56 there); figures are keyed by runtime, and a drop past the budget is said, never "ok"."""
    run = {"device": {"profile": "cpu", "cpu": "AMD Ryzen"}, "rows": [
        {"path": "m.int8.onnx", "status": "ok", "backend": "openvino", "precision": "int8", "end_to_end": stats(9)},
        {"path": "m.int8.onnx", "status": "ok", "backend": "onnxruntime", "precision": "int8", "end_to_end": stats(30)}]}
    ev = {"artifacts": [{"path": "m.int8.onnx", "backend": "onnxruntime", "miou": 61.32, "miou_drop": 0.1},
                        {"path": "m.int8.onnx", "backend": "openvino", "miou": 56.3, "miou_drop": 5.01}]}
    rows = {r["backend"]: r for r in _merge(_rows_of(run, "r") + _rows_of(ev, "e"))}
    assert len(rows) == 2 and rows["onnxruntime"]["miou"] == 61.32 and rows["onnxruntime"]["status"] == "ok"
    assert rows["openvino"]["miou"] == 56.3 and rows["openvino"]["status"] == "over budget: drop 5.01 > 0.5"
    only_ort = _merge(_rows_of(run, "r") + _rows_of({"artifacts": ev["artifacts"][:1]}, "e"))
    assert [r["miou"] for r in only_ort if r["backend"] == "openvino"] == [None]  # not borrowed from ONNX Runtime
    bench_own = {"device": {"profile": "cpu"}, "rows": [{**run["rows"][0], "miou": 56.3, "miou_drop": 5.01}]}
    assert load_rows_from(bench_own)[0]["status"].startswith("over budget")
    assert "over budget" in csv_text(load_rows_from(bench_own))


def test_attach_accuracy_never_crosses_runtimes():
    from edgeseg.bench.benchmark import attach_accuracy

    result = {"rows": [{"path": "m.onnx", "backend": "openvino"}]}
    attach_accuracy(result, {"dataset": "camvid", "split": "val", "images": 1, "resize": "logits",
                             "artifacts": [{"path": "m.onnx", "backend": "onnxruntime", "miou": 61.0,
                                            "miou_drop": 0.0, "agreement": 100.0}]})
    assert "miou" not in result["rows"][0]


def _wide_rows():
    """A `bench --source` result on two artifacts: 14 columns, several the same in every row."""
    base = {"precision": "fp32", "backend": "openvino", "device": "cpu (Xeon, AMX)", "threads": 2, "p99_ms": 30.0,
            "e2e_fps": 20.5, "e2e_ratio": 0.92, "e2e_p99_ms": 80.0, "drop": None, "status": "ok"}
    return [{**base, "artifact": "s2fpn18_360x480.fp32.onnx", "median_ms": 25.0, "fps": 40.0, "miou": 61.4},
            {**base, "artifact": "s2fpn18_360x480.int8-cpu.onnx", "precision": "int8", "median_ms": 9.0, "fps": 110.0,
             "miou": 61.2, "drop": 0.2, "e2e_fps": 60.1}]


@pytest.mark.parametrize("width", [80, 100])
def test_tables_fit_and_never_break_a_word(width):
    from rich.console import Console

    from edgeseg.bench.report import rich_table, rich_table_by_column
    from edgeseg.cli.common import print_table

    out = io.StringIO()
    rows = _wide_rows()
    print_table(Console(file=out, width=width), rich_table(rows, "edgeseg bench"),
                turned=lambda: rich_table_by_column(rows, "edgeseg bench"))
    text = out.getvalue()
    assert max(len(line) for line in text.splitlines()) <= width, text
    if width == 100:  # 80 columns cannot hold the rows side by side: the table is turned
        assert "every row: backend: openvino" in " ".join(text.split()) and "threads: 2" in text
    assert "s2fpn18_360x480.int8-cpu.onnx" in text  # a name whole
    lines = text.splitlines()
    for header in ("precision", "median ms", "FPS", "e2e FPS", "mIoU", "drop"):  # each word whole on one line
        assert all(any(word in line for line in lines) for word in header.split()), header
    assert "precis" not in text.replace("precision", "") and "me dian" not in text


def test_wide_keeps_every_column():
    from rich.console import Console

    from edgeseg.bench.report import rich_table

    from edgeseg.cli.common import print_table

    out = io.StringIO()
    print_table(Console(file=out, width=100), rich_table(_wide_rows(), "edgeseg bench", wide=True), wide=True)
    assert "s2fpn18_360x480.int8-cpu.onnx" in out.getvalue()  # widened to the table, not folded or cropped
    assert "every row" not in out.getvalue() and "backend" in out.getvalue() and "threads" in out.getvalue()
