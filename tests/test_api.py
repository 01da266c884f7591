"""The Python API (docs/python.md): stable names from `edgeseg`, an artifact loaded with its contract,
images and arrays segmented as `predict` does, and a clip streamed with `run`'s class maps."""

import cv2
import numpy as np
import pytest

import edgeseg
from edgeseg.cli.main import main
from edgeseg.data.contract import DatasetInfo
from tiny import tiny_onnx
from videos import make_video


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    root = tmp_path_factory.mktemp("apiclip")
    return root / "clip.avi", make_video(root / "clip.avi", count=6), tiny_onnx(root / "tiny.onnx")


def test_stable_names():
    assert {"load", "Model", "Segmentation", "FrameResult", "export_checkpoint", "tune_checkpoint",
            "EdgesegError"} <= set(edgeseg.__all__)
    with pytest.raises(AttributeError):
        edgeseg.no_such_name  # noqa: B018


def test_load_carries_the_contract_and_segments_arrays_and_paths(clip, tmp_path):
    _, frames, model = clip
    with edgeseg.load(model, backend="onnxruntime") as m:
        assert m.classes == list(DatasetInfo.named("camvid").classes)
        assert m.contract["preprocess"]["mean_bgr"] == list(DatasetInfo.named("camvid").mean_bgr)
        seg = m.segment(frames[0])
        assert seg.labels.shape == frames[0].shape[:2] and seg.overlay.shape == frames[0].shape
        cv2.imwrite(str(tmp_path / "f.png"), frames[0])
        assert np.array_equal(m.segment(tmp_path / "f.png").labels, seg.labels)
        with pytest.raises(edgeseg.EdgesegError, match="BGR uint8"):
            m.segment(frames[0].astype(np.float32))


def test_stream_gives_runs_class_maps_frame_for_frame(clip, tmp_path):
    video, frames, model = clip
    assert main(["run", str(model), str(video), "--mask", "-o", str(tmp_path / "masks"), "--backend", "onnxruntime",
                 "--model-seconds", "0"]) == 0
    written = sorted((tmp_path / "masks").glob("*.png"))
    with edgeseg.load(model, backend="onnxruntime") as m:
        results = list(m.stream(video))
    assert len(results) == len(written) == len(frames)
    for r, png in zip(results, written):
        assert np.array_equal(r.labels, cv2.imread(str(png), cv2.IMREAD_UNCHANGED)), png.name
        assert r.overlay.shape == r.image.shape and r.timings["infer"] >= 0 and r.timings["latency_ms"] > 0


def test_leaving_a_stream_early_stops_it(clip):
    video, _, model = clip
    with edgeseg.load(model, backend="onnxruntime") as m:
        for r in m.stream(video):
            break
        assert r.labels is not None
        assert len(list(m.stream(video, max_frames=2))) == 2  # the runner is free for the next stream


def test_bad_source_is_one_error(clip, tmp_path):
    _, _, model = clip
    with edgeseg.load(model, backend="onnxruntime") as m, pytest.raises(edgeseg.EdgesegError):
        next(m.stream(tmp_path / "missing.mp4"))
