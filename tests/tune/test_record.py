"""tune.md / tune.json: every candidate, failed builds with their reason, ratios to FP32 on OpenVINO."""

from edgeseg.tune.record import markdown, with_ratios, write_all

MACHINE = {"cpu": "Xeon", "arch": "x86_64", "isa": ["AMX"], "threads": 2, "flags": ["amx_int8"],
           "versions": {"openvino": "2026.4.1"}}


def report():
    rows = with_ratios([
        {"name": "fp32 openvino", "precision": "fp32", "backend": "openvino", "median_ms": 80.0, "miou": 61.9,
         "miou_drop": 0.0, "agreement": 100.0, "cached": False},
        {"name": "nncf-int8 openvino", "precision": "int8", "backend": "openvino", "median_ms": 20.0, "miou": 61.7,
         "miou_drop": 0.2, "agreement": 99.5, "cached": True},
        {"name": "int8-cpu onnxruntime", "precision": "int8", "backend": "onnxruntime", "error": "calibration failed"}])
    return {"checkpoint": "c.pth", "input_size": [360, 480], "machine": MACHINE, "val": "camvid", "val_images": 101,
            "budget": 0.3, "calib": "m.txt (300 images)", "protocol": {"rounds": 10, "iters": 10, "warmup": 5},
            "candidates": rows, "skipped": [{"name": "bf16 openvino", "reason": "no bf16"}],
            "chosen": {"name": "nncf-int8 openvino", "path": "out/x.tuned.xml"}, "why": "fastest"}


def test_ratios_are_to_fp32_on_openvino():
    rows = report()["candidates"]
    assert rows[0]["x_fp32_ov"] == 1.0 and rows[1]["x_fp32_ov"] == 0.25 and "x_fp32_ov" not in rows[2]


def test_markdown_has_every_candidate_failed_and_skipped(tmp_path):
    text = markdown(report())
    assert "**nncf-int8 openvino**" in text and "not built: calibration failed" in text
    assert "skipped: no bf16" in text and "AMX" in text and "10 interleaved rounds" in text
    r = report()
    write_all(r, tmp_path, plot_rows=False)
    assert (tmp_path / "tune.json").is_file() and (tmp_path / "tune.md").read_text() == text


def test_deliver_copies_the_pick_with_its_tuned_record(tmp_path):
    import json

    from edgeseg.tune.record import deliver

    src = tmp_path / "c" / "m.pth"  # a checkpoint (GPU torch pick) has no sidecar
    src.parent.mkdir()
    src.write_bytes(b"weights")
    dest = deliver(src, tmp_path, {"chosen": "torch-compile bf16 cuda"})
    assert dest.name == "m.tuned.pth" and dest.read_bytes() == b"weights"
    assert json.loads((tmp_path / "m.tuned.pth.json").read_text())["tuned"]["chosen"] == "torch-compile bf16 cuda"
