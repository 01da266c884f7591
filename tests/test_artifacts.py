"""The artifact decides: a sidecar is used only when it describes the file beside it."""

import json

import pytest

from edgeseg import artifacts
from edgeseg.artifacts import read_metadata, sha256_file
from edgeseg.errors import EdgesegError
from tiny import tiny_onnx


def test_consistent_sidecar_is_used_and_the_file_hashed_once(tmp_path, monkeypatch):
    a = tiny_onnx(tmp_path / "a.onnx")
    side = json.loads((tmp_path / "a.onnx.json").read_text())
    (tmp_path / "a.onnx.json").write_text(json.dumps({**side, "sha256": sha256_file(a), "note": "sidecar only"}))
    reads = []
    real = artifacts.hashlib.sha256
    monkeypatch.setattr(artifacts.hashlib, "sha256", lambda: reads.append(1) or real())
    artifacts._HASHES.clear()
    meta = read_metadata(a)
    assert meta["note"] == "sidecar only" and meta["precision"] == "fp32"
    sha256_file(a)  # the export's reuse check asks again: served from the first hash
    assert len(reads) == 1


def test_replaced_file_is_hashed_again_and_its_old_sidecar_refused(tmp_path):
    a = tiny_onnx(tmp_path / "a.onnx")
    side = json.loads((tmp_path / "a.onnx.json").read_text())
    (tmp_path / "a.onnx.json").write_text(json.dumps({**side, "sha256": sha256_file(a)}))
    read_metadata(a)  # hashed and remembered
    tiny_onnx(tmp_path / "b.onnx", seed=1).replace(a)  # another model under the same name, same size
    (tmp_path / "b.onnx.json").unlink()
    with pytest.raises(EdgesegError, match="stale sidecar, it describes another file"):
        read_metadata(a)


def test_embedded_metadata_alone(tmp_path):
    a = tiny_onnx(tmp_path / "a.onnx")
    (tmp_path / "a.onnx.json").unlink()
    assert read_metadata(a)["precision"] == "fp32"
    assert read_metadata(tmp_path / "none.engine") == {}
