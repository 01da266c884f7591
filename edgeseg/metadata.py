"""The metadata every artifact carries, one schema for all five kinds written (KINDS): ONNX models
(in `metadata_props` and the sidecar), TensorRT engines (the sidecar), OpenVINO IRs (`rt_info` and
the sidecar), the deploy model (`.pt`, the sidecar) and a checkpoint run as it is (in memory, the
torch runner's); `artifacts.read_artifact` reads every one back as `ArtifactMetadata`.

Every block is plain JSON data; `ArtifactMetadata.to_dict` writes the keys in one order for
every kind of artifact, so an ONNX model's embedded copy and its sidecar agree byte for byte.
The JSON type of each field (`FIELD_TYPES`, what a reader checks) is derived from the dataclass.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, fields, replace
from typing import get_type_hints

FORMAT = "edgeseg-artifact/1"

# ONNX TensorProto element types, as the metadata names them; float8 ids are the FP8 Q/DQ types.
ONNX_DTYPES = {1: "float32", 10: "float16", 2: "uint8", 3: "int8", 6: "int32", 7: "int64"}
FLOAT8_TYPES = {17: "float8e4m3fn", 18: "float8e4m3fnuz", 19: "float8e5m2", 20: "float8e5m2fnuz"}
LABEL_DTYPES = ("int32", "int64", "uint8")  # an output of these is a class map, not logits


def io_block(inp: dict, out: dict) -> dict:
    """The `io` block from the first input and output ({name, dtype, shape}): uint8 input means
    preprocessing in the graph (NHWC BGR), an integer output means class labels."""
    return {"input": {**inp, "layout": "NHWC" if inp["dtype"] == "uint8" else "NCHW"},
            "output": {**out, "kind": "labels" if out["dtype"] in LABEL_DTYPES else "logits"}}


KINDS = ("onnx", "engine", "openvino-ir", "pytorch", "checkpoint")  # what `kind` names: the file type
# onnx: .onnx; engine: a TensorRT plan; openvino-ir: .xml + .bin; pytorch: the deploy model (.pt);
# checkpoint: a training checkpoint (.pth) as the torch runner describes it
# The fields that decide what an artifact computes and expects (a sidecar must agree with its file on them).
CONTRACT_FIELDS = ("precision", "preprocess", "embedded_preprocess", "io")


def contract_digest(meta: dict) -> str:
    """sha256 of the contract fields and the weights' hash, as canonical JSON: what an IR embeds so that
    an edit of its contract, or weights swapped under it, is found (an edit, not a forgery: anyone can
    recompute it)."""
    import hashlib
    import json

    bound = {k: meta.get(k) for k in (*CONTRACT_FIELDS, "bin_sha256")}
    return hashlib.sha256(json.dumps(bound, sort_keys=True).encode()).hexdigest()


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class ArtifactMetadata:
    """What an artifact is, what it expects and where it came from.

    `kind` is the file type, one of KINDS (onnx, engine, openvino-ir, pytorch, checkpoint); `stage`
    the step that made it; `target` (engines) where the plan was built for; `engine` the plan's own
    facts; `openvino` (IRs) how OpenVINO should run it;
    `bin_sha256` and `contract_sha256` (IRs, embedded) bind the .xml to its weights and its contract;
    `sha256`, `size_bytes` and `files` (the sidecar only) bind it to its file and companions.
    """

    kind: str
    stage: str
    precision: str
    model: dict
    preprocess: dict
    dataset: dict
    io: dict
    provenance: dict
    target: dict | None = None
    engine: dict | None = None
    verification: dict | None = None
    extra: dict | None = None
    openvino: dict | None = None
    bin_sha256: str | None = None
    contract_sha256: str | None = None
    sha256: str | None = None
    size_bytes: int | None = None
    files: dict | None = None
    format: str = FORMAT
    other: dict | None = None  # blocks this schema does not name (a newer edgeseg's, `tuned`), kept as read

    @property
    def embedded_preprocess(self) -> bool:
        return self.io.get("input", {}).get("dtype") == "uint8"

    def with_(self, **changes) -> "ArtifactMetadata":
        return replace(self, **changes)

    def to_dict(self) -> dict:
        head = {"format": self.format, "kind": self.kind, "stage": self.stage, "precision": self.precision,
                "model": self.model, "preprocess": self.preprocess, "dataset": self.dataset, "io": self.io,
                "embedded_preprocess": self.embedded_preprocess}
        tail = {k: getattr(self, k) for k in ("target", "engine", "openvino", "provenance", "verification", "extra",
                                               "bin_sha256", "contract_sha256", "sha256", "size_bytes", "files")}
        return {**head, **{k: v for k, v in tail.items() if v is not None}, **(self.other or {})}

    @classmethod
    def from_dict(cls, d: dict) -> "ArtifactMetadata":
        """Read back what `to_dict` wrote: every artifact kind round-trips (blocks not named here are
        kept in `other`; missing blocks are empty)."""
        known = {f.name for f in fields(cls)} - {"other"}
        required = {"kind": "?", "stage": "?", "precision": "fp32", "model": {}, "preprocess": {}, "dataset": {},
                    "io": {}, "provenance": {}}
        other = {k: v for k, v in d.items() if k not in known}
        meta = cls(**{**required, **{k: v for k, v in d.items() if k in known}})
        if other.get("embedded_preprocess", meta.embedded_preprocess) == meta.embedded_preprocess:
            other.pop("embedded_preprocess", None)  # derived from `io`; kept as read only where it differs
        return meta.with_(other=other or None)


def _json_type(hint) -> type:
    """The JSON type of a field's annotation (`dict | None` -> dict)."""
    args = [a for a in getattr(hint, "__args__", (hint,)) if a is not type(None)]
    return args[0]


# Each field's JSON type where present, derived from the schema (absent ones are checked by whoever
# needs them), and `embedded_preprocess`, which `to_dict` writes from `io`.
FIELD_TYPES = {**{f.name: _json_type(get_type_hints(ArtifactMetadata)[f.name]) for f in fields(ArtifactMetadata)
                  if f.name != "other"}, "embedded_preprocess": bool}
