"""edgeseg-cpp computes what edgeseg computes: on OpenVINO, the class maps of `segment` are
byte-identical to `edgeseg predict`'s, and `run`'s to `edgeseg run`'s frame for frame, for every
kind of artifact a CPU user gets (FP32, INT8, preprocessing and argmax in the graph, tuned IRs)."""

import json

import cv2
import numpy as np
import pytest

from conftest import DEMO, run_cpp
from edgeseg.bench.visualize import colorize
from edgeseg.cli.main import main
from edgeseg.data.contract import DatasetInfo
from edgeseg.video import e2e_line
from tiny import tiny_onnx
from videos import FPS, make_video, read_video, video_props

pytestmark = pytest.mark.slow
KINDS = ["fp32", "int8", "embed-argmax-uint8", "argmax-lowres", "ir-bf16-hint", "ir-nncf-int8"]
PALETTE = DatasetInfo.named("camvid").palette


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """The bundled val images, plus two at other sizes (resized by both sides, up and down)."""
    vals = sorted((DEMO / "val").glob("*.png"))
    other = tmp_path_factory.mktemp("sizes")
    image = cv2.imread(str(vals[0]))
    for name, size in (("large", (480, 360)), ("odd", (131, 97))):
        cv2.imwrite(str(other / f"{name}.png"), cv2.resize(image, size, interpolation=cv2.INTER_CUBIC))
    return vals + sorted(other.glob("*.png"))


def assert_same_pictures(cpp_dir, py_dir, images):
    for path in images:
        py_mask = cv2.imread(str(py_dir / f"{path.stem}_mask.png"))
        classes = cv2.imread(str(cpp_dir / f"{path.stem}_classes.png"), cv2.IMREAD_UNCHANGED)
        assert classes.shape == py_mask.shape[:2], path.name
        assert np.array_equal(colorize(classes, PALETTE), py_mask), f"{path.name}: class maps differ"
        for kind in ("mask", "overlay"):
            assert np.array_equal(cv2.imread(str(cpp_dir / f"{path.stem}_{kind}.png")),
                                  cv2.imread(str(py_dir / f"{path.stem}_{kind}.png"))), f"{path.name}: {kind} differs"


@pytest.mark.parametrize("kind", KINDS)
def test_segment_is_byte_identical_to_predict(edgeseg_cpp, artifacts, images, kind, tmp_path):
    model = artifacts[kind]
    proc = run_cpp(edgeseg_cpp, "segment", model, *images, "-o", tmp_path / "cpp")
    assert proc.returncode == 0, proc.stderr
    assert main(["predict", str(model), *map(str, images), "-o", str(tmp_path / "py"), "--backend", "openvino"]) == 0
    assert_same_pictures(tmp_path / "cpp", tmp_path / "py", images)


@pytest.mark.parametrize("contract", [{}, {"std_bgr": (57.4, 57.1, 58.4), "channel_order": "BGR"}],
                         ids=["official", "std-bgr"])
def test_segment_dynamic_model_runs_at_the_image_size_as_predict(edgeseg_cpp, images, contract, tmp_path):
    """No size in the contract or the graph: each image at its own size, capped to the dataset's pixels;
    a contract with std and BGR order applied as Preprocess.apply applies it."""
    model = tiny_onnx(tmp_path / "tiny.onnx", **contract)
    proc = run_cpp(edgeseg_cpp, "segment", model, *images, "-o", tmp_path / "cpp")
    assert proc.returncode == 0, proc.stderr
    assert main(["predict", str(model), *map(str, images), "-o", str(tmp_path / "py"), "--backend", "openvino"]) == 0
    assert_same_pictures(tmp_path / "cpp", tmp_path / "py", images)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """Consecutive CamVid frames, lossless (FFV1), so both decoders see the same pixels."""
    path = tmp_path_factory.mktemp("clip") / "clip.avi"
    return path, make_video(path, count=16)


def _keys(d) -> dict:
    return {k: _keys(v) if isinstance(v, dict) else None for k, v in d.items()}


@pytest.mark.parametrize("kind", ["int8", "embed-argmax-uint8"])
def test_run_equals_edgeseg_run_frame_for_frame(edgeseg_cpp, artifacts, clip, kind, tmp_path):
    video, frames = clip
    model = artifacts[kind]
    proc = run_cpp(edgeseg_cpp, "run", model, video, "-o", tmp_path / "cpp.avi", "--masks", tmp_path / "cpp-masks",
                   "--threads", 2, "--model-seconds", 0.3, "--json", tmp_path / "cpp.json")
    assert proc.returncode == 0, proc.stderr
    assert "end-to-end" in proc.stdout and "model alone" in proc.stdout
    assert main(["run", str(model), str(video), "-o", str(tmp_path / "py"), "--both", "--backend", "openvino",
                 "--threads", "2", "--model-seconds", "0.3", "--json", str(tmp_path / "py.json")]) == 0
    for i in range(len(frames)):
        name = f"{i:06d}.png"
        cpp = cv2.imread(str(tmp_path / "cpp-masks" / name), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(cpp, cv2.imread(str(tmp_path / "py" / "masks" / name), cv2.IMREAD_UNCHANGED)), name
    assert len(list((tmp_path / "cpp-masks").glob("*.png"))) == len(frames)
    cpp_props, py_props = video_props(tmp_path / "cpp.avi"), video_props(tmp_path / "py" / "overlay.avi")
    assert cpp_props == py_props == (len(frames), frames[0].shape[:2], FPS)
    assert len(read_video(tmp_path / "cpp.avi")) == len(frames)
    cpp_sum, py_sum = (json.loads((tmp_path / f"{s}.json").read_text()) for s in ("cpp", "py"))
    assert list(cpp_sum) == list(py_sum) and _keys(cpp_sum) == _keys(py_sum)
    for key in ("frames_in", "frames_out", "unreadable", "dropped", "interrupted", "live"):
        assert cpp_sum[key] == py_sum[key], key
    # Python's run takes its class maps from the runtime (an argmax appended in OpenVINO); edgeseg-cpp
    # makes them on the host. The masks above are the same bytes either way; the backend says which.
    assert py_sum["backend"].removesuffix(" class-map") == cpp_sum["backend"]
    assert cpp_sum["frames_out"] == len(frames) and cpp_sum["e2e_fps"] > 0 and cpp_sum["model_fps"] > 0
    assert e2e_line(cpp_sum) in proc.stdout.splitlines()  # the line edgeseg run prints, for its own figures

