"""eval and predict take class maps from the runtime where the images are the model's input size:
the same confusion matrices and masks as the host's argmax, on ONNX Runtime and OpenVINO."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from edgeseg.bench import eval_run, predictions
from edgeseg.bench.eval_run import EvalRequest, run_eval
from edgeseg.bench.visualize import palette_for
from edgeseg.runtime import installed

from tiny import tiny_camvid, tiny_onnx

BACKENDS = ["onnxruntime", "openvino"]


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGESEG_CACHE_DIR", str(tmp_path / "cache"))


def spied(monkeypatch, module):
    """The runners `module` opens, kept for the test to look at."""
    opened, real = [], module.open_runner

    def open_runner(*args, **kwargs):
        opened.append(real(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(module, "open_runner", open_runner)
    return opened


@pytest.mark.parametrize("backend", BACKENDS)
def test_eval_scores_the_runtimes_class_maps_as_the_hosts(tmp_path, monkeypatch, backend):
    if not installed(backend):
        pytest.skip(f"{backend} is not installed")
    data = tiny_camvid(tmp_path / "cv", images=4)
    model = str(tiny_onnx(tmp_path / "m.onnx", input_size=(12, 16)))  # the images' size: the runtime's maps fit
    request = EvalRequest(val=str(data), backend=backend)
    opened = spied(monkeypatch, eval_run)
    report = run_eval([model], request)
    assert opened[-1].class_map and opened[-1].io_spec.output == "labels"
    monkeypatch.setattr(eval_run, "class_map_fits", lambda *a: False)  # the host's argmax
    host = run_eval([model], request)
    assert not opened[-1].class_map
    assert report["artifacts"][0]["confusion"] == host["artifacts"][0]["confusion"]
    assert report["artifacts"][0]["miou"] == host["artifacts"][0]["miou"]
    monkeypatch.undo()
    opened = spied(monkeypatch, eval_run)
    run_eval([model], EvalRequest(val=str(data), backend=backend, resize="labels"))
    assert not opened[-1].class_map  # labels mode: the host's


@pytest.mark.parametrize("backend", BACKENDS)
def test_predict_writes_the_same_masks_from_the_runtime(tmp_path, backend):
    if not installed(backend):
        pytest.skip(f"{backend} is not installed")
    data = tiny_camvid(tmp_path / "cv", images=3)
    images = sorted((data / "val").glob("*.png"))
    fits, other = (str(tiny_onnx(tmp_path / f"{n}.onnx", input_size=s)) for n, s in (("a", (12, 16)), ("b", (24, 32))))
    runners = predictions.open_predictors([fits, other], images, backend, "cpu", None)
    assert [r.class_map for r in runners] == [True, False]  # b runs at 24x32: the host resizes its logits
    masks = {}
    for class_map in (True, False):
        runners = predictions.open_predictors([fits], images, backend, "cpu", None)
        if not class_map:
            runners = predictions.open_predictors([fits], images + [_bigger(images[0], tmp_path)], backend, "cpu", None)
        assert runners[0].class_map == class_map  # one image of another size: the host's maps for all
        out = tmp_path / f"out{class_map}"
        out.mkdir()
        with runners[0]:
            predictions.write_predictions(runners, images, out, palette_for(runners[0], None), 0.5, say=lambda _: None)
        masks[class_map] = [cv2.imread(str(out / f"{Path(p).stem}_mask.png")) for p in images]
    assert all(np.array_equal(a, b) for a, b in zip(masks[True], masks[False]))


def _bigger(image, tmp_path):
    path = tmp_path / "big" / "big.png"
    path.parent.mkdir()
    cv2.imwrite(str(path), cv2.resize(cv2.imread(str(image)), (32, 24)))
    return path
