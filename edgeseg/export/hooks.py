"""The checks and extra files every export runs, in one place (see `Hooks` in stage.py).

A feature that checks each artifact (a TensorRT parser run) or writes a file beside it (a
DeepStream config) adds one line here; the stages themselves do not change.
"""

from __future__ import annotations

from edgeseg.export.stage import Hooks


def default_hooks(options) -> Hooks:
    """The hooks for one export run (`options`: its ExportOptions)."""
    hooks = Hooks()
    return hooks
