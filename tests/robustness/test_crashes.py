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

EVAL = ("--limit", "1")  # after --val ROOT:camvid_val_list.txt
ODD = os.fsdecode(b"\xff\xfe")  # bytes that are not UTF-8, as Python keeps them in a str


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_onnx(tmp_path_factory.mktemp("tiny") / "t.onnx")


# -- C1: file names that are not UTF-8 ----------------------------------------------------------
@pytest.mark.slow
def test_predict_and_eval_read_images_whose_names_are_not_utf8(tiny, tmp_path):
    demo = tmp_path / f"demo{ODD}"
    shutil.copytree(DEMO, demo, ignore=shutil.ignore_patterns("*.pth"))
    image = tmp_path / f"img{ODD}.png"
    shutil.copy(next((DEMO / "val").iterdir()), image)
    p = cli("predict", tiny, image, "-o", tmp_path / "out")
    assert p.returncode == 0, (p.returncode, p.stderr[-2000:])  # was SIGSEGV (-11 / 139) in cv2.imread
    assert len(list((tmp_path / "out").iterdir())) >= 1
    p = cli("eval", tiny, "--val", f"{demo}:camvid_val_list.txt", *EVAL)
    assert p.returncode == 0, (p.returncode, p.stderr[-2000:])


# -- C2, C5: crafted checkpoints -----------------------------------------------------------------
def test_inspect_of_a_huge_stride_0_view_finishes_at_once(tmp_path):
    torch = pytest.importorskip("torch")
    crafted = tmp_path / "crafted.pth"  # one (10^13,) tensor of stride 0 over a 1-element storage
    # a finite value: no flagged element to stop a scan early, so a walk of the view never ends
    torch.save({"model": {"seghead.fc.conv.weight": torch.zeros(1).expand(10 ** 13)}}, crafted)
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
@pytest.mark.slow
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


