"""`edgeseg deepstream` and `export --deepstream` from the command line: a config path on stdout, or one line."""

import configparser
import json
import subprocess
import sys

import pytest

from edgeseg.data.contract import DatasetInfo, Preprocess


def _write(path, meta):
    """A small ONNX carrying `meta` inside and in its sidecar, as edgeseg writes them (the config needs
    only the metadata; the file decides, so both must agree)."""
    import onnx
    from onnx import TensorProto, helper

    from edgeseg.artifacts import set_onnx_metadata, sha256_file, write_sidecar

    graph = helper.make_graph([helper.make_node("Identity", ["input"], ["logits"])], "m",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 180, 240])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 3, 180, 240])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    set_onnx_metadata(model, meta)
    onnx.save(model, str(path))
    write_sidecar(path, {**meta, "sha256": sha256_file(path)})
    return path


@pytest.fixture
def artifact(tmp_path):
    camvid = DatasetInfo.named("camvid")
    meta = {"format": "edgeseg-artifact/1", "kind": "onnx", "stage": "simplified", "precision": "fp16",
            "preprocess": Preprocess.official(camvid, (180, 240)).to_dict(), "dataset": camvid.to_dict(),
            "io": {"input": {"name": "input", "dtype": "float32", "shape": [1, 3, 180, 240], "layout": "NCHW"},
                   "output": {"name": "logits", "dtype": "float32", "shape": [1, 11, 180, 240], "kind": "logits"}},
            "embedded_preprocess": False}
    (tmp_path / "models").mkdir()
    return _write(tmp_path / "models" / "m.fp16.onnx", meta)


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "edgeseg.cli.main", *map(str, args)], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


@pytest.mark.slow
def test_deepstream_writes_the_config_and_prints_its_path(artifact, tmp_path):
    out = tmp_path / "configs" / "seg.txt"
    proc = run("deepstream", artifact, "-o", out, "--threshold", "0.5", "--gie-unique-id", "3")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == str(out)
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(out)
    prop = ini["property"]
    assert prop["onnx-file"] == "../models/m.fp16.onnx"  # relative to the config, as nvinfer resolves it
    assert (prop["network-mode"], prop["segmentation-threshold"], prop["gie-unique-id"]) == ("2", "0.5", "3")
    default = run("deepstream", artifact)
    assert default.stdout.strip() == str(artifact) + ".nvinfer.txt"


@pytest.mark.slow
def test_deepstream_refusals_are_one_line(artifact, tmp_path):
    meta = json.loads((artifact.parent / "m.fp16.onnx.json").read_text())
    meta["io"]["input"].update(dtype="uint8", shape=[1, 180, 240, 3], layout="NHWC")
    meta["embedded_preprocess"] = True
    _write(artifact, meta)
    for args in (["deepstream", artifact], ["deepstream", tmp_path / "absent.onnx"]):
        proc = run(*args)
        assert proc.returncode == 1 and proc.stdout == "" and "Traceback" not in proc.stderr
        assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1
    assert "no uint8 input path" in run("deepstream", artifact).stderr
    assert not (artifact.parent / "m.fp16.onnx.nvinfer.txt").exists()


def test_export_deepstream_refuses_embedded_preprocess_before_exporting(tmp_path):
    out = tmp_path / "out"
    proc = run("export", tmp_path / "never-read.pth", "-o", out, "--embed-preprocess", "--deepstream")
    assert proc.returncode == 1 and "--deepstream with --embed-preprocess" in proc.stderr
    assert proc.stderr.count("\n") == 1 and not out.exists()
