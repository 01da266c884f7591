"""`edgeseg bench` and `edgeseg compare` end to end on tiny ONNX models."""

import json
import os
import stat
from pathlib import Path

import cv2
import pytest

from edgeseg.platform import hardware
from edgeseg.platform.hardware import Hardware
from edgeseg.cli.main import main
from tiny import tiny_onnx

DEMO = Path(__file__).resolve().parents[2] / "edgeseg" / "assets" / "camvid-demo"
SAMPLES = Path(__file__).resolve().parents[1] / "platform" / "samples"


def test_bench_json_md_then_compare(tmp_path, capsys):
    a, b = tiny_onnx(tmp_path / "a.onnx"), tiny_onnx(tmp_path / "b.onnx", seed=1)
    missing = tmp_path / "gone.onnx"
    code = main(["bench", str(a), str(b), str(missing), "--input-size", "32x48", "--iters", "5", "--warmup", "1",
                 "--threads", "1", "--backend", "onnxruntime",  # the backend choice is test_backend_cli's
                 "--json", str(tmp_path / "r.json"), "--md", str(tmp_path / "r.md")])
    out, err = capsys.readouterr()
    assert code == 1 and "1 of 3 benchmark rows failed (first: " in err  # table and files first, then the failure
    result = json.loads((tmp_path / "r.json").read_text())
    ok, ok2, failed = result["rows"]
    assert ok["status"] == "ok" and ok["end_to_end"]["count"] == 5 and ok["input"] == [1, 3, 32, 48]
    assert ok["cpu_threads"] == 1 and ok["precision"] == "fp32" and ok["backend"] == "onnxruntime"
    assert failed["status"] == "failed" and "no such file" in failed["reason"]  # one failure, table survives
    device = result["device"]
    assert device["profile"] == "cpu" and device["cores"] >= 1 and device["threads"] >= 1 and device["cpu"]
    assert {"edgeseg", "onnxruntime"} <= set(result["versions"])
    assert result["settings"]["iters"] == 5 and result["settings"]["threads"] == 1
    assert "a.onnx" in out and "failed: " in out and "device profile cpu" in out
    md = (tmp_path / "r.md").read_text()
    assert md.startswith("## edgeseg bench: cpu: ") and "| a.onnx | fp32 | onnxruntime |" in md
    # an eval file adds mIoU to the same artifacts
    (tmp_path / "e.json").write_text(json.dumps({"artifacts": [
        {"path": str(a), "miou": 50.0, "miou_drop": None, "precision": "fp32", "backend": "onnxruntime"},
        {"path": str(b), "miou": 49.0, "miou_drop": 1.0, "precision": "fp32", "backend": "onnxruntime"}]}))
    code = main(["compare", str(tmp_path / "r.json"), str(tmp_path / "e.json"), "--csv", str(tmp_path / "t.csv"),
                 "--md", str(tmp_path / "t.md"), "--plot", str(tmp_path / "p.png")])
    out, err = capsys.readouterr()
    assert code == 0 and "a.onnx" in out
    assert "plot: 2 rows; 1 without FPS or mIoU not plotted (gone.onnx on cpu: " in err
    assert len((tmp_path / "t.csv").read_text().splitlines()) == 4
    assert "| 49.00 | 1.000 |" in (tmp_path / "t.md").read_text()
    assert cv2.imread(str(tmp_path / "p.png")).shape == (650, 1000, 3)


