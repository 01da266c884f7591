"""The graph's output tail, a tune axis: what the model hands the host.

- `logits`: K x H x W floats; the host computes the class map (what eval/predict do).
- `argmax`: argmax in the graph, a uint8 class map at input size (4 x K fewer bytes out, no host
  argmax); the same class map as the logits model's.
- `argmax-lowres`: argmax where the head emits (before the model's final bilinear Resize), then a
  nearest upsample in the graph to input size: less work, but edges move, so it is scored.

Both class-map tails keep the contract of export's in-graph uint8 argmax (an integer output is a class
map; metadata `io.output.kind: labels`), which every runner, eval, predict, run and bench already
read; the contract names the tail (`io.output.tail`) and the provenance its parent's sha256. ONNX models (ONNX Runtime) are
edited as ONNX, IRs (OpenVINO, NNCF's included) as ov.Model; each result is a new file beside its
parent, rebuilt only when the parent changed.
"""

from __future__ import annotations

from pathlib import Path

from edgeseg.artifacts import atomic_path, metadata_dict, sha256_file, set_onnx_metadata, write_sidecar
from edgeseg.errors import EdgesegError, OptionError
from edgeseg.errors import field as f
from edgeseg.export.io_wrap import TAILS, embed_argmax, embed_lowres_argmax
from edgeseg.export.naming import path_for
from edgeseg.export.openvino_ir import write_ir
from edgeseg.metadata import ArtifactMetadata

__all__ = ["TAILS", "check_tails", "with_tail"]


def check_tails(tails) -> tuple[str, ...]:
    bad = [t for t in tails if t not in TAILS]
    if bad or not tails:
        raise OptionError(f"{f('tails')} must be a comma list of {', '.join(TAILS)}, got {','.join(tails) or 'nothing'}")
    return tuple(dict.fromkeys(tails))


def with_tail(path: Path, tail: str) -> Path:
    """The artifact `path` with `tail` (a new file beside it; `logits` is `path` itself)."""
    path = Path(path)
    if tail == "logits":
        return path
    if tail not in TAILS:
        raise EdgesegError(f"unknown output tail {tail!r}; choose one of {', '.join(TAILS)}")
    dest = path_for("tail", parent=path, tail=tail)
    parent = sha256_file(path)
    if dest.is_file():
        try:
            if (metadata_dict(dest).get("provenance") or {}).get("tail", {}).get("parent_sha256") == parent:
                return dest
        except EdgesegError:
            pass
    meta = metadata_dict(path)
    if (meta.get("io") or {}).get("output", {}).get("kind") == "labels":
        raise EdgesegError(f"{path.name} outputs a class map already: no tail to add")
    meta = {k: v for k, v in meta.items() if k not in ("sha256", "bin_sha256", "contract_sha256", "size_bytes", "tuned", "verification")}
    meta["provenance"] = {**(meta.get("provenance") or {}),
                          "tail": {"name": tail, "parent": str(path), "parent_sha256": parent}}
    return (_ir_tail if path.suffix == ".xml" else _onnx_tail)(path, dest, tail, meta)


def _labels_io(meta: dict, shape, tail: str) -> None:
    """The contract's output: a uint8 class map at input size, and the tail that makes it."""
    io = dict(meta.get("io") or {})
    io["output"] = {"name": "labels", "dtype": "uint8", "shape": list(shape), "kind": "labels", "tail": tail}
    meta["io"] = io


def _onnx_tail(path: Path, dest: Path, tail: str, meta: dict) -> Path:
    """The ONNX edit is export's own (export/io_wrap.py): one graph for both commands."""
    import onnx

    model = onnx.load(str(path))
    dims = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "d")
            for d in model.graph.output[0].type.tensor_type.shape.dim]
    if tail == "argmax":
        embed_argmax(model, "uint8")
        shape = [dims[0], dims[2], dims[3]]
    else:
        shape = embed_lowres_argmax(model, "uint8", path.name)
    _labels_io(meta, shape, tail)
    set_onnx_metadata(model, meta)
    with atomic_path(dest) as tmp:
        onnx.save(model, str(tmp))
    write_sidecar(dest, {**meta, "sha256": sha256_file(dest), "size_bytes": dest.stat().st_size})
    return dest


_PASS_OV = ("Convert", "FakeQuantize")


def _ir_tail(path: Path, dest: Path, tail: str, meta: dict) -> Path:
    import openvino as ov
    import openvino.opset13 as ops

    model = ov.Core().read_model(str(path))
    result = model.get_results()[0]
    logits = result.input_value(0)
    source = logits
    if tail == "argmax-lowres":
        node = logits.get_node()
        while node.get_type_name() in _PASS_OV:
            node = node.input_value(0).get_node()
        if node.get_type_name() != "Interpolate":
            raise EdgesegError(f"{path.name}: the output is not made by a final Resize, so there is no head "
                               "resolution to take the argmax at (argmax-lowres)")
        source = node.input_value(0)
    idx = ops.topk(source, ops.constant(1, ov.Type.i64), 1, "max", "none", ov.Type.i32).output(1)
    labels = ops.convert(idx, ov.Type.u8)
    shape = list(logits.get_partial_shape().to_shape())
    if tail == "argmax-lowres":
        labels = ops.interpolate(labels, ops.constant([shape[2], shape[3]], ov.Type.i64), "nearest", "sizes",
                                 axes=ops.constant([2, 3], ov.Type.i64), coordinate_transformation_mode="asymmetric",
                                 nearest_mode="floor")
    labels = ops.squeeze(labels, ops.constant([1], ov.Type.i64))
    labels.output(0).get_tensor().set_names({"labels"})
    out = ops.result(labels)
    tailed = ov.Model([out], model.get_parameters(), model.get_friendly_name())
    _labels_io(meta, [shape[0], shape[2], shape[3]], tail)
    return write_ir(tailed, dest, ArtifactMetadata.from_dict(meta))
