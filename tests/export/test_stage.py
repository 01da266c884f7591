"""The stage runner: reuse only complete sets, publish the primary last, rebuild after a kill
between files, a stage's extra checks land in the sidecar and the summary, each verified size judged alone."""

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgeseg.artifacts import sidecar_path
from edgeseg.errors import EdgesegError
from edgeseg.export import stage as stage_mod
from edgeseg.export.stage import Built, Lazy, complete, run_stage
from edgeseg.export.onnx_stages import OnnxStage, run_onnx, verify_sizes

from toy_export import SIZE, Ctx


def conv_model(scale: float = 1.0):
    w = (np.random.default_rng(0).normal(size=(5, 3, 1, 1)) * scale).astype(np.float32)
    graph = helper.make_graph([helper.make_node("Conv", ["input", "w"], ["logits"])], "toy",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, *SIZE])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 5, *SIZE])],
                              [numpy_helper.from_array(w, "w")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


class Toy(OnnxStage):
    name = "toy"
    companions = (".note.txt",)

    def __init__(self, path, option="a"):
        super().__init__(path)
        self.option, self.builds = option, 0

    def options(self, ctx):
        return {"option": self.option}

    def build(self, ctx):
        self.builds += 1
        return Built(model=conv_model(), companions={".note.txt": f"built with {self.option}\n"}, extra={"n": 1})

    def checks(self, ctx, candidate):
        return {"parser": f"ok {Path(candidate).suffix}"}


def reference(ctx):
    path = ctx.out_dir / "ref.onnx"
    onnx.save(conv_model(), str(path))
    return Lazy(None, {SIZE: run_onnx(path, ctx.batches(SIZE))})


@pytest.fixture
def ctx(tmp_path):
    return Ctx(tmp_path)


def test_built_then_reused_with_its_whole_set(ctx):
    toy = Toy(ctx.out_dir / "toy.onnx")
    result, _ = run_stage(ctx, toy, reference(ctx))
    assert not result.reused and result.check.ok and result.extra == {"n": 1, "checks": {"parser": "ok .onnx"}}
    meta = json.loads(sidecar_path(toy.path).read_text())
    assert meta["verification"]["checks"] == {"parser": "ok .onnx"}
    assert set(meta["files"]) == {"toy.onnx.note.txt"}
    onnx.checker.check_model(str(toy.path), full_check=True)
    result, _ = run_stage(ctx, toy, reference(ctx))
    assert result.reused and toy.builds == 1 and result.extra["checks"] == {"parser": "ok .onnx"}
    assert sorted(p.name for p in ctx.out_dir.iterdir()) == ["ref.onnx", "toy.onnx", "toy.onnx.json",
                                                              "toy.onnx.note.txt"]


@pytest.mark.parametrize("damage", [
    lambda p: p.with_name("toy.onnx.note.txt").unlink(),  # a companion deleted
    lambda p: p.with_name("toy.onnx.note.txt").write_text("edited\n"),  # a companion replaced
    lambda p: sidecar_path(p).unlink(),  # the sidecar deleted
])
def test_an_incomplete_set_is_rebuilt(ctx, damage):
    toy = Toy(ctx.out_dir / "toy.onnx")
    run_stage(ctx, toy, reference(ctx))
    damage(toy.path)
    assert complete(toy, toy.key(ctx)) is None
    result, _ = run_stage(ctx, toy, reference(ctx))
    assert not result.reused and toy.builds == 2
    assert toy.path.with_name("toy.onnx.note.txt").read_text() == "built with a\n"
    assert complete(toy, toy.key(ctx)) is not None


@pytest.mark.parametrize("renames_before_kill", [0, 1, 2])
def test_killed_between_files_never_leaves_a_set_that_looks_complete(ctx, monkeypatch, renames_before_kill):
    """Killed while publishing a rebuild: the old primary is gone first, the new one lands last."""
    old = Toy(ctx.out_dir / "toy.onnx", "a")
    run_stage(ctx, old, reference(ctx))
    real, calls = stage_mod.os.replace, []

    def killed(src, dst):
        if len(calls) == renames_before_kill:
            raise KeyboardInterrupt  # what SIGKILL would do, minus the cleanup
        calls.append(dst)
        real(src, dst)

    monkeypatch.setattr(stage_mod.os, "replace", killed)
    new = Toy(ctx.out_dir / "toy.onnx", "b")
    with pytest.raises(KeyboardInterrupt):
        run_stage(ctx, new, reference(ctx))
    monkeypatch.undo()
    assert not new.path.exists()  # a reader finds no model rather than a model with another's files
    assert complete(new, new.key(ctx)) is None and complete(old, old.key(ctx)) is None
    result, _ = run_stage(ctx, new, reference(ctx))
    assert not result.reused and complete(new, new.key(ctx)) is not None
    assert new.path.with_name("toy.onnx.note.txt").read_text() == "built with b\n"


def test_failed_verification_publishes_nothing(ctx):
    class Wrong(Toy):
        def build(self, ctx):
            return Built(model=conv_model(scale=-1.0))

    with pytest.raises(EdgesegError, match="stage toy failed verification"):
        run_stage(ctx, Wrong(ctx.out_dir / "toy.onnx"), reference(ctx))
    assert sorted(p.name for p in ctx.out_dir.iterdir()) == ["ref.onnx"]


def test_each_size_is_judged_against_its_own_limit(tmp_path):
    """Size A has large logits (allowed |Δ| 0.1), size B small ones (allowed 1.5e-3): an error of
    0.01 at B fails even though it is below A's limit (it was once reported OK)."""
    a, b = (4, 6), (8, 12)
    ctx = Ctx(tmp_path, sizes=[a, b])
    parents = {a: [np.full((1, 5, *a), 100.0, np.float32)], b: [np.full((1, 5, *b), 0.5, np.float32)]}
    for p in parents.values():
        p[0][:, 0] += 1.0  # class 0 wins everywhere
    outputs = {a: [parents[a][0] + 0.05], b: [parents[b][0] + 0.01]}
    _, check, extra = verify_sizes(ctx, lambda batches: outputs[tuple(batches[0].shape[2:])], parents, "fp32")
    assert not check.ok and check.max_abs == pytest.approx(0.01, rel=1e-3)
    assert check.max_abs_allowed == pytest.approx(1.5e-3)
    assert extra["per_size"]["4x6"]["ok"] and not extra["per_size"]["8x12"]["ok"]
    outputs[b] = [parents[b][0] + 1e-4]
    _, check, _ = verify_sizes(ctx, lambda batches: outputs[tuple(batches[0].shape[2:])], parents, "fp32")
    assert check.ok and check.max_abs == pytest.approx(0.05, rel=1e-3)  # the size nearest its own limit
