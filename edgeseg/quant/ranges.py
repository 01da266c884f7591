"""Calibrated ranges on disk, keyed by model hash, calibration-set hash and method.

A second export with other placement options (target, fallback, per-tensor) reuses them
instead of calibrating again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from pathlib import Path

from edgeseg.artifacts import write_json

log = logging.getLogger(__name__)


# Bump when the calibration algorithms change what they compute, so stale caches are not reused.
ALGORITHM = 2


def cache_key(model_sha: str, calib_sha: str, range_key: dict, tensors: list[str]) -> str:
    blob = json.dumps({"model": model_sha, "calib": calib_sha, "range": range_key, "algorithm": ALGORITHM,
                       "tensors": hashlib.sha256("\n".join(sorted(tensors)).encode()).hexdigest()}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def load(cache_dir: Path, key: str) -> dict[str, float] | None:
    path = Path(cache_dir) / f"ranges-{key}.json"
    if not path.exists():
        return None
    try:
        amax = json.loads(path.read_text())["amax"]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, RecursionError):
        amax = None
    if not _valid(amax):  # damaged (disk, another tool, a hand edit): calibrate again, it is only a cache
        log.warning("ignoring the damaged calibration-range cache %s; calibrating again", path.name)
        return None
    return amax


def _valid(amax) -> bool:
    return isinstance(amax, dict) and all(
        isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0
        for k, v in amax.items())


def save(cache_dir: Path, key: str, amax: dict[str, float], about: dict) -> Path:
    path = Path(cache_dir) / f"ranges-{key}.json"
    write_json(path, {**about, "amax": amax})
    return path
