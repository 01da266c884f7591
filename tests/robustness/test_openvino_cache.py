"""The OpenVINO side of issue 28 as a user hits it: the compile-cache trim removes only what
edgeseg wrote and never follows a link (B3), a bad EDGESEG_CACHE_MAX_GB is one line before
any compile (D), a compile failure keeps its cause (E), an IR is not run on another runtime (E)."""

from __future__ import annotations

import os
import time

import pytest

from cliproc import cli, refused
from tiny import tiny_onnx

WEEK_AGO = time.time() - 7 * 86400


def _old(path, data: bytes = bytes(1000)):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (WEEK_AGO, WEEK_AGO))
    return path


def test_trim_with_cap_zero_removes_only_edgeseg_files_and_follows_no_link(tmp_path):
    from edgeseg.runtime.cache_trim import trim

    photos = tmp_path / "photos"
    photo = _old(photos / "holiday.jpg", b"precious")
    cache = tmp_path / "cache" / "openvino"
    blob, graph = _old(cache / "123.blob"), _old(cache / "graphs" / "abc.u8act.onnx")
    foreign = _old(cache / "notes.txt", b"mine")  # a user's file inside the cache folder
    foreign_blob = _old(cache / "sub" / "x.blob")  # a folder edgeseg never writes
    (cache / "linked.blob").symlink_to(photo)  # a planted link to a user's file
    (cache / "photos").symlink_to(photos, target_is_directory=True)  # and to a user's folder
    removed = trim(cache, cap=0)
    assert sorted(p.name for p in removed) == ["123.blob", "abc.u8act.onnx"]
    assert not blob.exists() and not graph.exists()
    assert photo.read_bytes() == b"precious" and foreign.read_bytes() == b"mine" and foreign_blob.exists()
    assert (cache / "linked.blob").is_symlink()


def test_trim_of_a_cache_folder_that_is_a_link_or_whose_graphs_folder_is_removes_nothing(tmp_path):
    from edgeseg.runtime.cache_trim import trim

    elsewhere = tmp_path / "elsewhere"
    kept = _old(elsewhere / "123.blob")
    (tmp_path / "openvino").symlink_to(elsewhere, target_is_directory=True)
    assert trim(tmp_path / "openvino", cap=0) == [] and kept.exists()
    cache = tmp_path / "real"
    cache.mkdir()
    (cache / "graphs").symlink_to(elsewhere, target_is_directory=True)
    assert trim(cache, cap=0) == [] and kept.exists()


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e400", "-1", "abc", "1e30"])
def test_a_bad_cache_cap_is_one_line_before_the_compile(tmp_path, value):
    pytest.importorskip("openvino")
    model = tiny_onnx(tmp_path / "m.onnx")
    p = cli("bench", model, "--backend", "openvino", "--iters", "1", "--warmup", "0", "--input-size", "8x8",
            env_extra={"EDGESEG_CACHE_MAX_GB": value, "EDGESEG_CACHE_DIR": str(tmp_path / "cache")})
    assert "Traceback" not in p.stderr
    assert "EDGESEG_CACHE_MAX_GB must be a finite number" in p.stdout + p.stderr
    assert not any((tmp_path / "cache").rglob("*.blob"))  # refused before OpenVINO compiled anything


def test_the_cache_cap_accepts_plain_numbers(monkeypatch):
    from edgeseg.runtime.cache_trim import DEFAULT_MAX_GB, max_bytes

    for raw, want in (("0", 0), ("0.5", 500_000_000), (" 3 ", 3_000_000_000), ("", int(DEFAULT_MAX_GB * 1e9))):
        monkeypatch.setenv("EDGESEG_CACHE_MAX_GB", raw)
        assert max_bytes() == want


def test_an_openvino_compile_failure_keeps_its_cause(tmp_path):
    pytest.importorskip("openvino")
    import onnx
    from onnx import TensorProto, helper

    g = helper.make_graph([helper.make_node("NoSuchOp", ["x"], ["y"])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8])])
    onnx.save(helper.make_model(g), tmp_path / "odd.onnx")
    p = cli("bench", tmp_path / "odd.onnx", "--backend", "openvino", "--iters", "1", "--warmup", "0",
            env_extra={"EDGESEG_CACHE_DIR": str(tmp_path / "cache")})
    text = p.stdout + p.stderr
    assert "NoSuchOp" in text and "core.cpp" not in text, text[-2000:]


def test_eval_of_an_ir_with_backend_onnxruntime_is_refused(tmp_path):
    (tmp_path / "m.xml").write_text("<net/>")
    (tmp_path / "m.bin").write_bytes(b"")
    p = cli("eval", tmp_path / "m.xml", "--val", tmp_path, "--backend", "onnxruntime")
    refused(p, "m.xml", "--backend onnxruntime cannot read a .xml file", "openvino")
