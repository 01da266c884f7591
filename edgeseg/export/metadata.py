"""The metadata every exported artifact carries (ONNX metadata_props and the JSON sidecar)."""

from __future__ import annotations

import datetime as _dt

from edgeseg.artifacts import FORMAT

_ONNX_DTYPES = {1: "float32", 10: "float16", 2: "uint8", 3: "int8", 6: "int32", 7: "int64"}


def onnx_io(model) -> dict:
    """Names, dtypes and shapes (str for dynamic dims) of the first input and output."""

    def describe(value):
        t = value.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in t.shape.dim]
        return {"name": value.name, "dtype": _ONNX_DTYPES.get(t.elem_type, str(t.elem_type)), "shape": shape}

    inp, out = describe(model.graph.input[0]), describe(model.graph.output[0])
    inp["layout"] = "NHWC" if inp["dtype"] == "uint8" else "NCHW"
    out["kind"] = "labels" if out["dtype"] in ("int32", "int64", "uint8") else "logits"
    return {"input": inp, "output": out}


def build(*, arch, dataset, preprocess, stage: str, precision: str, io: dict, parent: dict,
          options: dict, versions: dict, stage_key: str, verification: dict | None = None) -> dict:
    return {
        "format": FORMAT,
        "kind": "onnx",
        "stage": stage,
        "precision": precision,
        "model": arch.to_dict(),
        "preprocess": preprocess.to_dict(),
        "dataset": dataset.to_dict(),
        "io": io,
        "embedded_preprocess": io["input"]["dtype"] == "uint8",
        "provenance": {
            "parent": parent,
            "options": options,
            "versions": versions,
            "stage_key": stage_key,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        },
        "verification": verification or {},
    }
