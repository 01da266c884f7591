"""tune's OpenVINO IR builds are reused by key, and rebuilt when their files were damaged (issue 29, 28 B4)."""

import numpy as np
import pytest


@pytest.fixture
def conv_onnx(tmp_path):
    """A 1x1 convolution ONNX model carrying an edgeseg contract (what tune converts to IR)."""
    pytest.importorskip("openvino")
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from edgeseg.artifacts import FORMAT, set_onnx_metadata
    from edgeseg.data.contract import DatasetInfo, Preprocess

    camvid = DatasetInfo.named("camvid")
    weight = numpy_helper.from_array(np.arange(33, dtype=np.float32).reshape(11, 3, 1, 1) / 33, "w")
    graph = helper.make_graph([helper.make_node("Conv", ["input", "w"], ["logits"])], "g",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 11, 8, 8])],
                              [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    set_onnx_metadata(model, {
        "format": FORMAT, "kind": "onnx", "stage": "simplified", "precision": "fp32",
        "preprocess": Preprocess.official(camvid, (8, 8)).to_dict(), "dataset": camvid.to_dict(),
        "io": {"input": {"name": "input", "dtype": "float32", "shape": [1, 3, 8, 8], "layout": "NCHW"},
               "output": {"name": "logits", "dtype": "float32", "shape": [1, 11, 8, 8], "kind": "logits"}},
        "embedded_preprocess": False})
    path = tmp_path / "m.fp32.onnx"
    onnx.save(model, str(path))
    return path


@pytest.mark.slow  # OpenVINO converts and saves the IR twice (~8 s here)
def test_a_rerun_reuses_the_ir_and_rebuilds_a_tampered_bin(conv_onnx):
    from edgeseg.artifacts import metadata_dict, sha256_file
    from edgeseg.tune.build import ir_for

    xml = ir_for(conv_onnx, None)
    weights, made = xml.with_suffix(".bin"), xml.stat().st_mtime_ns
    good = sha256_file(weights)
    assert ir_for(conv_onnx, None) == xml and xml.stat().st_mtime_ns == made  # same key: reused

    data = weights.read_bytes()
    weights.write_bytes(data[:-4] + bytes(4))  # the weights altered behind the sidecar's back
    assert ir_for(conv_onnx, None) == xml
    assert sha256_file(weights) == good and metadata_dict(xml)["bin_sha256"] == good  # rebuilt, not trusted


@pytest.mark.slow
def test_the_ir_is_a_verified_stage_published_as_one_set(conv_onnx):
    """Issue 29: tune's IR is a Stage: its sidecar holds the check against the parent ONNX, the key of
    the stage runner and the .bin's hash; nothing else is left in the folder."""
    from edgeseg.artifacts import read_artifact, sha256_file
    from edgeseg.export.openvino_ir import onnx_to_ir

    xml = onnx_to_ir(conv_onnx)
    meta = read_artifact(xml)
    v = meta.verification
    assert v["ok"] and v["max_abs"] <= v["max_abs_allowed"] and v["min_agreement"] == 0.999
    assert len(meta.provenance["stage_key"]) == 64 and meta.provenance["parent"]["sha256"] == sha256_file(conv_onnx)
    assert meta.files == {"m.fp32.bin": sha256_file(xml.with_suffix(".bin"))}
    assert sorted(p.name for p in xml.parent.iterdir()) == ["m.fp32.bin", "m.fp32.onnx", "m.fp32.xml",
                                                             "m.fp32.xml.json"]


@pytest.mark.slow
def test_an_ir_that_disagrees_with_its_onnx_is_not_published(conv_onnx, monkeypatch):
    """The IR is checked against its parent ONNX on the same images before it is published."""
    import openvino as ov

    from edgeseg.errors import EdgesegError
    from edgeseg.export import openvino_ir

    def negated(path):
        model = ov.Core().read_model(str(path))
        from openvino import opset13 as ops

        result = model.get_results()[0]
        out = ops.negative(result.input_value(0))
        return ov.Model([ops.result(out)], model.get_parameters())

    monkeypatch.setattr(openvino_ir, "read_onnx", negated)
    with pytest.raises(EdgesegError, match="stage openvino failed verification against its parent"):
        openvino_ir.onnx_to_ir(conv_onnx)
    assert sorted(p.name for p in conv_onnx.parent.iterdir()) == ["m.fp32.onnx"]


@pytest.mark.slow
@pytest.mark.parametrize("renames_before_kill", [2, 3, 4])
def test_killed_while_publishing_leaves_no_ir_that_looks_whole(conv_onnx, monkeypatch, renames_before_kill):
    """A rebuild killed between renames (scratch -> staged: 2, then .bin, sidecar, .xml): no .xml is
    left to pair with another's .bin, and the next run builds the whole set again."""
    from edgeseg.artifacts import read_artifact
    from edgeseg.export import stage as stage_mod
    from edgeseg.export.openvino_ir import onnx_to_ir

    xml = onnx_to_ir(conv_onnx)
    weights = xml.with_suffix(".bin")
    weights.write_bytes(bytes(weights.stat().st_size))  # damaged: the next run rebuilds it
    real, calls = stage_mod.os.replace, []

    def killed(src, dst):
        if len(calls) == renames_before_kill:
            raise KeyboardInterrupt
        calls.append(dst)
        real(src, dst)

    monkeypatch.setattr(stage_mod.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        onnx_to_ir(conv_onnx)
    monkeypatch.undo()
    assert not xml.exists()
    assert onnx_to_ir(conv_onnx) == xml and read_artifact(xml).verification["ok"]
    assert not [p for p in xml.parent.iterdir() if p.name.startswith(".")]


@pytest.mark.slow
def test_the_nncf_ir_is_a_stage_judged_as_int8_and_reused(conv_onnx):
    """NNCF's INT8 IR: verified on the calibration images against the FP32 ONNX with the INT8
    stage's agreement limit, reused by key on a re-run."""
    import cv2

    from edgeseg.artifacts import read_artifact
    from edgeseg.data.calibset import load_calibset
    from edgeseg.export.openvino_ir import nncf_to_ir
    from edgeseg.export.parity import TOLERANCES

    calib_dir = conv_onnx.parent / "calib"
    calib_dir.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        cv2.imwrite(str(calib_dir / f"{i}.png"), rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
    calib = load_calibset(str(calib_dir))
    xml = nncf_to_ir(conv_onnx, calib)
    made = xml.stat().st_mtime_ns
    meta = read_artifact(xml)
    assert xml.name == "m.nncf-int8.xml" and meta.stage == "nncf" and meta.precision == "int8"
    assert meta.verification["min_agreement"] == TOLERANCES["int8"][1] and meta.verification["ok"]
    assert meta.provenance["options"]["calib_images"] == 4
    assert nncf_to_ir(conv_onnx, calib) == xml and xml.stat().st_mtime_ns == made
