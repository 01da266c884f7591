"""The trained CamVid checkpoint: FP32 / FP16 / dynamic / in-graph pre+post, on real val images."""

from pathlib import Path

import numpy as np
import pytest

from edgeseg.artifacts import metadata_dict
from edgeseg.data.contract import Preprocess
from edgeseg.export.options import export_options as ExportOptions
from edgeseg.export.pipeline import run_export, run_onnx, run_torch
from edgeseg.export.samples import image_paths, read_images

pytestmark = pytest.mark.slow  # exports or builds real models: the full run, not the fast tier

SIZE = (180, 240)


@pytest.fixture(scope="module")
def val_images(camvid_root):
    return read_images(image_paths(str(camvid_root / "camvid_val_list.txt")))


@pytest.fixture(scope="module")
def reference(trained_ckpt, val_images):
    """PyTorch FP32 logits of the checkpoint on all val images."""
    from edgeseg.models import load_model

    model, _ = load_model(trained_ckpt)
    pre = Preprocess.official(__import__("edgeseg.data.contract", fromlist=["DatasetInfo"]).DatasetInfo.named("camvid"), SIZE)
    batches = [pre.apply(img)[None] for img in val_images]
    return pre, batches, np.concatenate(run_torch(model, batches)).argmax(1)


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("export")


def agreement(path, batches, labels):
    out = np.concatenate(run_onnx(Path(path), batches))
    pred = out if out.ndim == 3 else out.argmax(1)
    return float((pred == labels).mean())


def test_fp32_and_fp16_agree_on_val(trained_ckpt, camvid_root, reference, work):
    _, batches, labels = reference
    fp32 = run_export(trained_ckpt, work, ExportOptions(input_size=SIZE, samples=str(camvid_root / "val"))).final
    assert agreement(fp32, batches, labels) >= 0.9999
    fp16 = run_export(trained_ckpt, work, ExportOptions(input_size=SIZE, precision="fp16")).final
    assert agreement(fp16, batches, labels) >= 0.999
    meta = metadata_dict(fp16)
    assert meta["precision"] == "fp16" and meta["preprocess"]["mean_bgr"] == [105.65775, 103.32983, 99.6254]
    assert meta["dataset"]["classes"][0] == "Sky" and meta["provenance"]["parent"]["sha256"]


def test_rerun_reuses_up_to_date_stages(trained_ckpt, work):
    result = run_export(trained_ckpt, work, ExportOptions(input_size=SIZE, precision="fp16"))
    assert [s.reused for s in result.stages[1:]] == [True, True, True]


def test_dynamic_runs_at_three_sizes(trained_ckpt, val_images, work):
    from edgeseg.models import load_model

    sizes = ((180, 240), (360, 480), (512, 1024))
    result = run_export(trained_ckpt, work, ExportOptions(dynamic=True, input_size=SIZE, verify_sizes=sizes, num_samples=1))
    assert all(s.check.ok for s in result.stages)
    model, _ = load_model(trained_ckpt)
    for size in sizes:
        pre = Preprocess(mean_bgr=(105.65775, 103.32983, 99.6254), input_size=size)
        batch = [pre.apply(val_images[0])[None]]
        labels = run_torch(model, batch)[0].argmax(1)
        assert agreement(result.final, batch, labels) >= 0.9999


def test_embedded_preprocess_and_argmax_uint8(trained_ckpt, reference, val_images, work):
    pre, _, labels = reference
    opts = ExportOptions(input_size=SIZE, embed_preprocess=True, argmax="uint8", num_samples=2)
    path = run_export(trained_ckpt, work, opts).final
    meta = metadata_dict(path)
    assert meta["embedded_preprocess"] and meta["io"]["input"]["dtype"] == "uint8"
    assert meta["io"]["output"] == {"name": "labels", "dtype": "uint8", "shape": [1, 180, 240], "kind": "labels",
                                  "tail": "argmax"}
    out = np.concatenate(run_onnx(path, [pre.resize(img)[None] for img in val_images]))
    assert out.dtype == np.uint8 and out.shape == labels.shape
    assert (out == labels).mean() >= 0.9999
