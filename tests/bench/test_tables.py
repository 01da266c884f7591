"""One Markdown table writer for every report."""

from edgeseg.bench.tables import eval_markdown, markdown_table


def test_markdown_table_escapes_pipes_in_cells():
    assert markdown_table(["a", "b"], [["x|y", 1]]) == ["| a | b |", "|---|---|", "| x\\|y | 1 |"]


def test_eval_markdown_writes_both_tables():
    report = {"dataset": "camvid", "split": "val", "images": 1, "resize": "logits", "classes": ["Sky", "Road"],
              "artifacts": [{"path": "/x/a.onnx", "backend": "onnxruntime", "precision": "fp32", "miou": 61.4,
                             "miou_drop": None, "agreement": 100.0, "pixel_acc": 90.1,
                             "per_class_iou": {"Sky": 90.0, "Road": None}}]}
    lines = eval_markdown(report).splitlines()
    assert lines[0] == "# camvid val (1 images)"
    assert "| a.onnx | onnxruntime | fp32 | 61.40 | - | 100.000% | 90.10 |" in lines
    assert lines[-3:] == ["| artifact | Sky | Road |", "|---|---|---|", "| a.onnx | 90.00 | - |"]


def test_a_drop_past_the_budget_is_said_in_the_eval_table():
    from edgeseg.bench.tables import MAX_DROP, _rows, over_budget

    report = {"artifacts": [
        {"path": "a.onnx", "backend": "onnxruntime", "precision": "fp32", "miou": 61.4, "miou_drop": None,
         "agreement": None, "pixel_acc": 90.0},
        {"path": "b.int8.onnx", "backend": "openvino", "precision": "int8", "miou": 56.3, "miou_drop": 5.1,
         "agreement": 88.0, "pixel_acc": 85.0}]}
    rows = list(_rows(report))
    assert rows[1][4] == "5.10 OVER BUDGET" and rows[0][4] == "-"
    assert over_budget(MAX_DROP) is None and over_budget(None) is None
