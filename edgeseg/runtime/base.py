"""One Runner interface for every backend, so evaluation and benchmarking never care which runs.

Shaped like Polygraphy's runners: construction is cheap and imports nothing heavy;
`activate()` loads the model (and the backend library); `infer()` runs one batch;
`deactivate()` frees it. Runners are context managers.
"""

from __future__ import annotations

import abc
import logging
import time
from dataclasses import dataclass, field

import numpy as np

from edgeseg.artifacts import metadata_dict

log = logging.getLogger(__name__)


def contract_mismatch(meta: dict, is_uint8: bool, dtype: str, shape: list) -> str | None:
    """Why a graph whose input is `dtype` `shape` contradicts its metadata (uint8 NHWC when the
    preprocessing is embedded, float NCHW with 3 channels otherwise), or None. Every runtime asks it:
    a contract that lies about the graph segments garbage on whichever runtime skips the check."""
    if not meta:
        return None
    embedded = bool(meta.get("embedded_preprocess"))
    problem = None
    if embedded != is_uint8:
        problem = f"metadata says {'uint8 NHWC BGR' if embedded else 'float NCHW'} input, the graph takes {dtype} {shape}"
    else:
        channels = shape[3] if embedded and len(shape) == 4 else (shape[1] if len(shape) == 4 else None)
        if len(shape) != 4 or (isinstance(channels, int) and channels != 3):
            problem = f"expected a 4-D input with 3 channels, the graph takes {dtype} {shape}"
    return problem and f"the graph does not match its metadata's contract ({problem}); re-export it with edgeseg"


@dataclass(frozen=True)
class IOSpec:
    """What a runner takes and gives, so callers can prepare the right batch."""

    input_dtype: str  # "float32", "float16" or "uint8"
    input_layout: str  # "NCHW" (float, preprocessed) or "NHWC" (uint8 BGR, preprocessing in graph)
    input_shape: tuple  # (N, C, H, W) or (N, H, W, C); None or str entries are dynamic
    output: str  # "logits" (N, K, H, W) or "labels" (N, H, W)


@dataclass
class Timing:
    """Per-call timings a backend can measure itself (GPU runners split copies from compute)."""

    compute_ms: float | None = None
    h2d_ms: float | None = None
    d2h_ms: float | None = None
    extra: dict = field(default_factory=dict)


class Runner(abc.ABC):
    """Base class: subclasses implement `_activate`, `_infer`, `_deactivate`, `io_spec`."""

    backend: str = "base"

    def __init__(self, path: str):
        self.path = str(path)
        self.active = False
        self.last_timing = Timing()

    # -- lifecycle -------------------------------------------------------------------
    def activate(self) -> "Runner":
        if not self.active:
            t0 = time.perf_counter()
            self._activate()
            self.active = True
            log.debug("%s: loaded by %s in %.2f s", self.path, self.description, time.perf_counter() - t0)
        return self

    def deactivate(self) -> None:
        if self.active:
            self._deactivate()
            self.active = False

    def __enter__(self) -> "Runner":
        return self.activate()

    def __exit__(self, *exc) -> None:
        self.deactivate()

    # -- inference -------------------------------------------------------------------
    def infer(self, batch: np.ndarray) -> np.ndarray:
        """Run one batch; returns logits (N, K, H, W) float32 or labels (N, H, W)."""
        if not self.active:
            raise RuntimeError(f"{type(self).__name__}.infer() called before activate()")
        return self._infer(batch)

    def submit(self, batch: np.ndarray):
        """Start one inference; returns a function that waits for its output (what `infer` returns).

        Streams keep up to `async_depth` submissions in flight and collect them in order, so a
        backend with asynchronous requests computes frame i+1 while frame i is post-processed.
        Here (backends without them) the work is done at once.
        """
        out = self.infer(batch)
        return lambda: out

    async_depth = 1  # submissions a caller may keep in flight before collecting the oldest

    @property
    @abc.abstractmethod
    def io_spec(self) -> IOSpec: ...

    @property
    def metadata(self) -> dict:
        """The artifact's metadata (preprocessing contract, classes, provenance): the file's own,
        its sidecar only where it agrees (edgeseg.artifacts); read once."""
        if not hasattr(self, "_meta"):
            self._meta = metadata_dict(self.path)
        return self._meta

    @property
    def description(self) -> str:
        return self.backend

    @abc.abstractmethod
    def _activate(self) -> None: ...

    @abc.abstractmethod
    def _infer(self, batch: np.ndarray) -> np.ndarray: ...

    def _deactivate(self) -> None:
        pass
