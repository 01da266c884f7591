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


def test_graph_hash_ignores_metadata_and_follows_weights():
    """Calibrated ranges are keyed by the graph: a re-export differing only in its metadata matches."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    from edgeseg.artifacts import graph_sha256

    def model(w, note):
        g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
                              [numpy_helper.from_array(np.array([w], np.float32), "w")])
        m = helper.make_model(g)
        helper.set_model_props(m, {"edgeseg": note})
        return m

    assert graph_sha256(model(1.0, "a.pth at 10:00")) == graph_sha256(model(1.0, "b.pth at 11:00"))
    assert graph_sha256(model(1.0, "a")) != graph_sha256(model(2.0, "a"))
