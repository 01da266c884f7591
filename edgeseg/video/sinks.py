"""Where `edgeseg run` puts its results: an overlay video and/or a folder of class-map PNGs.

The video is Motion-JPEG in an AVI, written by OpenCV's own MJPEG writer: every frame is a
complete JPEG appended to the file as it comes, so a run that is killed leaves a file FFmpeg and
OpenCV play up to the last frame that left OpenCV's 32 KB write buffer (the index, written on
close, is missing; players rebuild it). A Ctrl-C closes it properly, every frame in it.
Fractional frame rates (29.97) go through FFmpeg's AVI writer instead, which keeps the rate
exactly but holds up to 256 KB before writing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgeseg.bench.visualize import write_png
from edgeseg.errors import EdgesegError
from edgeseg.filesystem import check_out_dir, check_out_file

OUTPUTS = ("overlay", "mask", "both")
VIDEO_SUFFIX = ".avi"


def plan_outputs(out: str | None, what: str) -> tuple[Path | None, Path | None]:
    """(video path, mask folder) for `-o OUT` and --overlay/--mask/--both, checked before any work.

    --overlay: OUT is FILE.avi (or a folder, which gets overlay.avi); --mask: OUT is a folder of
    class-map PNGs; --both: OUT is a folder with overlay.avi and masks/.
    """
    if what not in OUTPUTS:
        raise EdgesegError(f"unknown output {what!r}; choose one of {', '.join(OUTPUTS)}")
    if out is None:
        return None, None
    path = Path(out)
    if what == "overlay" and path.suffix:
        if path.suffix.lower() != VIDEO_SUFFIX:
            raise EdgesegError(f"-o {out}: the overlay video is written as Motion-JPEG .avi (playable even after a "
                               f"crash); name it {path.with_suffix(VIDEO_SUFFIX).name}")
        check_out_file(path, "-o")
        return path, None
    if path.suffix.lower() == VIDEO_SUFFIX:
        raise EdgesegError(f"-o {out}: --{what} writes a folder; give a folder name")
    check_out_dir(path)
    return (path / "overlay.avi" if what != "mask" else None), (path / "masks" if what == "both" else
                                                               path if what == "mask" else None)


class VideoSink:
    """The overlay video at the input's frame rate and size (frames of another size are resized)."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int]):
        import cv2

        self.path, self.size = Path(path), tuple(size)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        h, w = self.size
        # OpenCV's own writer stores whole frame rates only (29.97 would become 30): FFmpeg's
        # keeps the exact rate, at the cost of a larger write buffer lost on a kill.
        api = cv2.CAP_OPENCV_MJPEG if float(fps).is_integer() else cv2.CAP_FFMPEG
        self.writer = cv2.VideoWriter(str(self.path), api, cv2.VideoWriter_fourcc(*"MJPG"), float(fps), (w, h))
        if not self.writer.isOpened():
            raise EdgesegError(f"{self.path}: OpenCV cannot write a Motion-JPEG video there")
        self.frames = 0

    def write(self, image_bgr: np.ndarray) -> None:
        import cv2

        if image_bgr.shape[:2] != self.size:
            image_bgr = cv2.resize(image_bgr, (self.size[1], self.size[0]), interpolation=cv2.INTER_LINEAR)
        self.writer.write(image_bgr)
        self.frames += 1

    def close(self) -> None:
        self.writer.release()


class MaskSink:
    """One 8-bit PNG of class ids per frame, NNNNNN.png by frame index (each written atomically)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.frames = 0

    def write(self, index: int, labels: np.ndarray) -> None:
        if labels.max(initial=0) > 255:
            raise EdgesegError(f"class id {int(labels.max())} does not fit an 8-bit class-map PNG")
        write_png(self.folder / f"{index:06d}.png", labels.astype(np.uint8))
        self.frames += 1

    def close(self) -> None:
        pass


def mask_path(folder, index: int) -> Path:
    return Path(folder) / f"{index:06d}.png"
