"""Outputs: the overlay video survives a SIGKILL up to its last complete part, in .avi, .mp4 and
.mkv; it is published onto -o only at the end, never through a link; bad -o is refused early."""

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from edgeseg.errors import EdgesegError
from edgeseg.video.sinks import MAX_DRAW_SIDE, draw_size, open_video, plan_outputs
from videos import camvid_frames, read_video, video_props

needs_av = pytest.mark.skipif(not __import__("importlib").util.find_spec("av"), reason="PyAV (the video extra) "
                              "is not installed")


def test_plan_outputs(tmp_path):
    assert plan_outputs(str(tmp_path / "a.avi"), "overlay") == (tmp_path / "a.avi", None)
    assert plan_outputs(str(tmp_path / "o"), "both") == (tmp_path / "o" / "overlay.avi", tmp_path / "o" / "masks")
    assert plan_outputs(str(tmp_path / "m"), "mask") == (None, tmp_path / "m")
    with pytest.raises(EdgesegError, match="name it a.mp4"):
        plan_outputs(str(tmp_path / "a.mov"), "overlay")
    with pytest.raises(EdgesegError, match="writes a folder"):
        plan_outputs(str(tmp_path / "a.avi"), "mask")


def test_draw_size_bounds_the_longer_side_and_keeps_the_aspect():
    assert draw_size((360, 480)) == (360, 480) and draw_size((1080, 1920)) == (1080, 1920)
    assert draw_size((4320, 7680)) == (1080, 1920) and draw_size((7680, 4320)) == (1920, 1080)
    assert max(draw_size((3, 20000))) == MAX_DRAW_SIDE


def test_the_video_keeps_a_fractional_frame_rate(tmp_path):
    sink = open_video(tmp_path / "ntsc.avi", 29.97, (48, 64))
    for _ in range(3):
        sink.write(np.zeros((48, 64, 3), np.uint8))
    sink.close()
    assert video_props(tmp_path / "ntsc.avi") == (3, (48, 64), 29.97)
    assert os.listdir(tmp_path) == ["ntsc.avi"]  # the partial file was renamed, nothing left beside it


def test_a_symlink_planted_at_the_output_is_replaced_not_written_through(tmp_path):
    victim = tmp_path / "photo.jpg"
    victim.write_bytes(b"precious")
    (tmp_path / "out.avi").symlink_to(victim)
    sink = open_video(tmp_path / "out.avi", 15.0, (48, 64))
    sink.write(np.zeros((48, 64, 3), np.uint8))
    assert victim.read_bytes() == b"precious" and (tmp_path / "out.avi").is_symlink()  # untouched while running
    sink.close()
    assert victim.read_bytes() == b"precious" and not (tmp_path / "out.avi").is_symlink()
    assert len(read_video(tmp_path / "out.avi")) == 1


def test_a_failed_run_leaves_no_video(tmp_path):
    sink = open_video(tmp_path / "f.avi", 15.0, (48, 64))
    sink.write(np.zeros((48, 64, 3), np.uint8))
    sink.close(publish=False)
    assert os.listdir(tmp_path) == []


@needs_av
@pytest.mark.parametrize("name", ["x.mp4", "x.mkv"])
def test_mp4_and_mkv_hold_every_frame_for_opencv_and_pyav(tmp_path, name):
    import av
    import cv2

    images = [cv2.imread(str(p)) for p in camvid_frames(6)]
    sink = open_video(tmp_path / name, 15.0, (181, 241))  # odd sizes: cut to even for 4:2:0
    for i in range(20):
        sink.write(cv2.resize(images[i % 6], (241, 181)))
    sink.close()
    frames = read_video(tmp_path / name)
    assert len(frames) == 20 and frames[0].shape == (180, 240, 3)
    cut = cv2.resize(images[0], (241, 181))[:180, :240].astype(int)  # cut, not rescaled
    assert np.abs(frames[0].astype(int) - cut).mean() < 4  # lossy, but the same picture at the same place
    with av.open(str(tmp_path / name)) as c:
        stream = c.streams.video[0]
        assert stream.codec_context.name in ("h264", "mpeg4")
        assert sum(1 for _ in c.decode(stream)) == 20 and float(stream.average_rate) == 15.0


def _killed_writer(path, frames: int) -> None:
    """Write `frames` real frames at 15 frames/s through a sink, then SIGKILL it (no clean-up)."""
    code = textwrap.dedent(f"""
        import time, cv2
        from edgeseg.video.sinks import open_video
        from videos import camvid_frames
        images = [cv2.imread(str(p)) for p in camvid_frames(6)]
        sink = open_video({str(path)!r}, 15.0, images[0].shape[:2])
        for i in range({frames}):
            sink.write(images[i % 6])
        print("written", flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": ":".join(sys.path)})
    assert proc.stdout.readline().strip() == "written"
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_a_killed_writer_leaves_a_playable_video(tmp_path):
    """.avi, killed after 30 frames: the partial file plays all but what OpenCV still held in its
    32 KB write buffer; nothing was published under the name asked for."""
    _killed_writer(tmp_path / "k.avi", 30)
    partial = list(tmp_path.glob("k.partial-*.avi"))
    assert len(partial) == 1 and not (tmp_path / "k.avi").exists()
    frames = read_video(partial[0])
    # OpenCV's writer keeps up to 32 KB in its buffer: the newest one or two frames of this size
    assert 27 <= len(frames) <= 30 and frames[0].shape == (180, 240, 3)


@needs_av
@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_a_killed_mp4_or_mkv_writer_leaves_a_playable_video(tmp_path, suffix):
    """Killed after 50 frames (a keyframe each 15): every fragment (MP4) or cluster (Matroska) before
    the last keyframe plays: 45 frames here."""
    import av

    _killed_writer(tmp_path / f"k{suffix}", 50)
    partial = list(tmp_path.glob(f"k.partial-*{suffix}"))
    assert len(partial) == 1
    frames = read_video(partial[0])
    assert 30 <= len(frames) <= 50 and frames[0].shape == (180, 240, 3)
    with av.open(str(partial[0])) as c:
        assert sum(1 for _ in c.decode(video=0)) == len(frames)


@needs_av
def test_the_mpeg4_fallback_writes_every_frame(tmp_path, monkeypatch):
    """Where PyAV has no H.264 encoder, .mp4 is MPEG-4 Part 2 at a fixed quality."""
    import av

    import edgeseg.video.sinks as sinks

    monkeypatch.setattr(av, "codecs_available", set(av.codecs_available) - {"libx264"})
    assert sinks.video_format(tmp_path / "x.mp4") == ("mp4", "mpeg4")
    sink = open_video(tmp_path / "x.mp4", 15.0, (180, 240))
    for p in camvid_frames(6):
        sink.write(__import__("cv2").imread(str(p)))
    sink.close()
    with av.open(str(tmp_path / "x.mp4")) as c:
        assert c.streams.video[0].codec_context.name == "mpeg4" and sum(1 for _ in c.decode(video=0)) == 6


def test_mp4_without_pyav_is_refused_up_front_and_avi_still_works(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "av", None)  # import av -> ImportError, as where it is not installed
    with pytest.raises(EdgesegError, match=r"PyAV.*not installed.*edgeseg\[video\]"):
        plan_outputs(str(tmp_path / "x.mp4"), "overlay")
    assert plan_outputs(str(tmp_path / "x.avi"), "overlay") == (tmp_path / "x.avi", None)
