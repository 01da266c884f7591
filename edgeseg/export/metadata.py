"""The metadata an exported ONNX model carries (metadata_props and the JSON sidecar): the
artifact schema of edgeseg/metadata.py, filled from the export's context."""

from __future__ import annotations

from edgeseg.metadata import ONNX_DTYPES, ArtifactMetadata, io_block, now


def onnx_io(model) -> dict:
    """Names, dtypes and shapes (str for dynamic dims) of the first input and output."""

    def describe(value):
        t = value.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in t.shape.dim]
        return {"name": value.name, "dtype": ONNX_DTYPES.get(t.elem_type, str(t.elem_type)), "shape": shape}

    return io_block(describe(model.graph.input[0]), describe(model.graph.output[0]))


def build(*, arch, dataset, preprocess, stage: str, precision: str, io: dict, provenance: dict,
          verification: dict | None = None, extra: dict | None = None) -> ArtifactMetadata:
    """`provenance`: parent, options, versions and stage_key, in that order; the time is added here."""
    return ArtifactMetadata(
        kind="onnx", stage=stage, precision=precision, model=arch.to_dict(), preprocess=preprocess.to_dict(),
        dataset=dataset.to_dict(), io=io, provenance={**provenance, "created": now()},
        verification=verification or {}, extra=extra or None)
