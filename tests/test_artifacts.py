"""The artifact decides: a sidecar is used only when it describes the file beside it."""

import json

import pytest

from edgeseg import artifacts
from edgeseg.artifacts import metadata_dict, sha256_file
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
    meta = metadata_dict(a)
    assert meta["note"] == "sidecar only" and meta["precision"] == "fp32"
    sha256_file(a)  # the export's reuse check asks again: served from the first hash
    assert len(reads) == 1


def test_replaced_file_is_hashed_again_and_its_old_sidecar_refused(tmp_path):
    a = tiny_onnx(tmp_path / "a.onnx")
    side = json.loads((tmp_path / "a.onnx.json").read_text())
    (tmp_path / "a.onnx.json").write_text(json.dumps({**side, "sha256": sha256_file(a)}))
    metadata_dict(a)  # hashed and remembered
    tiny_onnx(tmp_path / "b.onnx", seed=1).replace(a)  # another model under the same name, same size
    (tmp_path / "b.onnx.json").unlink()
    with pytest.raises(EdgesegError, match="stale sidecar, it describes another file"):
        metadata_dict(a)


def test_embedded_metadata_alone(tmp_path):
    a = tiny_onnx(tmp_path / "a.onnx")
    (tmp_path / "a.onnx.json").unlink()
    assert metadata_dict(a)["precision"] == "fp32"
    assert metadata_dict(tmp_path / "none.engine") == {}


def test_read_artifact_is_the_only_metadata_reader():
    """Metadata is read back typed, in one place (issue 29): no module but artifacts.py reads a
    sidecar or embedded metadata itself, or indexes the raw dict a reader returns."""
    import ast
    from pathlib import Path

    import edgeseg

    root = Path(edgeseg.__file__).parent
    readers = {"_read_metadata", "read_sidecar", "embedded_metadata", "onnx_metadata", "ir_metadata"}
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.name == "artifacts.py" and path.parent == root:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            name = getattr(node, "id", None) or getattr(node, "attr", None) or getattr(node, "name", None)
            if isinstance(node, (ast.Name, ast.Attribute, ast.alias)) and name in readers | {"read_metadata"}:
                found.append(f"{path.relative_to(root)}:{getattr(node, 'lineno', '?')} {name}")
    # tune/record.py copies a pick's sidecar as it is (it adds `tuned`): the one raw reader outside, on purpose.
    assert [f for f in found if not f.startswith("tune/record.py")] == [], found


def test_no_module_parses_a_sidecar_or_takes_the_json_view_to_read_it():
    """Issue 29: a sidecar is parsed in artifacts.py only (stage reuse once parsed its own), and the
    JSON view of the typed reader (`metadata_dict`) is taken only where JSON is what is passed on: a
    runner's `metadata`, and tune's tails, which edit a contract and write it back."""
    import ast
    from pathlib import Path

    import edgeseg

    root = Path(edgeseg.__file__).parent
    parsed, viewed = [], []
    for path in sorted(root.rglob("*.py")):
        rel = str(path.relative_to(root))
        if rel == "artifacts.py":
            continue
        text = path.read_text()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) in ("load", "loads") \
                    and getattr(node.func.value, "id", None) == "json" and "side" in ast.get_source_segment(text, node):
                parsed.append(f"{rel}:{node.lineno}")
            if isinstance(node, ast.Name) and node.id == "metadata_dict":
                viewed.append(rel)
    assert parsed == []
    assert sorted(set(viewed)) == ["runtime/base.py", "tune/tails.py"]


@pytest.mark.parametrize("kind", ["onnx", "engine", "openvino-ir", "pytorch"])
def test_the_schema_round_trips_every_kind_written(kind):
    """What each writer writes reads back as the same record, blocks the schema does not name included."""
    from edgeseg.metadata import KINDS, ArtifactMetadata

    assert kind in KINDS
    written = {"format": "edgeseg-artifact/1", "kind": kind, "stage": "s", "precision": "int8", "model": {"a": 1},
               "preprocess": {"mean_bgr": [1.0, 2.0, 3.0]}, "dataset": {"name": "camvid"},
               "io": {"input": {"dtype": "float32"}}, "embedded_preprocess": False,
               "target": {"gpu": "Orin"} if kind == "engine" else None,
               "engine": {"bytes": 4} if kind == "engine" else None,
               "openvino": {"precision_hint": "bf16"} if kind == "openvino-ir" else None,
               "provenance": {"parent": {"path": "m.onnx", "sha256": "0" * 64}},
               "bin_sha256": "1" * 64 if kind == "openvino-ir" else None, "sha256": "2" * 64, "size_bytes": 9,
               "tuned": {"chosen": "x"}}
    written = {k: v for k, v in written.items() if v is not None}
    meta = ArtifactMetadata.from_dict(written)
    assert meta.to_dict() == written and ArtifactMetadata.from_dict(meta.to_dict()) == meta


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
