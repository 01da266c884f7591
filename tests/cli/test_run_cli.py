"""`edgeseg run` end to end on a real CamVid clip: predict's class maps, frame counts, a playable
video after Ctrl-C, and one-line refusals before any model is loaded."""

import json
import os
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from edgeseg.bench.visualize import colorize
from edgeseg.cli.main import main
from edgeseg.data.contract import DatasetInfo
from tiny import tiny_onnx
from videos import FPS, make_video, read_video, video_props


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    root = tmp_path_factory.mktemp("runclip")
    return root / "clip.avi", make_video(root / "clip.avi", count=8), tiny_onnx(root / "tiny.onnx")


def test_run_writes_predicts_class_maps_and_the_input_video_shape(clip, tmp_path, capsys):
    video, frames, model = clip
    code = main(["run", str(model), str(video), "-o", str(tmp_path / "out"), "--both", "--backend", "onnxruntime",
                 "--model-seconds", "0.2", "--json", str(tmp_path / "run.json")])
    out = capsys.readouterr().out
    assert code == 0 and "end-to-end" in out and "model alone" in out and "postprocess" in out
    # predict, as users run it, on the frames the video holds
    (tmp_path / "frames").mkdir()
    for i, f in enumerate(frames):
        cv2.imwrite(str(tmp_path / "frames" / f"f{i:02d}.png"), f)
    assert main(["predict", str(model), str(tmp_path / "frames"), "-o", str(tmp_path / "pred"),
                 "--backend", "onnxruntime"]) == 0
    palette = DatasetInfo.named("camvid").palette
    for i in range(len(frames)):
        labels = cv2.imread(str(tmp_path / "out" / "masks" / f"{i:06d}.png"), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(colorize(labels, palette), cv2.imread(str(tmp_path / "pred" / f"f{i:02d}_mask.png")))
    summary = json.loads((tmp_path / "run.json").read_text())
    assert summary["frames_in"] == summary["frames_out"] == len(frames) == 8
    # model-only figures of both modes, labelled; end to end compared with the one of its own mode
    model = summary["model"]
    assert (model["sync"]["mode"], model["async"]["mode"], summary["e2e_mode"]) == ("sync", "async", "async")
    assert model["async"]["requests"] == summary["requests"] and model["sync"]["requests"] == 1
    assert summary["model_fps"] == model["async"]["fps"] and "in flight (" in out and "one at a time" in out
    assert video_props(tmp_path / "out" / "overlay.avi") == (8, (180, 240), FPS)


def test_bad_sources_are_refused_before_the_model_is_loaded(tmp_path, capsys):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")  # loading it would fail: the source must be refused first
    (tmp_path / "empty").mkdir()
    (tmp_path / "text.avi").write_text("hello")
    for source, words in ((tmp_path / "nope.mp4", "no such file"), (tmp_path / "text.avi", "not a video"),
                          (tmp_path / "empty", "zero frames"), ("/dev/video98", "does not exist"),
                          ("rtsp://127.0.0.1:9/cam", "unreachable")):
        code = main(["run", str(broken), str(source), "--timeout", "1"])
        err = capsys.readouterr().err
        assert code == 1 and words in err and err.count("\n") == 1, err


@pytest.mark.slow
def test_ctrl_c_ends_with_a_playable_video(clip, tmp_path):
    """--realtime paces the file at 15 frames/s, so SIGINT lands mid-run; the video holds every frame written."""
    video, _, model = clip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-m", "edgeseg.cli.main", "run", str(model), str(video), "-o",
                             str(tmp_path / "o.avi"), "--realtime", "--backend", "onnxruntime", "--model-seconds", "0",
                             "--json", str(tmp_path / "s.json")], env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not list(tmp_path.glob("o.partial-*.avi")) and time.time() < deadline:  # renamed onto o.avi at the end
        time.sleep(0.05)
    time.sleep(0.25)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    summary = json.loads((tmp_path / "s.json").read_text())
    assert proc.returncode == 130 and summary["interrupted"], err
    assert len(read_video(tmp_path / "o.avi")) == summary["frames_out"] >= 1
    assert video_props(tmp_path / "o.avi")[0] == summary["frames_out"]  # closed properly: the index is there
    assert not list(tmp_path.glob("o.partial-*"))


def _frames_in(path) -> tuple[int, int]:
    """(frames OpenCV reads, frames PyAV decodes): two independent demuxers (ffprobe's own library)."""
    import av

    with av.open(str(path)) as c:
        decoded = sum(1 for _ in c.decode(video=0))
    return len(read_video(path)), decoded


@pytest.mark.skipif(not __import__("importlib").util.find_spec("av"), reason="PyAV (the video extra) is not installed")
def test_run_writes_mp4_with_every_frame(clip, tmp_path):
    video, frames, model = clip
    assert main(["run", str(model), str(video), "-o", str(tmp_path / "x.mp4"), "--backend", "onnxruntime",
                 "--model-seconds", "0"]) == 0
    assert _frames_in(tmp_path / "x.mp4") == (len(frames), len(frames))


@pytest.mark.slow
@pytest.mark.skipif(not __import__("importlib").util.find_spec("av"), reason="PyAV (the video extra) is not installed")
def test_a_killed_mp4_run_leaves_a_playable_partial_file(tmp_path):
    """SIGKILL mid-run (--realtime paces 45 frames at 15 frames/s): the partial MP4 beside -o plays,
    in both demuxers, every fragment finished before the kill (a fragment a second)."""
    model = tiny_onnx(tmp_path / "tiny.onnx")
    make_video(tmp_path / "in.avi", count=45)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-m", "edgeseg.cli.main", "run", str(model), str(tmp_path / "in.avi"),
                             "-o", str(tmp_path / "x.mp4"), "--realtime", "--backend", "onnxruntime",
                             "--model-seconds", "0"], env=env, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while not list(tmp_path.glob("x.partial-*.mp4")) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(1.8)  # past the first keyframe interval (15 frames), well before the 45th frame
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = list(tmp_path.glob("x.partial-*.mp4"))
    assert len(partial) == 1 and not (tmp_path / "x.mp4").exists()
    opencv, pyav = _frames_in(partial[0])
    assert opencv == pyav and 15 <= opencv < 45
