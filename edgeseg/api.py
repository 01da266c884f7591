"""edgeseg for applications: load an artifact with its contract, segment images and arrays, stream
videos, cameras and folders, export and tune, from Python (docs/python.md).

These are thin layers over what the commands run: `Model.segment` is `predict`'s path
(the artifact's own preprocessing contract, logits resized to the image), `Model.stream` is
`run`'s pipeline (edgeseg.video.stream), `export_checkpoint` and `tune_checkpoint` call the same
library entry points with the same checks (named so because `edgeseg.export` and `edgeseg.tune`
are the packages). Errors a caller can fix raise `edgeseg.EdgesegError` with one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeseg.bench.accuracy import predict_labels
from edgeseg.bench.visualize import colorize, overlay, palette_for
from edgeseg.data.images import read_image
from edgeseg.errors import EdgesegError
from edgeseg.export import options as o
from edgeseg.export.pipeline import run_export
from edgeseg.filesystem import check_out_dir
from edgeseg.runtime import open_runner
from edgeseg.runtime.choice import RunnerRequest, checked_profile, runner_for
from edgeseg.tune import TuneOptions
from edgeseg.tune import tune as run_tune
from edgeseg.video.pipeline import RunOptions
from edgeseg.video.sources import open_source
from edgeseg.video.stream import StreamedRun


@dataclass
class Segmentation:
    """`labels`: H x W class ids at the image's size; `overlay`: the BGR image with the palette blended in."""

    labels: np.ndarray
    overlay: np.ndarray


class Model:
    """An artifact (checkpoint, ONNX model, OpenVINO IR, engine) ready to run; use `load()`.

    `contract` is the artifact's metadata (preprocessing, dataset, classes, palette, precision);
    `classes` the class names. Close it (or use `with`) to free the runtime."""

    def __init__(self, path, backend: str | None = None, device: str = "cpu", threads: int | None = None,
                 input_size: tuple[int, int] | None = None, dataset: str | None = None):
        self.path = str(path)
        checked_profile(device)
        request = RunnerRequest(profile=device, backend=backend, threads=threads, input_size=input_size)
        self._dataset = dataset
        self.runner = open_runner(self.path, *runner_for(self.path, request))
        self.backend = self.runner.backend
        self.runner.activate()
        try:
            self.palette = palette_for(self.runner, dataset)
        except BaseException:
            self.close()
            raise

    @property
    def contract(self) -> dict:
        return dict(self.runner.metadata)

    @property
    def classes(self) -> list[str]:
        return list((self.runner.metadata.get("dataset") or {}).get("classes", []))

    def segment(self, image, alpha: float = 0.5) -> Segmentation:
        """One image: a path, or a BGR uint8 array (H x W x 3, as OpenCV reads it)."""
        if isinstance(image, (str, Path)):
            image = read_image(image)
        image = np.asarray(image)
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise EdgesegError(f"segment takes a BGR uint8 image (H x W x 3), got {image.dtype} {image.shape}")
        labels = predict_labels(self.runner, image)
        return Segmentation(labels, overlay(image, colorize(labels, self.palette), alpha))

    def stream(self, source, *, fps: float | None = None, realtime: bool = False, max_frames: int | None = None,
               alpha: float = 0.5, timeout_s: float = 5.0):
        """Frames of a video file, image folder or glob, camera index, or stream URL through `run`'s
        pipeline: an iterator of edgeseg.video.stream.FrameResult (index, name, image, labels,
        overlay, timings), in order. Leaving the loop early stops the pipeline."""
        options = RunOptions(realtime=realtime, max_frames=max_frames, alpha=alpha, model_seconds=0.0,
                             dataset=self._dataset)
        src = open_source(str(source), fps=fps, timeout_s=timeout_s)  # a bad source stops here
        try:
            yield from StreamedRun(src, self.runner, options, self.palette)
        finally:
            src.close()

    def close(self) -> None:
        self.runner.deactivate()

    def __enter__(self) -> "Model":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def load(path, backend: str | None = None, *, device: str = "cpu", threads: int | None = None,
         input_size: tuple[int, int] | None = None, dataset: str | None = None) -> Model:
    """An artifact, loaded on `backend` ('onnxruntime', 'openvino', 'openvino:GPU'; default: the
    device profile's fastest installed one, as `edgeseg run` picks it)."""
    return Model(path, backend, device, threads, input_size, dataset)


def export_checkpoint(checkpoint, out_dir="edgeseg-out", options: o.ExportOptions | None = None, *, progress=None,
                      **fields) -> Path:
    """`edgeseg export`: the final artifact's path. Typed `options`, or their fields as flat keywords
    (`precision="int8", calib=..., calib_data=..., val="ROOT:val", input_size=(360, 480)`, the names
    of edgeseg.export.options.export_options); `progress` an edgeseg.progress factory (default: silent)."""
    if options is not None and fields:
        raise TypeError("give either options or their fields, not both")
    options = options or o.export_options(**fields)
    return Path(run_export(checkpoint, out_dir, options, progress=progress).final)


def tune_checkpoint(checkpoint, out_dir="edgeseg-tune", options: TuneOptions | None = None, *, progress=None,
                    **fields) -> Path:
    """`edgeseg tune`: the chosen artifact's path (its report is tune.json beside it). Typed
    `options`, or TuneOptions' fields as keywords (`val="ROOT:val", max_miou_drop=0.3, calib=...`)."""
    if options is not None and fields:
        raise TypeError("give either options or their fields, not both")
    options = options or TuneOptions(**fields)
    check_out_dir(out_dir)
    return Path(run_tune(checkpoint, out_dir, options, progress=progress).path)
