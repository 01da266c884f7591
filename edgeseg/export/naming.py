"""Artifact file names, decided here only: every stage's, an IR's and an NNCF IR's.

An export whose contract differs from the official one gets its own name.

The stem `{variant}_{H}x{W}` names the official contract (the dataset's mean, no std, its channel
order, opset 17, the default simplifier). An export with `--mean`, `--std`, `--channel-order`,
`--opset` or `--simplifier` makes a different model (other inputs, other graph), so its files
carry a tag: it must never replace the official-contract file and orphan that file's INT8 child.
"""

from __future__ import annotations

import hashlib
import json

from pathlib import Path

from edgeseg.export.simplify import DEFAULT

OFFICIAL_OPSET = 17


def contract_tag(options, preprocess, official) -> str:
    """'' for the official contract, else '_' + what differs ('opset19', 'onnxslim', 'pre-1a2b3c4d')."""
    parts = []
    if options.opset != OFFICIAL_OPSET:
        parts.append(f"opset{options.opset}")
    if options.simplifier != DEFAULT:
        parts.append(str(options.simplifier))
    mine = (tuple(preprocess.mean_bgr), preprocess.std_bgr and tuple(preprocess.std_bgr), preprocess.channel_order)
    theirs = (tuple(official.mean_bgr), official.std_bgr and tuple(official.std_bgr), official.channel_order)
    if mine != theirs:
        blob = json.dumps([list(mine[0]), list(mine[1]) if mine[1] else None, mine[2]])
        parts.append("pre-" + hashlib.sha256(blob.encode()).hexdigest()[:8])
    return "".join(f"_{p}" for p in parts)


def stage_path(out_dir, stem: str, tag: str, suffix: str = ".onnx") -> Path:
    """`{stem}.{tag}{suffix}` in the work directory: deploy.pt, raw, fp32, fp16[-io16], int8-..., fp8."""
    return Path(out_dir) / f"{stem}.{tag}{suffix}"


def io_wrapped_path(parent: Path, embed_preprocess: bool, argmax: str | None) -> Path:
    """The parent's name with what the graph now takes and gives: `.bgr8in`, `.labels-int32`."""
    parts = (["bgr8in"] if embed_preprocess else []) + ([f"labels-{argmax}"] if argmax else [])
    return parent.with_name(parent.name.replace(".onnx", f".{'-'.join(parts)}.onnx"))


def engine_path(parent: Path) -> Path:
    return parent.with_suffix(".engine")


def ir_path(onnx: Path, hint: str | None = None) -> Path:
    """The OpenVINO IR of an ONNX model, beside it (`.bf16` when it asks OpenVINO for BF16)."""
    return onnx.with_name(onnx.name.removesuffix(".onnx") + (f".{hint}" if hint else "") + ".xml")


def nncf_ir_path(fp32_onnx: Path, stage: str) -> Path:
    """NNCF's INT8 IR of the verified FP32 model: `{stem}.{stage}-int8.xml` (stage: nncf | nncf-ac)."""
    return fp32_onnx.with_name(fp32_onnx.name.removesuffix(".fp32.onnx") + f".{stage}-int8.xml")