def test_bench_with_data_measures_miou_and_drop(tmp_path, capsys):
    a, b = tiny_onnx(tmp_path / "a.onnx"), tiny_onnx(tmp_path / "b.onnx", seed=1)
    code = main(["bench", str(tmp_path / "gone.onnx"), str(a), str(b), "--input-size", "32x48", "--duration", "0.05",
                 "--warmup", "0", "--val", f"{DEMO}:camvid_val_list.txt", "--limit", "3",
                 "--json", str(tmp_path / "r.json")])
    assert code == 1 and "1 of 3 benchmark rows failed" in capsys.readouterr().err
    result = json.loads((tmp_path / "r.json").read_text())
    gone, ra, rb = result["rows"]
    assert result["settings"]["duration"] == 0.05 and ra["end_to_end"]["count"] >= 1
    assert result["accuracy"]["images"] == 3 and result["accuracy"]["reference"] == str(a)  # first that ran
    assert "miou" not in gone and ra["miou_drop"] is None
    assert 0 <= rb["miou"] <= 100 and rb["miou_drop"] == pytest.approx(ra["miou"] - rb["miou"], abs=1e-3)
    assert 0 <= rb["agreement"] <= 100


def test_wrong_data_stops_before_timing(tmp_path, capsys):
    code = main(["bench", str(tiny_onnx(tmp_path / "a.onnx")), "--val", str(tmp_path / "nowhere"),
                 "--json", str(tmp_path / "r.json")])
    assert code == 1 and "does not exist" in capsys.readouterr().err and not (tmp_path / "r.json").exists()


def test_bench_jetson_profile_on_a_pc_stops(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(hardware, "detect", lambda: Hardware("x86_64", "AMD EPYC", 2, threads=2))
    for device, message in (("jetson-orin", "--device jetson-orin needs a Jetson AGX Orin (32/64 GB); this machine "
                                            "is x86_64 (AMD EPYC) with no /etc/nv_tegra_release: use --device cpu"),
                            ("cuda", "--device cuda needs an NVIDIA GPU; this machine is x86_64")):
        code = main(["bench", str(tiny_onnx(tmp_path / "a.onnx")), "--device", device,
                     "--json", str(tmp_path / "r.json")])
        err = capsys.readouterr().err
        assert code == 1 and message in err and err.count("\n") == 1 and not (tmp_path / "r.json").exists()


def _tool(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def test_bench_on_a_fake_jetson_records_power_mode_clocks_and_watts(tmp_path, capsys, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _tool(bin_dir, "nvpmodel", f"cat {SAMPLES / 'nvpmodel_maxn.txt'}")
    _tool(bin_dir, "jetson_clocks", f"cat {SAMPLES / 'jetson_clocks_locked.txt'}")
    _tool(bin_dir, "tegrastats", f"while true; do tail -1 {SAMPLES / 'tegrastats_orin_nano.txt'}; sleep 0.01; done")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    board = Hardware("aarch64", "ARM CPU part 0xd42", 6, [], "NVIDIA Jetson Orin Nano Developer Kit", "36.4.0", 6)
    monkeypatch.setattr(hardware, "detect", lambda: board)
    code = main(["bench", str(tiny_onnx(tmp_path / "a.onnx")), "--device", "jetson-orin-nano", "--provider", "cpu",
                 "--input-size", "32x48", "--warmup", "1", "--duration", "0.3", "--json", str(tmp_path / "r.json")])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["device"]["power_mode"] == {"mode": "MAXN", "id": 0} and result["device"]["clocks"]["locked"]
    row = result["rows"][0]
    assert row["status"] == "ok" and row["power_w"] == pytest.approx(10.72)
    assert row["fps_per_watt"] == pytest.approx(row["end_to_end"]["fps"] / 10.72, rel=0.01)
    assert "power mode MAXN, clocks locked at max" in out and "FPS/W" in out


def test_bad_options_and_other_json(tmp_path, capsys):
    model = str(tiny_onnx(tmp_path / "a.onnx"))
    assert main(["bench", model, "--iters", "5", "--duration", "1"]) == 1
    assert "either --iters or --duration" in capsys.readouterr().err
    assert main(["bench", model, "--device", "toaster"]) == 1
    assert "unknown device profile 'toaster'" in capsys.readouterr().err
    (tmp_path / "x.json").write_text("{}")
    assert main(["compare", str(tmp_path / "x.json")]) == 1
    assert "neither bench nor eval" in capsys.readouterr().err
