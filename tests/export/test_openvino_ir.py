"""OpenVINO IR artifacts: the contract in rt_info and the sidecar; the file decides."""

import json

import numpy as np
import pytest

from edgeseg.artifacts import metadata_dict, sidecar_path
from edgeseg.errors import EdgesegError
from edgeseg.metadata import ArtifactMetadata

META = {"kind": "openvino-ir", "precision": "int8", "preprocess": {"mean_bgr": [1, 2, 3], "input_size": [4, 4]}, "stage": "nncf",
        "provenance": {"stage_key": "k1"}}


@pytest.fixture
def ir(tmp_path):
    ov = pytest.importorskip("openvino")
    from openvino import opset13 as ops

    from edgeseg.export.openvino_ir import write_ir

    p = ops.parameter([1, 3, 4, 4], np.float32)
    w = ops.constant(np.ones((2, 3, 1, 1), np.float32))
    model = ov.Model([ops.convolution(p, w, [1, 1], [0, 0], [0, 0], [1, 1])], [p])
    return write_ir(model, tmp_path / "m.xml", ArtifactMetadata.from_dict(META))


def test_contract_in_the_file_and_the_sidecar(ir):
    meta = metadata_dict(ir)
    assert meta["preprocess"] == META["preprocess"] and meta["bin_sha256"]
    sidecar_path(ir).unlink()
    assert metadata_dict(ir)["precision"] == "int8"  # rt_info alone still knows its contract


def test_written_as_one_set(ir):
    """The sidecar binds the .xml and its .bin (the set a stage reuses); no temporary is left behind."""
    from edgeseg.artifacts import read_artifact, sha256_file

    meta = read_artifact(ir)
    assert meta.files == {"m.bin": sha256_file(ir.with_suffix(".bin"))} and meta.sha256 == sha256_file(ir)
    assert meta.size_bytes == ir.stat().st_size + ir.with_suffix(".bin").stat().st_size
    assert sorted(p.name for p in ir.parent.iterdir()) == ["m.bin", "m.xml", "m.xml.json"]


def _damage(ir, how: str) -> None:
    weights = ir.with_suffix(".bin")
    data = weights.read_bytes()
    if how == "perturbed":
        weights.write_bytes(bytes([data[0] ^ 0xFF]) + data[1:])
    elif how == "truncated":
        weights.write_bytes(data[:len(data) // 2])
    else:  # foreign: another IR's weights of the same size
        weights.write_bytes(bytes(len(data)))


@pytest.mark.parametrize("how", ["perturbed", "truncated", "foreign"])
@pytest.mark.parametrize("with_sidecar", [True, False], ids=["sidecar", "alone"])
def test_damaged_weights_are_a_damaged_ir_not_a_stale_sidecar(ir, how, with_sidecar):
    """Issue 28 B4: a damaged .bin was called a stale sidecar (delete it, and the IR ran wrong): the
    .xml binds its .bin, so it is refused as damaged, with or without the sidecar."""
    if not with_sidecar:
        sidecar_path(ir).unlink()
    _damage(ir, how)
    with pytest.raises(EdgesegError, match="damaged OpenVINO IR: m.bin is not the file it was saved with") as err:
        metadata_dict(ir)
    assert "delete" not in str(err.value)


def test_an_edited_embedded_contract_is_refused(ir):
    """Issue 28 B4: an IR whose rt_info contract was edited (and has no sidecar) ran as is."""
    sidecar_path(ir).unlink()
    text = ir.read_text()
    assert "&quot;mean_bgr&quot;: [1, 2, 3]" in text
    ir.write_text(text.replace("&quot;mean_bgr&quot;: [1, 2, 3]", "&quot;mean_bgr&quot;: [9, 2, 3]"))
    with pytest.raises(EdgesegError, match="embedded edgeseg contract .* was edited"):
        metadata_dict(ir)


def test_the_binding_is_in_the_xml_and_the_schema_reads_it_back(ir):
    from edgeseg.artifacts import ir_metadata, read_artifact, sha256_file

    embedded = ir_metadata(ir)
    assert embedded["bin_sha256"] == sha256_file(ir.with_suffix(".bin")) and embedded["kind"] == "openvino-ir"
    typed = read_artifact(ir)
    assert typed.bin_sha256 == embedded["bin_sha256"] and typed.contract_sha256 and typed.sha256 == sha256_file(ir)
    assert ArtifactMetadata.from_dict(typed.to_dict()) == typed  # the schema round-trips an IR's metadata


def test_a_sidecar_that_disagrees_on_the_contract_is_refused(ir):
    side = json.loads(sidecar_path(ir).read_text())
    side.pop("sha256")
    side.pop("bin_sha256")
    sidecar_path(ir).write_text(json.dumps({**side, "precision": "fp32"}))
    with pytest.raises(EdgesegError, match="precision"):
        metadata_dict(ir)


def test_an_ir_opens_in_the_openvino_runner(ir):
    from edgeseg.runtime import open_runner

    with open_runner(ir, threads=1) as runner:
        assert runner.backend == "openvino"
        assert runner.infer(np.ones((1, 3, 4, 4), np.float32)).shape == (1, 2, 4, 4)


@pytest.mark.parametrize("command,said", [
    (["deepstream"], "is an OpenVINO IR: DeepStream's nvinfer runs ONNX models and TensorRT engines"),
    (["build", "-o", "x.engine"], "an OpenVINO IR, not an ONNX model; TensorRT builds from ONNX"),
])
def test_commands_that_take_no_ir_say_so(ir, command, said, capsys, monkeypatch):
    """Issue 28 E: `deepstream IR.xml` said "no edgeseg metadata" (it has); `build IR.xml` a DecodeError."""
    from edgeseg.cli.main import main

    monkeypatch.chdir(ir.parent)
    code = main([command[0], str(ir), *command[1:]])
    err = capsys.readouterr().err
    assert code == 1 and said in err and err.count("\n") == 1 and "Decode" not in err
