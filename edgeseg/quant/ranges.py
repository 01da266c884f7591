"""Calibrated ranges on disk, keyed by model hash, calibration-set hash and method.

A second export with other placement options (target, fallback, per-tensor) reuses them
instead of calibrating again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from edgeseg.artifacts import write_json


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
        return json.loads(path.read_text())["amax"]
    except (json.JSONDecodeError, KeyError):
        return None


def save(cache_dir: Path, key: str, amax: dict[str, float], about: dict) -> Path:
    path = Path(cache_dir) / f"ranges-{key}.json"
    write_json(path, {**about, "amax": amax})
    return path
