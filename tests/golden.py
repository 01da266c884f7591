"""The official fixtures' deterministic weights, re-implemented for the project's own tests.

Recipe (from the fixtures' README): each tensor is drawn from PCG64 seeded with the CRC-32
of its key, uniform scaled to unit variance, then shaped by what the tensor is; BatchNorm
running statistics come from `CASE.bn_stats.npz`.
"""

from __future__ import annotations

import json
import zlib
from functools import lru_cache

import numpy as np

from paths import FIXTURES

OFFICIAL = FIXTURES / "official"
CASES = json.loads((OFFICIAL / "cases.json").read_text())

# FLOPs of one forward, batch 1, as torch.utils.flop_counter.FlopCounterMode counted them on meta tensors
# (the counter edgeseg used before; torch 2.13.0): 96x128, 360x480, 1024x2048.
FLOPS = {
    "s2fpn18": (1591972864, 22996123648, 282071749632),
    "s2fpn18v1": (1306055680, 18714830848, 222427698176),
    "s2fpn34": (2498335744, 35989577728, 436757681152),
    "s2fpn34m": (9830843392, 140107279360, 1762738131968),
    "s2fpn34mv1": (8668496896, 122360028160, 1478496441344),
    "s2fpn34v1": (2211632128, 31697225728, 376979411968),
    "spfnet18": (2804117504, 40217096192, 478547148800),
    "spfnet34": (3709300736, 53193961472, 633031753728),
}
FLOP_SIZES = ((96, 128), (360, 480), (1024, 2048))


def weight(key: str, shape) -> np.ndarray:
    shape = tuple(int(s) for s in shape)
    leaf = key.rsplit(".", 1)[-1]
    if leaf == "num_batches_tracked":
        return np.array(0, dtype=np.int64)
    rng = np.random.Generator(np.random.PCG64(zlib.crc32(key.encode())))
    u = ((rng.random(shape) - 0.5) * np.sqrt(12.0)).astype(np.float32)
    if leaf == "running_mean":
        return 0.1 * u
    if leaf == "running_var":
        return 1.0 + 0.1 * np.abs(u)
    if key.endswith("act.weight"):
        return 0.25 + 0.05 * u
    if leaf == "gamma":
        return 0.1 + 0.02 * u
    if len(shape) >= 2:
        return u * np.float32(np.sqrt(2.0 / int(np.prod(shape[1:]))))
    return 1.0 + 0.1 * u if leaf == "weight" else 0.1 * u


@lru_cache(maxsize=None)
def numpy_state_dict(case: str) -> dict:
    keys = json.loads((OFFICIAL / f"{case}.keys.json").read_text())
    stats = np.load(OFFICIAL / f"{case}.bn_stats.npz")
    return {k: np.asarray(stats[k]) if k in stats.files else weight(k, shape) for k, shape in keys.items()}


def state_dict(case: str) -> dict:
    import torch

    return {k: torch.from_numpy(np.array(v)) for k, v in numpy_state_dict(case).items()}


def save_checkpoint(case: str, path, epoch: int = 1) -> None:
    """Write the case as an official checkpoint file, `{"epoch", "model"}`."""
    import torch

    torch.save({"epoch": epoch, "model": state_dict(case)}, path)


def io(case: str) -> tuple[np.ndarray, np.ndarray]:
    return np.load(OFFICIAL / f"{case}.input.npy"), np.load(OFFICIAL / f"{case}.output.npy")


def variant(case: str) -> str | None:
    """The --variant a user passes: only ResNet-34M needs one."""
    return "s2fpn34m" if CASES[case]["resnet34m"] else None
