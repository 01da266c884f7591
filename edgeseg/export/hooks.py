"""The checks and extra files every export runs, in one place (see `Hooks` in stage.py).

A feature that checks each artifact (a TensorRT parser run) or writes a file beside it (a
DeepStream config) adds one line here; the stages themselves do not change.
"""

from __future__ import annotations

from edgeseg.export.stage import Hooks


def default_hooks(options) -> Hooks:
    """The hooks for one export run (`options`: its ExportOptions)."""
    hooks = Hooks()
    hooks.checks.append(tensorrt_parse)
    return hooks


def tensorrt_parse(stage, candidate) -> dict | None:
    """TensorRT's own parser reads every ONNX stage (when one is importable): nobody should learn
    on the Jetson that an op does not parse. A parser error fails the stage."""
    if candidate.suffix != ".onnx":
        return None
    from edgeseg.engine.parse_check import check_stage

    report = check_stage(candidate, stage.name)
    return {"tensorrt_parse": report} if report else None
