"""--backend on eval/predict/bench; `bench --device cpu` picks the profile's fastest installed backend per precision."""

import json

import cv2
import numpy as np
import onnx
import pytest

from edgeseg.artifacts import set_onnx_metadata, write_sidecar
from edgeseg.cli.main import main
from edgeseg.platform.devices import backends_for, load_profile
from edgeseg.runtime import installed
from tiny import tiny_onnx


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGESEG_CACHE_DIR", str(tmp_path / "cache"))


def as_precision(path, precision):
    """The tiny model labelled with another precision (the backend choice reads only the metadata)."""
    model = onnx.load(str(path))
    meta = {**json.loads(path.with_name(path.name + ".json").read_text()), "precision": precision}
    set_onnx_metadata(model, meta)
    onnx.save(model, str(path))
    write_sidecar(path, meta)
    return path


def bench(tmp_path, capsys, *args):
    code = main(["bench", *args, "--device", "cpu", "--input-size", "16x16", "--iters", "2", "--warmup", "0",
                 "--threads", "1", "--json", str(tmp_path / "r.json")])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads((tmp_path / "r.json").read_text()), out


def test_cpu_profile_picks_per_precision_and_names_the_backend(tmp_path, capsys):
    profile = load_profile("cpu")
    int8 = as_precision(tiny_onnx(tmp_path / "q.onnx"), "int8")
    fp32 = tiny_onnx(tmp_path / "f.onnx", seed=1)
    result, out = bench(tmp_path, capsys, str(int8), str(fp32))
    for row, precision in zip(result["rows"], ("int8", "fp32")):
        want = next(b for b in backends_for(profile, precision) if installed(b))
        assert row["status"] == "ok" and row["precision"] == precision and row["backend"] == want
        assert row["description"].startswith(want)
    assert {r["backend"] for r in result["rows"]} <= set(out.split())  # every row says which backend ran it
    assert profile.backends["int8"][0] == "openvino"  # the measured decision, kept as data (per-ISA rows may lead)
    assert all(row["measured"] for row in profile.int8_by_isa)  # no static target: per ISA, each row measured


def test_missing_openvino_falls_back_to_the_next_backend(tmp_path, capsys, monkeypatch):
    import edgeseg.runtime as runtime

    real = runtime.installed
    monkeypatch.setattr(runtime, "installed", lambda b: b != "openvino" and real(b))
    result, _ = bench(tmp_path, capsys, str(as_precision(tiny_onnx(tmp_path / "q.onnx"), "int8")))
    assert result["rows"][0]["backend"] == "onnxruntime"


def test_backend_asked_for_is_used_and_checked(tmp_path, capsys):
    pytest.importorskip("openvino")
    result, _ = bench(tmp_path, capsys, str(tiny_onnx(tmp_path / "f.onnx")), "--backend", "openvino")
    row = result["rows"][0]
    assert row["backend"] == "openvino" and row["cpu_threads"] == 1
    code = main(["bench", str(tmp_path / "f.onnx"), "--backend", "openvin", "--iters", "1"])
    assert code == 1 and "unknown backend 'openvin'" in capsys.readouterr().err


def test_eval_and_predict_through_openvino_agree_with_onnxruntime(tmp_path, capsys):
    pytest.importorskip("openvino")
    rng = np.random.default_rng(0)
    for sub, arr in (("val", rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)),
                     ("valannot", rng.integers(0, 12, (12, 16), dtype=np.uint8))):
        (tmp_path / "cv" / sub).mkdir(parents=True)
        cv2.imwrite(str(tmp_path / "cv" / sub / "im0.png"), arr)
    a = tiny_onnx(tmp_path / "a.onnx")
    code = main(["eval", str(a), "--val", str(tmp_path / "cv"), "--backend", "openvino", "--threads", "1",
                 "--json", str(tmp_path / "r.json")])
    assert code == 0, capsys.readouterr().err
    (row,) = json.loads((tmp_path / "r.json").read_text())["artifacts"]
    assert row["backend"] == "openvino"
    code = main(["predict", str(a), str(tmp_path / "cv" / "val"), "-o", str(tmp_path / "o"), "--backend", "openvino",
                 "--compare", str(a)])
    out = capsys.readouterr().out
    assert code == 0 and "agreement with a.onnx 100.0000%" in out  # OpenVINO labels = ONNX Runtime labels
