"""Issue 29: every kind of artifact the export and tune write reads back through the one reader
(artifacts.read_artifact) as exactly the schema record its writer built: ONNX, deploy model,
OpenVINO IR, engine sidecar."""

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgeseg.artifacts import read_artifact, sidecar_path
from edgeseg.data.contract import Preprocess
from edgeseg.export.options import ExportOptions
from edgeseg.export.stage import Built, Lazy, run_stage
from edgeseg.export.onnx_stages import OnnxStage, run_onnx
from edgeseg.metadata import KINDS, ArtifactMetadata

from toy_export import SIZE, Ctx


def conv_model():
    w = np.random.default_rng(0).normal(size=(11, 3, 1, 1)).astype(np.float32)
    graph = helper.make_graph([helper.make_node("Conv", ["input", "w"], ["logits"])], "toy",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, *SIZE])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 11, *SIZE])],
                              [numpy_helper.from_array(w, "w")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


class Toy(OnnxStage):
    name = "simplified"

    def build(self, ctx):
        return Built(model=conv_model(), extra={"n": 1})


def reads_back_as_written(path: Path) -> ArtifactMetadata:
    """The record read equals the sidecar written, and the schema round-trips it."""
    meta = read_artifact(path)
    assert meta.to_dict() == json.loads(sidecar_path(path).read_text())
    assert ArtifactMetadata.from_dict(meta.to_dict()) == meta and meta.kind in KINDS
    return meta


@pytest.fixture
def onnx_file(tmp_path):
    ctx = Ctx(tmp_path, preprocess=Preprocess(mean_bgr=(1.0, 2.0, 3.0), input_size=SIZE))
    ref = tmp_path / "ref.onnx"
    onnx.save(conv_model(), str(ref))
    result, _ = run_stage(ctx, Toy(tmp_path / "m.fp32.onnx"), Lazy(None, {SIZE: run_onnx(ref, ctx.batches(SIZE))}))
    return result.path


def test_an_onnx_stage(onnx_file):
    meta = reads_back_as_written(onnx_file)
    assert meta.kind == "onnx" and meta.preprocess["mean_bgr"] == [1.0, 2.0, 3.0] and meta.verification["ok"]


def test_the_deploy_model(tmp_path):
    pytest.importorskip("torch")
    import torch

    from edgeseg.export.deploy import Deploy

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 11, 1)

        def deploy(self):
            return self

        def forward(self, x):
            return self.conv(x)

    ctx = Ctx(tmp_path, preprocess=Preprocess(mean_bgr=(1.0, 2.0, 3.0), input_size=SIZE))
    ctx.arch.resnet34m = False
    ctx.options = ExportOptions(save_deploy=True)
    stage = Deploy(tmp_path / "m.deploy.pt", Net())
    result, _ = stage.run(ctx)
    meta = reads_back_as_written(result.path)
    assert meta.kind == "pytorch" and meta.preprocess == ctx.preprocess.to_dict() and meta.extra["params"] == 44


def test_an_openvino_ir_stage(onnx_file):
    pytest.importorskip("openvino")
    from edgeseg.export.openvino_ir import onnx_to_ir

    meta = reads_back_as_written(onnx_to_ir(onnx_file))
    assert meta.kind == "openvino-ir" and meta.bin_sha256 and meta.contract_sha256 and meta.verification["ok"]


def test_an_engine_sidecar(onnx_file):
    from edgeseg.engine import sidecar

    tensors = [{"name": "input", "mode": "input", "dtype": "float32", "shape": [1, 3, *SIZE]},
               {"name": "logits", "mode": "output", "dtype": "float32", "shape": [1, 11, *SIZE]}]
    engine = onnx_file.with_suffix(".engine")
    engine.write_bytes(b"plan")
    built_for = sidecar.BuiltFor("10.3.0", "Orin", "8.7")
    written = sidecar.build_sidecar(onnx_path=onnx_file, plan=b"plan", built_for=built_for,
                                    precision="fp32", tensors=tensors, build={"mode": "fp32"}, build_seconds=1.0,
                                    engine_path=engine)
    sidecar.write(engine, written)
    meta = reads_back_as_written(engine)
    assert meta == written and sidecar.read_engine(engine) == written