# -- C4: hangs --------------------------------------------------------------------------------------
@pytest.fixture
def silent_server():
    """A TCP server that accepts connections and never says a word (not a Ray head)."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held = []

    def accept():
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    server.close()
    for conn in held:
        conn.close()


@pytest.mark.slow
def test_ray_address_where_something_else_listens(tiny, silent_server):
    pytest.importorskip("ray", reason="Ray is not installed (the fleet extra)")
    refused(cli("fleet", "ls", "--ray", silent_server, timeout=60), silent_server, "is not a Ray head")
    refused(cli("eval", tiny, "--ray", silent_server, "--val", f"{DEMO}:camvid_val_list.txt", *EVAL, timeout=60), "is not a Ray head")


def test_calib_make_on_a_dataset_with_a_fifo_image(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(DEMO, data, ignore=shutil.ignore_patterns("*.pth"))
    fifo = sorted((data / "val").iterdir())[0]
    fifo.unlink()
    os.mkfifo(fifo)  # opening it would wait for a writer forever
    refused(cli("calib", "make", "--data", data, "--split", "val", "-n", "30", "-o", tmp_path / "m.txt", timeout=60),
            fifo.name, "not a regular file")
    assert not (tmp_path / "m.txt").exists()


# -- C5: non-UTF-8 list files and folders, odd dataset layouts --------------------------------------
@pytest.fixture
def odd_demo(tmp_path):
    """The demo set with one image whose name is not UTF-8, listed as such in its split list."""
    data = tmp_path / "odd"
    shutil.copytree(DEMO, data, ignore=shutil.ignore_patterns("*.pth"))
    first = sorted((data / "val").iterdir())[0]
    first.rename(first.with_name(ODD + first.name))
    lst = data / "camvid_val_list.txt"
    lst.write_bytes(lst.read_bytes().replace(b"val/" + first.name.encode(), b"val/" + os.fsencode(ODD + first.name), 1))
    return data


@pytest.mark.slow
def test_lists_that_are_not_utf8(tiny, odd_demo, tmp_path):
    p = cli("eval", tiny, "--val", f"{odd_demo}:camvid_val_list.txt", "--limit", "2")
    assert p.returncode == 0, p.stderr[-2000:]
    manifest = tmp_path / "m.txt"
    p = cli("calib", "make", "--data", odd_demo, "--split", "camvid_val_list.txt", "-n", "26", "-o", manifest)
    assert p.returncode == 0, p.stderr[-2000:]
    assert os.fsencode(ODD) in manifest.read_bytes()  # the name's bytes, written as they are
    from edgeseg.data.calibset import load_calibset

    assert len(load_calibset(manifest, odd_demo).paths) == 26  # and read back as the same files


@pytest.mark.slow
def test_export_calib_list_that_is_not_utf8(trained_ckpt, tmp_path):
    listed = tmp_path / "calib.txt"
    listed.write_bytes(b"val/\xff\xfemissing.png\n")
    refused(cli("export", trained_ckpt, "-o", tmp_path / "out", "--precision", "int8", "--calib", listed,
                "--input-size", "64x96"), "listed images do not exist", "\\xff\\xfemissing.png")


def test_calib_make_on_a_folder_whose_name_is_not_utf8(tmp_path):
    data = tmp_path / f"data{ODD}"
    shutil.copytree(DEMO, data, ignore=shutil.ignore_patterns("*.pth"))
    p = cli("calib", "make", "--data", data, "--split", "val", "-n", "3", "-o", tmp_path / "m.txt")
    assert p.returncode == 0, p.stderr[-2000:]


def test_calib_make_with_symlinked_images_and_dotdot_in_lists(tmp_path):
    real, linked = tmp_path / "real", tmp_path / "linked"
    shutil.copytree(DEMO, real, ignore=shutil.ignore_patterns("*.pth"))
    for sub in ("val", "valannot"):
        (linked / sub).mkdir(parents=True)
        for f in (real / sub).iterdir():
            (linked / sub / f.name).symlink_to(f)  # images that live in another tree
    p = cli("calib", "make", "--data", linked, "--split", "val", "-n", "3", "-o", tmp_path / "a.txt")
    assert p.returncode == 0, p.stderr[-2000:]
    lst = real / "camvid_val_list.txt"
    lst.write_text(lst.read_text().replace("val/", "valannot/../val/"))
    p = cli("calib", "make", "--data", real, "--split", "camvid_val_list.txt", "-n", "3", "-o", tmp_path / "b.txt")
    assert p.returncode == 0, p.stderr[-2000:]
    from edgeseg.data.calibset import load_calibset

    assert len(load_calibset(tmp_path / "a.txt", linked).paths) == len(load_calibset(tmp_path / "b.txt", real).paths) == 3


def test_a_damaged_calibration_range_cache_is_recalibrated(tmp_path):
    """What INT8 export reads from -o/.calib-cache before calibrating (a full INT8 export is too slow here)."""
    from edgeseg.quant import ranges

    for damage in (b"\xff\xfe\x00garbage", b'{"amax": "x"}', b'{"amax": {"t": NaN}}', b"[" * 100000):
        (tmp_path / "ranges-k.json").write_bytes(damage)
        assert ranges.load(tmp_path, "k") is None
    ranges.save(tmp_path, "k", {"t": 1.5}, {})
    assert ranges.load(tmp_path, "k") == {"t": 1.5}


# -- C5: compare, build, deepstream, eval, fleet bench of damaged inputs ----------------------------
ROW = {"path": "a.onnx", "status": "ok", "miou": 50.0, "end_to_end": {"median_ms": 1.0, "fps": 1000.0}}


@pytest.mark.parametrize("text,words", [
    ("[" * 100000 + "]" * 100000, "nested too deeply"),
    ('{"rows": [{"path": "a.onnx", "status": "ok", "miou": 50, "end_to_end": {"fps": NaN}}]}', "NaN is not a number"),
    ('{"rows": [{"path": "a.onnx", "status": "ok", "miou": 50, "end_to_end": {"fps": Infinity}}]}', "Infinity"),
    ('{"rows": [{"path": "a.onnx", "status": "ok", "miou": 50, "end_to_end": {"fps": 1e308}}]}', "end_to_end.fps must be a number"),
    ('{"rows": [], "device": {"profile": "x", "gpus": "RTX"}}', "device.gpus must be a list"),
    ('{"rows": [], "device": {"profile": "x", "is_jetson": true, "power_mode": "MAXN"}}', "device.power_mode must be an object"),
], ids=["deep", "nan", "infinity", "1e308", "gpus", "power_mode"])
def test_compare_of_damaged_results(tmp_path, text, words):
    (tmp_path / "r.json").write_text(text)
    refused(cli("compare", tmp_path / "r.json", "--plot", tmp_path / "p.png"), "r.json", words)
    assert not (tmp_path / "p.png").exists()


@pytest.mark.parametrize("content,words", [(b"", "not an ONNX model"), (b"\x0a\xff" * 100, "not a readable ONNX model")],
                         ids=["empty", "garbage"])
@pytest.mark.slow
def test_build_of_an_empty_or_garbage_onnx(tmp_path, content, words):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(content)
    refused(cli("build", bad, "-o", tmp_path / "bad.engine", "--runtime", "tensorrt-rtx"), "bad.onnx", words)


def _engine(tmp_path, change):
    import json

    from test_security import engine_beside

    engine = engine_beside(tiny_onnx(tmp_path / "m.onnx"))
    side = engine.with_name("m.engine.json")
    meta = json.loads(side.read_text())
    meta["target"] = {"runtime": "tensorrt", "tensorrt": "10.3.0.30", "gpu": "Orin", "compute_capability": "8.7"}
    change(meta)
    side.write_text(json.dumps(meta))
    return engine


@pytest.mark.parametrize("change,words", [
    (lambda m: m["io"]["output"].pop("name"), "no io.output.name"),
    (lambda m: m["io"]["input"].pop("shape"), "no io.input.shape"),
    (lambda m: m["io"].update(input="x"), "io.input must be an object"),
    (lambda m: m.update(target="x"), "target must be an object"),
    (lambda m: m.update(provenance=[]), "provenance must be an object"),
    (lambda m: m["io"]["input"].update(shape=[1, 3, [180], 240]), "io.input.shape must be a list"),
], ids=["no-output-name", "no-input-shape", "io-string", "target-string", "provenance-list", "nested-shape"])
def test_deepstream_and_eval_of_an_engine_whose_sidecar_lacks_or_mistypes_fields(tmp_path, change, words):
    engine = _engine(tmp_path, change)
    refused(cli("deepstream", engine, "-o", tmp_path / "c.txt"), words)
    from edgeseg.engine import sidecar
    from edgeseg.errors import EdgesegError

    with pytest.raises(EdgesegError, match=words.replace(".", r"\.")):
        sidecar.read(engine)  # what eval and bench read before loading the plan (TensorRT is not here)


def test_dataset_description_missing_or_damaged_in_metadata():
    """What `fleet bench --dataset folder` (and eval, bench) read from a model without our metadata
    (the fleet run itself needs a private Ray cluster: too slow for this suite)."""
    from edgeseg.data.contract import DatasetInfo
    from edgeseg.errors import EdgesegError

    for meta in (None, {}):
        with pytest.raises(EdgesegError, match="no dataset description"):
            DatasetInfo.from_dict(meta)
    with pytest.raises(EdgesegError, match="malformed dataset description"):
        DatasetInfo.from_dict({"name": "camvid"})
