"""SOURCE for `edgeseg run`: a video file, an image folder or glob, a camera, or an RTSP/HTTP URL.

`open_source` checks everything a user can get wrong (missing file, not a video, camera absent,
unreachable URL, zero frames) and reads the first frame, all before a model is loaded, so a bad
source costs one line and no model load. Decoding is OpenCV's (VideoCapture over FFmpeg / V4L2);
still images go through the project's image reader. A frame that cannot be decoded comes out as
None (counted and skipped downstream), never as an exception.
"""

from __future__ import annotations

import glob as _glob
import math
import re
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import urlparse

import numpy as np

from edgeseg.data.images import IMAGE_SUFFIXES, list_images, read_image
from edgeseg.errors import EdgesegError, OptionError
from edgeseg.errors import field as f
from edgeseg.filesystem import require_utf8

URL_SCHEMES = {"rtsp": 554, "rtsps": 322, "rtmp": 1935, "http": 80, "https": 443, "udp": None, "tcp": None}
CONNECTED = {"rtsp", "rtsps", "rtmp", "http", "https", "tcp"}  # over TCP: a connect tells a dead host at once
IMAGE_FPS = 30.0  # the rate an image folder is written at unless told otherwise
MAX_BAD_IN_A_ROW = 25  # a video whose decoder fails this many frames in a row has ended


@dataclass
class Frame:
    """One decoded frame on its way through the pipeline (image None: the decoder could not read it)."""

    index: int
    image: np.ndarray | None
    captured: float  # time.perf_counter() when decoding finished
    name: str = ""


