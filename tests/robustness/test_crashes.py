"""Crashes, hangs and tracebacks (issue 22 part C) through the real CLI: each case ends in one
`error:` line (or works), within seconds."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from cliproc import DEMO, cli, refused
from paths import REPO
from tiny import tiny_onnx

EVAL = ("--split", "camvid_val_list.txt", "--limit", "1")
ODD = os.fsdecode(b"\xff\xfe")  # bytes that are not UTF-8, as Python keeps them in a str


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_onnx(tmp_path_factory.mktemp("tiny") / "t.onnx")


# -- C1: file names that are not UTF-8 ----------------------------------------------------------
def test_predict_and_eval_read_images_whose_names_are_not_utf8(tiny, tmp_path):
    demo = tmp_path / f"demo{ODD}"
    shutil.copytree(DEMO, demo, ignore=shutil.ignore_patterns("*.pth"))
    image = tmp_path / f"img{ODD}.png"
    shutil.copy(next((DEMO / "val").iterdir()), image)
    p = cli("predict", tiny, image, "-o", tmp_path / "out")
    assert p.returncode == 0, (p.returncode, p.stderr[-2000:])  # was SIGSEGV (-11 / 139) in cv2.imread
    assert len(list((tmp_path / "out").iterdir())) >= 1
    p = cli("eval", tiny, "--data", demo, *EVAL)
    assert p.returncode == 0, (p.returncode, p.stderr[-2000:])


# -- C2, C5: crafted checkpoints -----------------------------------------------------------------
def test_inspect_of_a_huge_stride_0_view_finishes_at_once(tmp_path):
    torch = pytest.importorskip("torch")
    crafted = tmp_path / "crafted.pth"  # one (10^13,) tensor of stride 0 over a 1-element storage
    torch.save({"model": {"seghead.fc.conv.weight": torch.tensor([float("nan")]).expand(10 ** 13)}}, crafted)
    assert crafted.stat().st_size < 2000
    refused(cli("inspect", crafted, timeout=60), "crafted.pth", "has shape (10000000000000,)")


def test_nan_scan_sees_exactly_the_elements_a_view_refers_to():
    import numpy as np

    from edgeseg.models.pth import StoredTensor, _any_touched

    flags = np.zeros(100, bool)
    flags[7] = True
    def view(shape, stride, offset=0):
        return _any_touched(flags, StoredTensor("float32", shape, stride, offset, "r"))
    assert view((10 ** 13,), (0,), 7) and not view((10 ** 13,), (0,), 6)  # stride 0: one element
    assert view((3, 4), (4, 1)) and not view((3, 3), (4, 1))  # 7 = row 1, col 3: outside a 3x3 window
    assert view((30, 40), (1, 1), 0) and not view((30, 40), (1, 1), 8)  # overlapping: 1200 entries, elements 0..68 / 8..76
    assert view((50, 50), (2, 2), 1) and not view((50, 50), (2, 2), 0)  # odd offsets only / even only
    assert not view((2, 2), (5, 1), 0) and view((2, 3), (5, 1), 5)  # {0,1,5,6} misses 7; {5,6,7,10,11,12}


def test_inspect_of_a_0d_classifier_weight(tmp_path):
    torch = pytest.importorskip("torch")
    bad = tmp_path / "scalar.pth"
    torch.save({"model": {"seghead.fc.conv.weight": torch.tensor(1.0)}}, bad)
    refused(cli("inspect", bad), "seghead.fc.conv.weight has shape ()")


# -- C3: Ctrl-C during `edgeseg build` -------------------------------------------------------------
def deep_onnx(path, layers: int = 400, width: int = 32):
    """A plain conv stack with our metadata, big enough that TensorRT-RTX builds it for seconds."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from edgeseg.artifacts import set_onnx_metadata, write_sidecar
    from edgeseg.data.contract import DatasetInfo, Preprocess

    rng = np.random.default_rng(0)
    nodes, weights, prev, ch = [], [], "input", 3
    for i in range(layers):
        weights.append(numpy_helper.from_array((rng.normal(size=(width, ch, 3, 3)) * 0.1).astype(np.float32), f"w{i}"))
        nodes += [helper.make_node("Conv", [prev, f"w{i}"], [f"c{i}"], pads=[1, 1, 1, 1]),
                  helper.make_node("Relu", [f"c{i}"], [f"r{i}"])]
        prev, ch = f"r{i}", width
    weights.append(numpy_helper.from_array(rng.normal(size=(11, ch, 1, 1)).astype(np.float32), "wo"))
    nodes.append(helper.make_node("Conv", [prev, "wo"], ["logits"]))
    graph = helper.make_graph(nodes, "deep", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 180, 240])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 11, 180, 240])], weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    info = DatasetInfo.named("camvid")
    meta = {"precision": "fp32", "preprocess": Preprocess(mean_bgr=info.mean_bgr).to_dict(),
            "dataset": info.to_dict(), "embedded_preprocess": False}
    set_onnx_metadata(model, meta)
    onnx.save(model, str(path))
    write_sidecar(path, meta)
    return path


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("tensorrt_rtx") is None,
                    reason="TensorRT-RTX is not installed (it builds on the CPU): pip install 'edgeseg[rtx]'")
def test_ctrl_c_during_build_interrupts_it(tmp_path):
    onnx_path, engine = deep_onnx(tmp_path / "deep.onnx"), tmp_path / "deep.engine"
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    proc = subprocess.Popen([sys.executable, "-m", "edgeseg.cli.main", "build", onnx_path, "-o", engine,
                             "--runtime", "tensorrt-rtx"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    seen = []
    for line in proc.stderr:  # in a log, the builder's phases are lines: interrupt once it builds
        seen.append(line)
        if "Building engine" in line:
            time.sleep(0.5)
            proc.send_signal(signal.SIGINT)
            break
    out, err = proc.communicate(timeout=120)
    p = subprocess.CompletedProcess(proc.args, proc.returncode, out, "".join(seen) + err)
    assert "built in" not in p.stderr, p.stderr[-2000:]  # was: the build went on, exit 0
    refused(p, "interrupted", code=130)
    assert sorted(x.name for x in tmp_path.iterdir()) == ["deep.onnx", "deep.onnx.json"]  # no engine, no temporary
