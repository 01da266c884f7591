"""Reading images and label maps with one clear error per bad file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgeseg.errors import EdgesegError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".tif", ".tiff", ".webp")


def header_size(path) -> tuple[int, int] | None:
    """(H, W) from the file's header without decoding its pixels (Pillow reads headers lazily);
    None when Pillow cannot tell (cv2 then says what is wrong with the file)."""
    try:
        from PIL import Image
    except ImportError:
        return None
    Image.MAX_IMAGE_PIXELS = None  # edgeseg checks sizes against memory itself (edgeseg.memory.check_image)
    try:
        with Image.open(path) as im:
            w, h = im.size
    except Exception:  # not an image Pillow knows: the decoder's own error is the one to show
        return None
    return int(h), int(w)


def read_image(path) -> np.ndarray:
    """BGR uint8 H x W x 3, as the official code reads it (cv2.imread, colour); an image too large
    for memory is refused from its header, before decoding."""
    import cv2

    from edgeseg.memory import check_image

    size = header_size(path)
    if size is not None:
        check_image(path, size)
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise EdgesegError(f"cannot read image {path} (missing, unreadable or not an image)")
    return img


def read_label(path, lut: np.ndarray | None = None) -> np.ndarray:
    """Label map as uint8 H x W; `lut` (256 entries) maps raw ids, e.g. Cityscapes id -> trainId."""
    import cv2

    label = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
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
