"""A user opens each exported quantized precision as everyone does, a plain
`onnxruntime.InferenceSession(path)` at default settings, and gets what the graph's ops define:
the same argmax as with ONNX Runtime's optimiser off, on real CamVid val images (issue 22 A).
ORT's default optimisations once corrupted these FP16-scale graphs (FP8: 15 % agreement) or
refused them (naive: QLinearConcat); benchmarks/ort_fp16_qdq_repro.py shows how."""

import numpy as np
import onnxruntime as ort
import pytest

from edgeseg.cli.main import main
from edgeseg.data.calibset import make_manifest

pytestmark = pytest.mark.slow
EXPORTS = {"int8": ["--precision", "int8"], "fp8": ["--precision", "fp8"],
           "naive": ["--precision", "int8", "--quant-preset", "naive"]}
FILES = {"int8": "s2fpn18_180x240.int8.onnx", "fp8": "s2fpn18_180x240.fp8.onnx",
         "naive": "s2fpn18_180x240.int8-minmax-pertensor-all.onnx"}
VAL_IMAGES = 8


@pytest.fixture(scope="module")
def exported(tmp_path_factory, trained_ckpt, camvid_root):
    """The three quantized exports of the trained checkpoint, in one work directory (stages shared)."""
    out = tmp_path_factory.mktemp("ortdefault")
    manifest = out / "train-16.txt"
    make_manifest(camvid_root, "camvid", "train", 16, 0, manifest)
    for args in EXPORTS.values():
        code = main(["export", str(trained_ckpt), "-o", str(out), "--input-size", "180x240", "--num-samples", "1",
                     "--calib", str(manifest), "--calib-data", str(camvid_root), "-q", *args])
        assert code == 0, args
    return {name: out / file for name, file in FILES.items()}


@pytest.fixture(scope="module")
def val_batches(exported, camvid_root):
    from edgeseg.artifacts import metadata_dict
    from edgeseg.data.contract import Preprocess
    from edgeseg.data.images import read_image

    pre = Preprocess.from_dict(metadata_dict(exported["int8"])["preprocess"])
    lines = (camvid_root / "camvid_val_list.txt").read_text().split("\n")
    step = max(1, len(lines) // VAL_IMAGES)  # spread over the val sequences
    return [pre.apply(read_image(camvid_root / ln.split()[0]))[None] for ln in lines[::step] if ln.strip()][:VAL_IMAGES]


def _argmax(session, batches):
    name = session.get_inputs()[0].name
    return np.concatenate([session.run(None, {name: b})[0].argmax(1) for b in batches])


@pytest.mark.parametrize("precision", list(EXPORTS))
def test_plain_session_agrees_with_the_unoptimised_graph(exported, val_batches, precision):
    path = str(exported[precision])
    plain = ort.InferenceSession(path, providers=["CPUExecutionProvider"])  # what a user writes
    off = ort.SessionOptions()
    off.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    unoptimised = ort.InferenceSession(path, off, providers=["CPUExecutionProvider"])
    agreement = (_argmax(plain, val_batches) == _argmax(unoptimised, val_batches)).mean()
    assert agreement >= 0.995, f"{precision}: {100 * agreement:.2f} % argmax agreement"


@pytest.mark.parametrize("precision", list(EXPORTS))
def test_our_runner_no_longer_turns_the_optimiser_off(exported, precision):
    from edgeseg.runtime.onnx_runner import OrtRunner
    from edgeseg.runtime.ort import mishandled

    import onnx

    assert mishandled(onnx.load(str(exported[precision]), load_external_data=False)) is None
    with OrtRunner(exported[precision]) as runner:
        level = runner.session.get_session_options().graph_optimization_level
    assert level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
