"""S²-FPN (current and v1 generations) and SPFNet on our own ResNet-18/34/34M encoder.

Importing this package does not import torch; the model modules do.
"""

from edgeseg.models import checkpoint
from edgeseg.models.checkpoint import read_checkpoint as _read
from edgeseg.models.registry import VARIANTS, Arch, detect

__all__ = ["VARIANTS", "Arch", "detect", "load_model", "read_checkpoint"]


def load_model(path, variant=None):
    return checkpoint.load_model(path, variant)


def read_checkpoint(path, variant=None):
    return _read(path, variant)
