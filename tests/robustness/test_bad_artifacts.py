"""Stale, foreign and broken sidecars and metadata (issue 14 items 1, 9) through the real CLI."""

import json

import onnx
import pytest

from edgeseg.artifacts import set_onnx_metadata, sha256_file
from cliproc import DEMO, cli, refused
from tiny import tiny_onnx

EVAL = ("--val", f"{DEMO}:camvid_val_list.txt", "--limit", "1")


@pytest.mark.slow
def test_sidecar_of_another_file_is_refused(tmp_path):
    a, b = tiny_onnx(tmp_path / "a.onnx"), tiny_onnx(tmp_path / "b.onnx", seed=1)
    side = json.loads((tmp_path / "b.onnx.json").read_text())
    side["sha256"] = sha256_file(b)
    side["precision"] = "int8"
    (tmp_path / "a.onnx.json").write_text(json.dumps(side))  # an INT8 sidecar copied next to an FP32 model
    refused(cli("eval", a, *EVAL), "a.onnx.json: stale sidecar", "delete a.onnx.json or rebuild a.onnx")


@pytest.mark.slow
def test_edited_preprocessing_is_refused(tmp_path):
    a = tiny_onnx(tmp_path / "a.onnx")
    side = json.loads((tmp_path / "a.onnx.json").read_text())
    side["preprocess"]["mean_bgr"] = [0, 0, 0]
    (tmp_path / "a.onnx.json").write_text(json.dumps(side))
    refused(cli("eval", a, *EVAL), "stale sidecar", "preprocess")
    assert cli("eval", a, *EVAL).returncode == 1


@pytest.mark.slow
def test_sidecar_not_an_object_or_not_json(tmp_path):
    a = tiny_onnx(tmp_path / "a.onnx")
    (tmp_path / "a.onnx.json").write_text("[1, 2]")
    refused(cli("eval", a, *EVAL), "a.onnx.json: sidecar holds a JSON list, not an object")
    (tmp_path / "a.onnx.json").write_text("{not json")
    refused(cli("eval", a, *EVAL), "a.onnx.json: sidecar is not valid JSON")


@pytest.mark.slow
def test_invalid_json_in_the_onnx_metadata(tmp_path):
    a = tiny_onnx(tmp_path / "a.onnx")
    (tmp_path / "a.onnx.json").unlink()
    model = onnx.load(str(a))
    next(p for p in model.metadata_props if p.key == "edgeseg").value = "{broken"
    onnx.save(model, str(a))
    refused(cli("eval", a, *EVAL), "a.onnx: its embedded edgeseg metadata is not valid JSON")


@pytest.mark.slow
def test_onnx_whose_io_contradicts_its_contract(tmp_path):
    a = tiny_onnx(tmp_path / "a.onnx")
    (tmp_path / "a.onnx.json").unlink()
    model = onnx.load(str(a))
    meta = json.loads(next(p for p in model.metadata_props if p.key == "edgeseg").value)
    set_onnx_metadata(model, {**meta, "embedded_preprocess": True})  # claims uint8 NHWC, takes float NCHW
    onnx.save(model, str(a))
    refused(cli("eval", a, *EVAL), "a.onnx: the graph does not match its metadata's contract", "uint8 NHWC")


def test_random_bytes_are_not_a_checkpoint(tmp_path):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(bytes(range(7, 256)) * 20)
    line = refused(cli("inspect", junk), "junk.pth: not a PyTorch checkpoint")
    assert "run code" not in line


@pytest.mark.slow
def test_sidecar_tampered_for_a_model_without_embedded_metadata(tmp_path):
    a = tiny_onnx(tmp_path / "a.onnx")
    side = json.loads((tmp_path / "a.onnx.json").read_text())
    (tmp_path / "a.onnx.json").write_text(json.dumps({**side, "sha256": "0" * 64}))
    refused(cli("bench", a, "--input-size", "8x8", "--iters", "1", "--warmup", "0"), "benchmark rows failed",
            "stale sidecar")


@pytest.mark.slow
def test_unreadable_sidecar(tmp_path):
    a = tiny_onnx(tmp_path / "a.onnx")
    (tmp_path / "a.onnx.json").unlink()
    (tmp_path / "a.onnx.json").mkdir()  # root reads any file; a folder in its place cannot be read by anyone
    refused(cli("eval", a, *EVAL), "a.onnx.json: cannot read the sidecar")


@pytest.mark.slow
def test_bench_names_where_a_size_came_from(tmp_path):
    a = tiny_onnx(tmp_path / "a.onnx")
    (tmp_path / "a.onnx.json").unlink()
    model = onnx.load(str(a))
    for value in (model.graph.input[0], model.graph.output[0]):
        dims = value.type.tensor_type.shape.dim
        dims[2].dim_value, dims[3].dim_value = 8, 8
    meta = json.loads(next(p for p in model.metadata_props if p.key == "edgeseg").value)
    meta["preprocess"]["input_size"] = [16, 16]  # metadata that disagrees with the fixed 8x8 graph
    set_onnx_metadata(model, meta)
    onnx.save(model, str(a))
    line = refused(cli("bench", a, "--iters", "1", "--warmup", "0"), "the input size in its metadata 16x16 does not fit")
    assert "--input-size" not in line  # the user never passed it
    refused(cli("bench", a, "--iters", "1", "--warmup", "0", "--input-size", "4x4"), "--input-size 4x4 does not fit")