class Source:
    """Frames in order from one SOURCE; `live` sources (cameras, streams) cannot be rewound or paused."""

    kind = "source"
    live = False

    def __init__(self, spec: str):
        self.spec = spec
        self.fps = IMAGE_FPS
        self.size: tuple[int, int] | None = None  # (H, W)
        self.count: int | None = None  # frames announced by the container, when it says

    def frames(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def describe(self) -> str:
        size = f"{self.size[1]}x{self.size[0]}" if self.size else "?"
        count = f", {self.count} frames" if self.count else ""
        return f"{self.kind} {self.spec} ({size} @ {self.fps:g} fps{count})"


class CaptureSource(Source):
    """A cv2.VideoCapture: a file, a camera or a network stream."""

    def __init__(self, spec: str, capture, kind: str, live: bool, first: np.ndarray):
        import cv2

        super().__init__(spec)
        self.kind, self.live, self.cap, self._first = kind, live, capture, first
        fps = capture.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and 0 < fps < 1000 else IMAGE_FPS
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.count = count if count > 0 and not live else None
        self.size = first.shape[:2]

    def frames(self) -> Iterator[Frame]:
        """Frames in order; failed reads followed by a good one are yielded as None (a corrupt
        frame, counted), failed reads at the end are not (the container's count can overstate)."""
        first, self._first = self._first, None
        yield Frame(0, first, time.perf_counter())
        index, pending = 1, 0
        while pending < MAX_BAD_IN_A_ROW:
            ok, image = self.cap.read()
            if not ok or image is None:
                if self.live or self.count is None or index + pending >= self.count:
                    return
                pending += 1
                continue
            for _ in range(pending):
                yield Frame(index, None, time.perf_counter())
                index += 1
            pending = 0
            yield Frame(index, image, time.perf_counter())
            index += 1

    def close(self) -> None:
        self.cap.release()


class ImageSource(Source):
    """Still images in name order, read with the project's image reader (unreadable ones -> None)."""

    kind = "images"

    def __init__(self, spec: str, paths: list[Path], fps: float | None):
        super().__init__(spec)
        self.paths, self.fps, self.count = paths, fps or IMAGE_FPS, len(paths)
        first = next((im for im in (self._read(p, read_image) for p in paths) if im is not None), None)
        if first is None:
            raise EdgesegError(f"{spec}: none of its {len(paths)} images can be read")
        self.size = first.shape[:2]

    @staticmethod
    def _read(path, reader):
        try:
            return reader(path)
        except EdgesegError:
            return None

    def frames(self) -> Iterator[Frame]:
        for i, p in enumerate(self.paths):
            yield Frame(i, self._read(p, read_image), time.perf_counter(), p.name)


def check_rates(fps: float | None, timeout_s: float) -> None:
    """Refuse a frame rate or timeout that cannot mean anything (zero, negative, nan, inf), up front."""
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise OptionError(f"{f('fps')} must be a positive number of frames per second, got {fps:g}")
    if not (math.isfinite(timeout_s) and timeout_s > 0):
        raise OptionError(f"{f('timeout')} must be a positive number of seconds, got {timeout_s:g}")


def open_source(spec: str, fps: float | None = None, timeout_s: float = 5.0) -> Source:
    """The source SPEC names, opened and its first frame read; EdgesegError in one line otherwise."""
    check_rates(fps, timeout_s)
    spec = str(spec)
    scheme = m.group(1).lower() if (m := re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", spec)) else ""
    if scheme in URL_SCHEMES:
        return _open_stream(spec, scheme, timeout_s)
    if re.fullmatch(r"\d+", spec) or re.fullmatch(r"/dev/video\d+", spec):
        return _open_camera(spec)
    path = Path(spec)
    if path.is_dir():
        return ImageSource(spec, _images_in(path, spec), fps)
    if any(ch in spec for ch in "*?["):
        paths = sorted(Path(p) for p in _glob.glob(spec) if Path(p).suffix.lower() in IMAGE_SUFFIXES)
        if not paths:
            raise EdgesegError(f"{spec}: the pattern matches no images")
        return ImageSource(spec, paths, fps)
    if not path.exists():
        raise EdgesegError(f"{spec}: no such file, folder, camera or URL")
    if not path.is_file():
        raise EdgesegError(f"{spec}: not a video file, an image folder, a camera or a URL")
    return _open_file(spec)


def _images_in(folder: Path, spec: str) -> list[Path]:
    paths = list_images(folder)
    if not paths:
        raise EdgesegError(f"{spec}: the folder holds no images (zero frames)")
    return paths


def _first_frame(cap, spec: str, what: str) -> np.ndarray:
    ok, image = cap.read()
    if not ok or image is None:
        cap.release()
        raise EdgesegError(f"{spec}: {what} gives no frames (zero frames, or a format OpenCV cannot decode)")
    return image


def _open_file(spec: str) -> Source:
    import cv2

    if Path(spec).suffix.lower() in IMAGE_SUFFIXES:
        return ImageSource(spec, [Path(spec)], None)
    require_utf8(spec, "SOURCE")  # OpenCV's VideoCapture crashes (SIGSEGV) on other bytes
    cap = cv2.VideoCapture(spec, cv2.CAP_FFMPEG)
    if not cap.isOpened():
        raise EdgesegError(f"{spec}: not a video OpenCV can open (or an unsupported codec)")
    return CaptureSource(spec, cap, "video", False, _first_frame(cap, spec, "the video"))


def _open_camera(spec: str) -> Source:
    import cv2

    index = int(spec) if spec.isdigit() else int(spec.removeprefix("/dev/video"))
    device = Path(f"/dev/video{index}")
    if Path("/dev").is_dir() and not device.exists():  # Linux: no device node, no camera; nothing to probe
        raise EdgesegError(f"camera {spec}: {device} does not exist (no camera attached, or no access)")
    cap = cv2.VideoCapture(index)
    if not cap.isOpened():
        raise EdgesegError(f"camera {spec}: cannot be opened (in use, or not a capture device)")
    return CaptureSource(spec, cap, "camera", True, _first_frame(cap, spec, "the camera"))


def _open_stream(spec: str, scheme: str, timeout_s: float) -> Source:
    import cv2

    require_utf8(spec, "SOURCE")
    try:
        url = urlparse(spec)
        port = url.port or URL_SCHEMES[scheme]
    except ValueError as exc:  # "Invalid IPv6 URL", "Port out of range 0-65535"
        raise EdgesegError(f"{spec}: not a valid URL ({exc})") from None
    if scheme in CONNECTED and not url.hostname:
        raise EdgesegError(f"{spec}: the URL names no host")
    if scheme in CONNECTED and port:  # a dead host fails here in timeout_s, not after FFmpeg's own minutes
        try:
            socket.create_connection((url.hostname, port), timeout=timeout_s).close()
        except OSError as exc:
            raise EdgesegError(f"{spec}: unreachable ({url.hostname}:{port}: {exc.strerror or exc})") from None
    ms = int(timeout_s * 1000)
    timeouts = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
    quiet = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # its timeout warnings: our one line says it
    try:
        cap = cv2.VideoCapture(spec, cv2.CAP_FFMPEG, timeouts)
    finally:
        cv2.utils.logging.setLogLevel(quiet)
    if not cap.isOpened():
        raise EdgesegError(f"{spec}: the stream cannot be opened within {timeout_s:g} s")
    return CaptureSource(spec, cap, "stream", scheme not in ("http", "https") or not _is_file_url(url.path),
                         _first_frame(cap, spec, "the stream"))


def _is_file_url(path: str) -> bool:
    """An HTTP URL of a video file is finite (no drops, a count); others (MJPEG cameras) are live."""
    return Path(path).suffix.lower() in (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v")
