"""Outputs: the overlay video survives a SIGKILL up to the last frame written; bad -o is refused early."""

import signal
import subprocess
import sys
import textwrap

import pytest

from edgeseg.errors import EdgesegError
from edgeseg.video.sinks import plan_outputs
from videos import read_video


def test_plan_outputs(tmp_path):
    assert plan_outputs(str(tmp_path / "a.avi"), "overlay") == (tmp_path / "a.avi", None)
    assert plan_outputs(str(tmp_path / "o"), "both") == (tmp_path / "o" / "overlay.avi", tmp_path / "o" / "masks")
    assert plan_outputs(str(tmp_path / "m"), "mask") == (None, tmp_path / "m")
    with pytest.raises(EdgesegError, match="Motion-JPEG .avi"):
        plan_outputs(str(tmp_path / "a.mp4"), "overlay")
    with pytest.raises(EdgesegError, match="writes a folder"):
        plan_outputs(str(tmp_path / "a.avi"), "mask")


def test_the_video_keeps_a_fractional_frame_rate(tmp_path):
    import numpy as np

    from edgeseg.video.sinks import VideoSink
    from videos import video_props

    sink = VideoSink(tmp_path / "ntsc.avi", 29.97, (48, 64))
    for _ in range(3):
        sink.write(np.zeros((48, 64, 3), np.uint8))
    sink.close()
    assert video_props(tmp_path / "ntsc.avi") == (3, (48, 64), 29.97)


def test_a_killed_writer_leaves_a_playable_video(tmp_path):
    """The writer is killed (SIGKILL: no clean-up at all) after 30 frames: the file plays all but
    what OpenCV still held in its write buffer."""
    code = textwrap.dedent(f"""
        import sys, time, cv2
        from edgeseg.video.sinks import VideoSink
        from videos import camvid_frames
        images = [cv2.imread(str(p)) for p in camvid_frames(6)]
        sink = VideoSink({str(tmp_path / 'k.avi')!r}, 15.0, images[0].shape[:2])
        for i in range(30):
            sink.write(images[i % 6])
        print("written", flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            env={**__import__("os").environ, "PYTHONPATH": ":".join(sys.path)})
    assert proc.stdout.readline().strip() == "written"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    frames = read_video(tmp_path / "k.avi")
    # OpenCV's writer keeps up to 32 KB in its buffer: the newest one or two frames of this size
    assert 27 <= len(frames) <= 30 and frames[0].shape == (180, 240, 3)
