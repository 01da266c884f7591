"""The export context a stage sees, for a toy model at 4x6 (what tests/export builds stages on
without a checkpoint): the fields `Stage`s read, nothing else."""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgeseg.data.contract import DatasetInfo, Preprocess
from edgeseg.export.options import ExportOptions

SIZE = (4, 6)


class Arch:
    variant = "toy"

    def to_dict(self):
        return {"variant": "toy"}


@dataclass
class Ctx:
    out_dir: Path
    options: ExportOptions = field(default_factory=ExportOptions)
    sizes: list = field(default_factory=lambda: [SIZE])
    ckpt_path: Path = Path("toy.pth")
    ckpt_sha: str = "0" * 64
    arch: Arch = field(default_factory=Arch)
    dataset: DatasetInfo = field(default_factory=lambda: DatasetInfo.named("camvid"))
    preprocess: Preprocess = field(default_factory=lambda: Preprocess(mean_bgr=(1.0, 2.0, 3.0)))
    progress: object = None

    def batches(self, size, uint8=False):
        return [np.random.default_rng(0).normal(size=(1, 3, *size)).astype(np.float32)]
