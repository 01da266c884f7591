"""Where `edgeseg run` puts its results: an overlay video and/or a folder of class-map PNGs.

The video is written to a visible partial file beside `-o` (`NAME.partial-PID-TOKEN.SUFFIX`,
created exclusively, never through a link) and renamed onto `-o` when the run ends (a Ctrl-C
too): a run never writes through a symlink planted at `-o`, never leaves half a video under the
name asked for, and a SIGKILL leaves the partial file, playable up to its last complete part.
The container follows the suffix:
- `.avi`: Motion-JPEG by OpenCV's own writer, every frame a complete JPEG appended as it comes
  (a kill loses what was still in OpenCV's 32 KB buffer). Fractional rates (29.97) go through
  FFmpeg's AVI writer, which keeps the rate exactly but holds up to 256 KB before writing.
- `.mp4`: fragmented MP4 through PyAV (a fragment per keyframe, one a second, each complete on
  disk), H.264 where an encoder is present, else MPEG-4 Part 2. `.mkv`: Matroska, same codecs.
  Both need the `video` extra (`pip install 'edgeseg[video]'`).
Frames are written at the size `draw_size` gives (the source's, bounded), in even sizes for
H.264/MPEG-4 (a last odd row or column is cut).
"""

from __future__ import annotations

import os
import secrets
from fractions import Fraction
from pathlib import Path

import numpy as np

from edgeseg.bench.visualize import write_png
from edgeseg.data.images import IMAGE_SUFFIXES
from edgeseg.errors import EdgesegError, OptionError
from edgeseg.errors import field as f
from edgeseg.filesystem import check_out_dir, check_out_file, describe_os_error, require_utf8

OUTPUTS = ("overlay", "mask", "both")
VIDEO_SUFFIXES = (".avi", ".mp4", ".mkv")
MAX_DRAW_SIDE = 1920  # overlays (and class maps) of larger frames are drawn with this longer side


def draw_size(size: tuple[int, int]) -> tuple[int, int]:
    """(H, W) the overlay is drawn and written at: the frame's own, or scaled down (aspect kept) so its
    longer side is MAX_DRAW_SIDE. An 8K frame through a 180x240 model gains nothing from an
    8K overlay but GBs of memory and seconds of drawing per frame."""
    h, w = size
    scale = MAX_DRAW_SIDE / max(h, w)
    return (h, w) if scale >= 1 else (max(1, round(h * scale)), max(1, round(w * scale)))


def plan_outputs(out: str | None, what: str, source: str | None = None,
                 json_out: str | None = None) -> tuple[Path | None, Path | None]:
    """(video path, mask folder) for `-o OUT` and --overlay/--mask/--both, checked before any work.

    --overlay: OUT is FILE.avi|.mp4|.mkv (or a folder, which gets overlay.avi); --mask: OUT is a
    folder of class-map PNGs; --both: OUT is a folder with overlay.avi and masks/. An output that
    is the SOURCE (or the image folder it reads), or the same file as `--json`, is refused.
    """
    if what not in OUTPUTS:
        raise EdgesegError(f"unknown output {what!r}; choose one of {', '.join(OUTPUTS)}")
    if out is None:
        _refuse_clobbering(None, None, source, json_out)
        return None, None
    path = Path(out)
    require_utf8(path, "-o")
    if what == "overlay" and path.suffix:
        if path.suffix.lower() not in VIDEO_SUFFIXES:
            raise EdgesegError(f"-o {out}: the overlay video is .avi (Motion-JPEG), .mp4 or .mkv (H.264); "
                               f"name it {path.with_suffix('.mp4').name}")
        check_out_file(path, "-o")
        video_format(path)  # .mp4/.mkv without PyAV: refused now, not after the model loads
        video, masks = path, None
    else:
        if path.suffix.lower() in VIDEO_SUFFIXES:
            raise EdgesegError(f"-o {out}: --{what} writes a folder; give a folder name")
        check_out_dir(path)
        video = path / "overlay.avi" if what != "mask" else None
        masks = path / "masks" if what == "both" else path if what == "mask" else None
    _refuse_clobbering(video, masks, source, json_out)
    return video, masks


