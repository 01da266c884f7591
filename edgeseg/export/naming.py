"""Artifact file names, decided here only (`path_for`): every stage's, an IR's, an NNCF IR's, a tail's.

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
from edgeseg.quant.config import artifact_tag

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


def export_stem(variant: str, size, dynamic: bool, options, preprocess, official) -> str:
    """`{variant}_{H}x{W}` (or `_dynamic`), with the contract tag of a non-official contract."""
    return f"{variant}_" + ("dynamic" if dynamic else f"{size[0]}x{size[1]}") + contract_tag(options, preprocess,
                                                                                             official)


def path_for(stage: str, *, out_dir=None, stem: str | None = None, parent: Path | None = None, **facts) -> Path:
    """The file of `stage`, decided here only (`facts`: what the name records).

    In the work directory, `{stem}.{tag}{suffix}`: deploy (`.deploy.pt`), raw, simplified (`.fp32`),
    fp16 (`.fp16`, `.fp16-io16` with `fp16_io`), int8 / fp8 (the quantization's tag, from `quant`: its
    config). Named after the parent file: io (`.bgr8in`, `.labels-int32`: what the graph now takes
    and gives, from `embed_preprocess` and `argmax`), engine (`.engine`), openvino (the IR beside its
    ONNX, `.bf16` with `hint`), nncf / nncf-ac (`{stem}.nncf-int8.xml` of the FP32 ONNX), tail
    (`{name}.{tail}{suffix}`: tune's output tails).
    """
    if stage in ("deploy", "raw", "simplified", "fp16", "int8", "fp8"):
        if stage in ("int8", "fp8"):
            tag = artifact_tag(facts["quant"])
        else:
            tag = {"simplified": "fp32", "fp16": "fp16-io16" if facts.get("fp16_io") else "fp16"}.get(stage, stage)
        return Path(out_dir) / f"{stem}.{tag}{'.pt' if stage == 'deploy' else '.onnx'}"
    parent = Path(parent)
    if stage == "io":
        parts = (["bgr8in"] if facts.get("embed_preprocess") else []) + (
            [f"labels-{facts['argmax']}"] if facts.get("argmax") else [])
        return parent.with_name(parent.name.replace(".onnx", f".{'-'.join(parts)}.onnx"))
    if stage == "engine":
        return parent.with_suffix(".engine")
    if stage == "openvino":
        hint = facts.get("hint")
        return parent.with_name(parent.name.removesuffix(".onnx") + (f".{hint}" if hint else "") + ".xml")
    if stage in ("nncf", "nncf-ac"):
        return parent.with_name(parent.name.removesuffix(".fp32.onnx") + f".{stage}-int8.xml")
    if stage == "tail":
        return parent.with_name(f"{parent.stem}.{facts['tail']}{parent.suffix}")
    raise ValueError(f"no file name for stage {stage!r}")
