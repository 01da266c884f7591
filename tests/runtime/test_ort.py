"""The one ONNX Runtime session helper: the runner, calibration and sensitivity all open models through it."""

import numpy as np
import onnx
import pytest

from edgeseg.runtime.onnx_runner import OrtRunner
from edgeseg.runtime.ort import run_cpu, session
from tiny import tiny_onnx


def test_path_bytes_and_proto_give_the_same_session(tmp_path):
    path = tiny_onnx(tmp_path / "a.onnx")
    proto = onnx.load(str(path))
    batch = np.random.default_rng(0).normal(size=(1, 3, 8, 10)).astype(np.float32)
    outs = [session(m).run(None, {"input": batch})[0] for m in (path, str(path), proto, proto.SerializeToString())]
    assert outs[0].shape == (1, 11, 8, 10)
    for o in outs[1:]:
        np.testing.assert_array_equal(o, outs[0])
    expected = np.einsum("kc,nchw->nkhw", onnx.numpy_helper.to_array(proto.graph.initializer[0])[:, :, 0, 0], batch)
    np.testing.assert_allclose(run_cpu(proto, [batch, batch])[1], expected, rtol=1e-5, atol=1e-5)


def test_settings_reach_onnx_runtime(tmp_path):
    path = tiny_onnx(tmp_path / "a.onnx")
    opts = session(path, threads=2, memory_arena=False).get_session_options()
    assert opts.intra_op_num_threads == 2 and not opts.enable_cpu_mem_arena and opts.log_severity_level == 3
    opts = session(path).get_session_options()
    assert opts.intra_op_num_threads == 0 and opts.enable_cpu_mem_arena


def test_the_runner_opens_through_it(tmp_path, monkeypatch):
    import edgeseg.runtime.onnx_runner as module

    seen = []
    monkeypatch.setattr(module, "session", lambda *a, **k: seen.append((a, k)) or session(*a, **k))
    with OrtRunner(tiny_onnx(tmp_path / "a.onnx"), threads=1) as runner:
        assert runner.infer(np.zeros((1, 3, 4, 4), np.float32)).shape == (1, 11, 4, 4)
    assert seen == [((str(tmp_path / "a.onnx"), ["CPUExecutionProvider"]), {"threads": 1})]


def test_a_broken_file_is_still_one_line(tmp_path):
    (tmp_path / "x.onnx").write_bytes(b"not a model")
    from edgeseg.errors import EdgesegError

    with pytest.raises(EdgesegError, match="ONNX Runtime cannot load it"):
        OrtRunner(tmp_path / "x.onnx").activate()
