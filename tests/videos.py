"""Real videos for the `edgeseg run` tests, made from consecutive CamVid frames (no synthetic pattern).

camvid-half val (../shared) holds sequence 0016E5 at 15 frames/s, every labelled frame, so its
frames sorted by name are a real dash-cam clip; without ../shared the repository's bundled frames
(every 4th of them, same sequence, in order) stand in. Written lossless (FFV1), so the frames the
video holds are exactly the PNGs.
"""

from pathlib import Path

import cv2
import numpy as np

from edgeseg.demo import assets
from paths import CAMVID

FPS = 15.0


def camvid_frames(count: int) -> list[Path]:
    shared = sorted((CAMVID / "val").glob("0016E5_*.png"))
    frames = shared if len(shared) >= count else sorted((assets() / "val").glob("0016E5_*.png"))
    return frames[:count]


def make_video(path, count: int = 12, fps: float = FPS) -> list[np.ndarray]:
    """Write `count` consecutive CamVid frames as a lossless video; returns the frames as decoded back."""
    images = [cv2.imread(str(p)) for p in camvid_frames(count)]
    h, w = images[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*"FFV1"), fps, (w, h))
    assert writer.isOpened(), "OpenCV cannot write FFV1"
    for im in images:
        writer.write(im)
    writer.release()
    return read_video(path)


def read_video(path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames


def video_props(path) -> tuple[int, tuple[int, int], float]:
    """(frame count in the header, (H, W), fps) as OpenCV opens the file."""
    cap = cv2.VideoCapture(str(path))
    props = (int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), (int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
             int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))), float(cap.get(cv2.CAP_PROP_FPS)))
    cap.release()
    return props
