"""Tests write export options flat (`options(input_size=..., precision="int8", calib=...)`); this
places each keyword in its concern's dataclass, so a test reads as the command line does."""

from __future__ import annotations

from dataclasses import fields

from edgeseg.engine.builder import BuildSettings
from edgeseg.export.options import ContractOptions, ExportOptions, OnnxOptions, QuantOptions, VerifyOptions

GROUPS = {"contract": ContractOptions, "onnx": OnnxOptions, "verify": VerifyOptions, "quant": QuantOptions,
          "engine": BuildSettings}


def options(**flat) -> ExportOptions:
    top = {f.name for f in fields(ExportOptions)} - set(GROUPS)
    parts = {group: {} for group in GROUPS}
    kwargs = {}
    for key, value in flat.items():
        if key in top:
            kwargs[key] = value
            continue
        group = next((g for g, cls in GROUPS.items() if key in {f.name for f in fields(cls)}), None)
        if group is None:
            raise TypeError(f"no export option {key!r}")
        parts[group][key] = value
    return ExportOptions(**kwargs, **{g: GROUPS[g](**v) for g, v in parts.items()})