def _same(a: Path, b: Path) -> bool:
    """Whether writing `a` would replace or write into `b` (one file or folder, through links too)."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.realpath(a) == os.path.realpath(b)


def _refuse_clobbering(video: Path | None, masks: Path | None, source: str | None, json_out: str | None) -> None:
    src = Path(source) if source and "://" not in source else None
    images = None  # the folder whose images SOURCE reads (a folder, a glob's folder, an image's folder)
    if src is not None and any(ch in str(src) for ch in "*?["):
        src = images = src.parent
    elif src is not None and (src.is_dir() or src.suffix.lower() in IMAGE_SUFFIXES):
        images = src if src.is_dir() else src.parent
    if video is not None and src is not None and _same(video, src):
        raise EdgesegError(f"-o {video}: that is the SOURCE video; writing it would destroy the input. "
                           "Give another name")
    if masks is not None and images is not None and _same(masks, images):
        raise EdgesegError(f"-o {masks}: that is the SOURCE image folder; the class maps would mix with (and "
                           "replace) its images. Give another folder")
    if json_out is not None and video is not None and _same(Path(json_out), video):
        raise OptionError(f"{f('json_out')} {json_out}: the same file as the overlay video (-o); give another name")
    if json_out is not None and src is not None and _same(Path(json_out), src):
        raise OptionError(f"{f('json_out')} {json_out}: that is the SOURCE; writing it would destroy the input")


def video_format(path) -> tuple[str, str]:
    """(container, codec) the video at PATH is written with; .mp4/.mkv need PyAV."""
    suffix = Path(path).suffix.lower()
    if suffix == ".avi":
        return "avi", "mjpeg"
    try:
        import av
    except ImportError:
        raise EdgesegError(f"-o {path}: {suffix} is written through PyAV, which is not installed "
                           "(pip install 'edgeseg[video]'); or name it .avi (Motion-JPEG)") from None
    codec = next((c for c in ("libx264", "mpeg4") if c in av.codecs_available), None)
    if codec is None:
        raise EdgesegError(f"-o {path}: this PyAV has neither an H.264 nor an MPEG-4 encoder; name it .avi")
    return {".mp4": "mp4", ".mkv": "matroska"}[suffix], codec


def _partial(path: Path) -> Path:
    """A new, empty, visible file beside PATH for the video in progress (exclusive, links not followed)."""
    for _ in range(100):
        partial = path.with_name(f"{path.stem}.partial-{os.getpid()}-{secrets.token_hex(3)}{path.suffix}")
        try:
            os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666))
            return partial
        except FileExistsError:
            continue
        except OSError as exc:
            raise EdgesegError(f"-o: cannot write {describe_os_error(exc, path)}") from None
    raise EdgesegError(f"{path.parent}: cannot create a file for the video")


class VideoSink:
    """The overlay video at the input's frame rate and the draw size; published on `close()`."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int]):
        self.path, self.frames = Path(path), 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.size = tuple(size)
        self.partial = _partial(self.path)
        try:
            self._open(float(fps))
        except BaseException:
            self.partial.unlink(missing_ok=True)
            raise

    def _open(self, fps: float) -> None:
        raise NotImplementedError

    def write(self, image_bgr: np.ndarray) -> None:
        import cv2

        (h, w), (ih, iw) = self.size, image_bgr.shape[:2]
        if 0 <= ih - h <= 1 and 0 <= iw - w <= 1:  # the same, or an odd last row/column cut for 4:2:0
            image_bgr = image_bgr[:h, :w]
        else:
            image_bgr = cv2.resize(image_bgr, (w, h), interpolation=cv2.INTER_AREA)
        self._write(image_bgr)
        self.frames += 1

    def _write(self, image_bgr: np.ndarray) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    def close(self, publish: bool = True) -> None:
        """Finish the file and rename it onto `-o` (a link planted there is replaced, not followed);
        `publish=False` (the run failed) removes it instead."""
        self._close()
        if not publish:
            self.partial.unlink(missing_ok=True)
            return
        try:
            os.replace(self.partial, self.path)
        except OSError as exc:
            raise EdgesegError(f"cannot write {describe_os_error(exc, self.path)} (the video is in "
                               f"{self.partial})") from None


class MjpegSink(VideoSink):
    """.avi: Motion-JPEG through OpenCV."""

    def _open(self, fps: float) -> None:
        import cv2

        h, w = self.size
        # OpenCV's own writer stores whole frame rates only (29.97 would become 30): FFmpeg's
        # keeps the exact rate, at the cost of a larger write buffer lost on a kill.
        api = cv2.CAP_OPENCV_MJPEG if fps.is_integer() else cv2.CAP_FFMPEG
        self.writer = cv2.VideoWriter(str(self.partial), api, cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
        if not self.writer.isOpened():
            raise EdgesegError(f"{self.path}: OpenCV cannot write a Motion-JPEG video there")

    def _write(self, image_bgr: np.ndarray) -> None:
        self.writer.write(image_bgr)

    def _close(self) -> None:
        self.writer.release()


class AvSink(VideoSink):
    """.mp4 (fragmented) and .mkv through PyAV: H.264 (x264 `veryfast`, CRF 23) or MPEG-4 Part 2."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int]):
        h, w = size
        super().__init__(path, fps, (max(2, h - h % 2), max(2, w - w % 2)))  # 4:2:0 needs even sizes

    def _open(self, fps: float) -> None:
        import av

        container, codec = video_format(self.path)
        rate = Fraction(fps).limit_denominator(1001)
        options = {"flush_packets": "1"}  # every packet to disk as it is muxed: a kill loses no finished part
        if container == "mp4":
            options["movflags"] = "frag_keyframe+empty_moov+default_base_moof"
        self.container = av.open(str(self.partial), "w", format=container, options=options)
        self.stream = self.container.add_stream(codec, rate=rate)
        self.stream.height, self.stream.width = self.size
        self.stream.pix_fmt = "yuv420p"
        self.stream.codec_context.gop_size = max(1, round(fps))  # a keyframe (and an MP4 fragment) a second
        if codec == "libx264":
            self.stream.codec_context.options = {"preset": "veryfast", "crf": "23", "tune": "zerolatency"}
        else:  # MPEG-4 Part 2 at a fixed quantiser 4 (FFmpeg's -q:v 4), not its default 200 kb/s
            self.stream.codec_context.qscale = True
            self.stream.codec_context.global_quality = 4 * 118  # FF_QP2LAMBDA

    def _write(self, image_bgr: np.ndarray) -> None:
        import av

        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image_bgr), format="bgr24")
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def _close(self) -> None:
        try:
            for packet in self.stream.encode(None):
                self.container.mux(packet)
        finally:
            self.container.close()


def open_video(path, fps: float, size: tuple[int, int]) -> VideoSink:
    """The sink for PATH's suffix, drawing at `size` (H, W)."""
    return (MjpegSink if Path(path).suffix.lower() == ".avi" else AvSink)(Path(path), fps, size)


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
