"""edgeseg: take trained S²-FPN checkpoints to the edge.

Heavy libraries (torch, tensorrt, onnxruntime) are imported only inside the functions
that need them, so the CLI and the runtime side start fast and work on a Jetson without
PyTorch. The Python API (docs/python.md) is reached from here lazily: `edgeseg.load` imports
edgeseg.api on first use, so `import edgeseg` stays as light as `edgeseg --help`.
"""

import importlib

__version__ = "0.1.0"

# The stable names; everything else in the package may change between versions.
API = ("load", "Model", "Segmentation", "FrameResult", "export_checkpoint", "tune_checkpoint", "EdgesegError")
__all__ = [*API, "__version__"]
_HOME = {"FrameResult": "edgeseg.video.stream", "EdgesegError": "edgeseg.errors"}


def __getattr__(name: str):
    if name in API:
        return getattr(importlib.import_module(_HOME.get(name, "edgeseg.api")), name)
    raise AttributeError(f"module 'edgeseg' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *API])
