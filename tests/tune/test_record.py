"""tune.md / tune.json / tune.png: every candidate, failed builds with their reason, ratios to FP32
on OpenVINO, the load beside the timings, the Pareto front; one pick per folder; temporaries swept."""

from edgeseg.tune.record import deliver, markdown, sweep_temporaries, with_ratios, write_all

MACHINE = {"cpu": "Xeon", "arch": "x86_64", "isa": ["AMX"], "threads": 2, "flags": ["amx_int8"],
           "versions": {"openvino": "2026.4.1"}}


def report():
    rows = with_ratios([
        {"name": "fp32 onnxruntime", "precision": "fp32", "backend": "onnxruntime", "pipeline_ms": 100.0,
         "median_ms": 90.0, "miou": 61.9, "miou_drop": 0.0, "class_drop": 0.0, "agreement": 100.0, "cached": False},
        {"name": "fp32 openvino", "precision": "fp32", "backend": "openvino", "pipeline_ms": 80.0, "median_ms": 70.0,
         "miou": 61.9, "miou_drop": 0.0, "agreement": 100.0, "cached": False},
        {"name": "nncf-int8 openvino argmax", "precision": "int8", "backend": "openvino", "tail": "argmax",
         "pipeline_ms": 20.0, "median_ms": 19.0, "miou": 61.7, "miou_drop": 0.2, "class_drop": 1.1,
         "agreement": 99.5, "cached": True},
        {"name": "int8-cpu onnxruntime", "precision": "int8", "backend": "onnxruntime", "error": "calibration failed"}])
    return {"checkpoint": "c.pth", "input_size": [360, 480], "machine": MACHINE, "val": "camvid", "val_images": 101,
            "budget": 0.3, "objective": {"max_miou_drop": 0.3, "text": "fastest pipeline within 0.3 mIoU points"},
            "calib": "m.txt (300 images)", "protocol": {"rounds": 10, "iters": 10, "warmup": 5},
            "timing_load": {"before": [1.5, 1.2, 1.0], "after": [1.7, 1.3, 1.0]}, "candidates": rows,
            "skipped": [{"name": "bf16 openvino", "reason": "no bf16"}],
            "chosen": {"name": "nncf-int8 openvino argmax", "path": "out/x.tuned.xml"}, "why": "fastest"}


def test_ratios_are_pipeline_to_fp32_on_openvino():
    rows = report()["candidates"]
    assert rows[1]["x_fp32_ov"] == 1.0 and rows[2]["x_fp32_ov"] == 0.25 and "x_fp32_ov" not in rows[3]


def test_markdown_has_every_candidate_failed_skipped_load_and_front(tmp_path):
    text = markdown(report())
    assert "**nncf-int8 openvino argmax**" in text and "not built: calibration failed" in text
    assert "skipped: no bf16" in text and "AMX" in text and "10 interleaved rounds" in text
    assert "1.5, 1.2, 1.0 / 1.7, 1.3, 1.0" in text and "fastest pipeline within 0.3" in text
    assert "fastest first: nncf-int8 openvino argmax, fp32 openvino" in text  # FP32 ORT: slower, no better
    r = report()
    write_all(r, tmp_path, plot_rows=False)
    assert (tmp_path / "tune.json").is_file() and (tmp_path / "tune.md").read_text() == text


def test_plot_names_the_machine_and_marks_the_pick(tmp_path):
    import pytest

    pytest.importorskip("matplotlib")
    from edgeseg.tune.record import plot

    plot(report(), tmp_path / "tune.png")
    assert (tmp_path / "tune.png").stat().st_size > 10_000


def test_deliver_copies_the_pick_with_its_tuned_record(tmp_path):
    import json

    src = tmp_path / "c" / "m.pth"  # a checkpoint (GPU torch pick) has no sidecar
    src.parent.mkdir()
    src.write_bytes(b"weights")
    dest = deliver(src, tmp_path, {"chosen": "torch-compile bf16 cuda"})
    assert dest.name == "m.tuned.pth" and dest.read_bytes() == b"weights"
    assert json.loads((tmp_path / "m.tuned.pth.json").read_text())["tuned"]["chosen"] == "torch-compile bf16 cuda"


def test_a_new_pick_replaces_the_old_one(tmp_path):
    cands = tmp_path / "c"
    cands.mkdir()
    old, new = cands / "a.xml", cands / "b.onnx"
    old.write_bytes(b"xml")
    old.with_suffix(".bin").write_bytes(b"bin")
    new.write_bytes(b"onnx")
    deliver(old, tmp_path, {"chosen": "a"})
    assert {p.name for p in tmp_path.glob("*.tuned.*")} == {"a.tuned.xml", "a.tuned.bin", "a.tuned.xml.json"}
    deliver(new, tmp_path, {"chosen": "b"})
    assert {p.name for p in tmp_path.glob("*.tuned.*")} == {"b.tuned.onnx", "b.tuned.onnx.json"}


def test_an_ir_pick_names_the_bin_beside_it(tmp_path):
    """The IR stage's sidecar lists its .bin (`files`); the pick's names the copy beside the pick."""
    import json

    cands = tmp_path / "c"
    cands.mkdir()
    src = cands / "a.xml"
    src.write_bytes(b"xml")
    src.with_suffix(".bin").write_bytes(b"bin")
    (cands / "a.xml.json").write_text(json.dumps({"kind": "openvino-ir", "files": {"a.bin": "0" * 64}}))
    dest = deliver(src, tmp_path, {"chosen": "a"})
    assert json.loads((tmp_path / "a.tuned.xml.json").read_text())["files"] == {"a.tuned.bin": "0" * 64}
    assert dest.with_suffix(".bin").read_bytes() == b"bin"


def test_temporaries_of_a_killed_run_are_swept(tmp_path):
    stale = tmp_path / "candidates" / ".ir-abc123"
    stale.mkdir(parents=True)
    (stale / "m.xml").write_text("half")
    keep = tmp_path / "candidates" / "m.xml"
    keep.write_text("whole")
    sweep_temporaries(tmp_path / "candidates")
    assert not stale.exists() and keep.exists()


def test_nothing_chosen_still_writes_the_tables(tmp_path):
    r = {**report(), "chosen": None, "why": "--min-fps 99: no candidate reaches it here"}
    write_all(r, tmp_path, plot_rows=False)
    assert "**Nothing chosen**: --min-fps 99" in (tmp_path / "tune.md").read_text()
