"""The engine stage is keyed (ONNX hash + engine options + TensorRT version and GPU), reused like
the other stages, and records why it was not verified where TensorRT cannot run it.

TensorRT needs an NVIDIA GPU; here the builder is replaced by one that writes a plan-shaped
file and returns the metadata the real builder returns, so the stage's own logic is what is tested.
"""

import json

import numpy as np
import pytest

from edgeseg.artifacts import atomic_path, sha256_file
from edgeseg.errors import EdgesegError
from edgeseg.export import engine_stage
from edgeseg.export.options import export_options as options
from edgeseg.export.pipeline import run_export
from edgeseg.metadata import ArtifactMetadata
from golden import io, save_checkpoint


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("engine")
    save_checkpoint("s2fpn18", root / "c.pth")
    np.save(root / "x.npy", io("s2fpn18")[0])
    return root


@pytest.fixture
def trt(monkeypatch):
    """A TensorRT that builds but cannot run here; `target` and `builds` are the test's handles."""
    import edgeseg.engine.builder as builder
    import edgeseg.engine.flavors as flavors

    state = {"target": {"tensorrt": "10.3.0", "gpu": "Orin", "compute_capability": "8.7"}, "builds": [],
             "fail": False}

    def build_plan(onnx_path, out_path, settings, progress=True):
        if state["fail"]:
            raise EdgesegError("TensorRT could not build an engine (test)")
        options = {k: v for k, v in settings.to_dict().items() if v is not None}
        state["builds"].append(options)
        with atomic_path(out_path) as tmp:
            tmp.write_bytes(f"plan of {sha256_file(onnx_path)} {sorted(options.items())}".encode())
        return ArtifactMetadata("engine", "engine", "fp32", {}, {}, {}, {}, target=dict(state["target"]),
                                provenance={"parent": {"path": str(onnx_path)}, "options": options})

    monkeypatch.setattr(builder, "build_plan", build_plan)
    monkeypatch.setattr(flavors, "import_module", lambda kind: object())  # "installed": export options accept it
    monkeypatch.setattr(engine_stage, "built_for_here", lambda settings: dict(state["target"]))
    monkeypatch.setattr(engine_stage, "runtime_missing", lambda path: "no CUDA GPU is visible here")
    return state


def export(source, **engine):
    opts = options(input_size=(96, 128), samples=str(source / "x.npy"), num_samples=1, format="engine", **engine)
    return run_export(source / "c.pth", source / "out", opts)


@pytest.mark.slow
def test_engine_keyed_reused_and_skip_recorded(source, trt):
    result = export(source, workspace_gb=1.0)
    engine = result.stages[-1]
    assert [s.name for s in result.stages] == ["deploy", "raw", "simplified", "engine"] and not engine.reused
    assert result.final == source / "out" / "s2fpn18_96x128.fp32.engine"
    meta = json.loads((source / "out" / "s2fpn18_96x128.fp32.engine.json").read_text())
    fp32 = source / "out" / "s2fpn18_96x128.fp32.onnx"
    assert meta["provenance"]["parent"] == {"path": fp32.name, "sha256": sha256_file(fp32)}  # beside the engine
    assert meta["verification"] == {"checks": {"skipped": "no CUDA GPU is visible here"}}
    assert meta["sha256"] == sha256_file(result.final) and meta["provenance"]["stage_key"]
    assert engine.extra["checks"] == {"skipped": "no CUDA GPU is visible here"}

    assert export(source, workspace_gb=1.0).stages[-1].reused
    assert export(source, workspace_gb=1.0, timing_cache=str(source / "tc")).stages[-1].reused  # not in the key
    assert len(trt["builds"]) == 1
    assert not export(source, workspace_gb=2.0).stages[-1].reused  # an option that changes the plan
    trt["target"]["tensorrt"] = "10.4.0"
    assert not export(source, workspace_gb=2.0).stages[-1].reused  # another TensorRT
    assert len(trt["builds"]) == 3
    (source / "out" / "s2fpn18_96x128.fp32.engine.json").unlink()
    assert not export(source, workspace_gb=2.0).stages[-1].reused  # an engine without its sidecar


@pytest.mark.slow
def test_failed_build_leaves_nothing(tmp_path, source, trt):
    trt["fail"] = True
    with pytest.raises(EdgesegError, match="could not build"):
        export(source, workspace_gb=3.0)
    names = [p.name for p in (source / "out").iterdir()]
    assert not [n for n in names if n.startswith(".") and n != ".calib-cache"]
