"""Reading images and label maps with one clear error per bad file.

Every image edgeseg reads goes through `read_image`/`read_label`: the bytes are read by Python and
decoded by OpenCV (`cv2.imdecode`), so any file name the OS gives works (cv2.imread crashes on
names that are not UTF-8), and only regular files are opened (a FIFO would block forever).
"""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import numpy as np

from edgeseg.errors import EdgesegError
from edgeseg.memory import check_image

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".tif", ".tiff", ".webp")


def file_bytes(path, what: str = "image") -> np.ndarray:
    """The bytes of a regular file, or one line saying why there are none."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise EdgesegError(f"cannot read {what} {path}: not a regular file")
        with open(path, "rb") as f:
            return np.frombuffer(f.read(), np.uint8)
    except OSError as exc:
        raise EdgesegError(f"cannot read {what} {path} ({exc.strerror or type(exc).__name__})") from None


def decode(path, flags: int, what: str = "image") -> np.ndarray | None:
    """cv2.imdecode of the file's bytes (None when OpenCV cannot decode them)."""
    import cv2

    data = file_bytes(path, what)
    return cv2.imdecode(data, flags) if data.size else None


def header_size(data: np.ndarray) -> tuple[int, int] | None:
    """(H, W) from an image file's header without decoding its pixels (Pillow reads headers lazily);
    None when Pillow cannot tell (cv2 then says what is wrong with the file)."""
    try:
        from PIL import Image
    except ImportError:
        return None
    Image.MAX_IMAGE_PIXELS = None  # edgeseg checks sizes against memory itself (edgeseg.memory.check_image)
    try:
        with Image.open(io.BytesIO(data.tobytes())) as im:
            w, h = im.size
    except Exception:  # not an image Pillow knows: the decoder's own error is the one to show
        return None
    return int(h), int(w)


def read_image(path) -> np.ndarray:
    """BGR uint8 H x W x 3, as the official code reads it (cv2.imread, colour); an image too large
    for memory is refused from its header, before decoding."""
    import cv2


    data = file_bytes(path)
    size = header_size(data)
    if size is not None:
        check_image(path, size)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        raise EdgesegError(f"cannot read image {path} (missing, unreadable or not an image)")
    return img


def read_label(path, lut: np.ndarray | None = None) -> np.ndarray:
    """Label map as uint8 H x W; `lut` (256 entries) maps raw ids, e.g. Cityscapes id -> trainId."""
    import cv2

    label = decode(path, cv2.IMREAD_UNCHANGED, "label map")
    if label is None:
        raise EdgesegError(f"cannot read label map {path} (missing, unreadable or not an image)")
    if label.ndim == 3:  # some tools save grey labels as 3 equal channels; colour-coded ones are ambiguous
        if not ((label[:, :, 0] == label[:, :, 1]).all() and (label[:, :, 0] == label[:, :, 2]).all()):
            raise EdgesegError(f"label map {path} is a colour image; expected one channel of class ids "
                               "(palette-indexed and colour-coded labels must be converted first)")
        label = label[:, :, 0]
    if label.dtype != np.uint8:
        if label.max() > 255:
            raise EdgesegError(f"label map {path} has values above 255 ({int(label.max())})")
        label = label.astype(np.uint8)
    return lut[label] if lut is not None else label


def list_images(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
