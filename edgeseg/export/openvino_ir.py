"""OpenVINO IR artifacts (`.xml` + `.bin`) that carry our contract like every other artifact.

The contract goes into the IR's `rt_info/edgeseg` (the file decides), with the sha256 of the .bin
and of the contract, and into the JSON sidecar, which also records the .xml's sha256. An IR made
from one of our ONNX models keeps that model's contract; a BF16 pick is the FP32 IR with `openvino.precision_hint: bf16` in it, so
`eval`/`bench`/`predict` run what `tune` measured without being told.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from edgeseg.artifacts import META_KEY, read_artifact, sha256_file, sidecar_path, versions, write_sidecar
from edgeseg.errors import EdgesegError, require
from edgeseg.metadata import ArtifactMetadata, contract_digest
from edgeseg.runtime.openvino_runner import cache_dir
from edgeseg.runtime.ov_graph import openvino_copy


def ir_key(parent_sha: str, stage: str, options: dict) -> str:
    """What decides an IR's bytes: its parent, the step and its options, the tool versions."""
    text = json.dumps({"parent": parent_sha, "stage": stage, "options": options,
                       "versions": versions("openvino", "nncf")}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def reusable(xml: Path, key: str) -> bool:
    """An IR already built with this key, whose files are still the ones its sidecar names."""
    if not (xml.is_file() and xml.with_suffix(".bin").is_file() and sidecar_path(xml).is_file()):
        return False
    try:
        meta = read_artifact(xml)
    except EdgesegError:
        return False
    return meta.provenance.get("stage_key") == key


def ir_meta(parent_meta: ArtifactMetadata, parent: Path, *, stage: str, precision: str, key: str, options: dict,
            precision_hint: str | None = None) -> ArtifactMetadata:
    """The parent ONNX's contract, with this IR's stage, precision and provenance (the parent's absolute
    path: `tune` delivers its pick to another folder, where a relative one would name nothing)."""
    return parent_meta.with_(
        kind="openvino-ir", stage=stage, precision=precision, verification=None, extra=None, target=None,
        engine=None, sha256=None, size_bytes=None, files=None, bin_sha256=None, contract_sha256=None, other=None,
        openvino={"precision_hint": precision_hint} if precision_hint else None,
        provenance={"parent": {"path": str(Path(parent).resolve()), "sha256": sha256_file(parent),
                               "stage": parent_meta.stage}, "options": options,
                    "versions": versions("openvino", "nncf", "onnx"), "stage_key": key})


def write_ir(model, xml: Path, meta: ArtifactMetadata) -> Path:
    """Save an ov.Model as `xml` + `.bin`, all or nothing. The .xml's own metadata binds the .bin (its
    sha256) and the contract (artifacts.check_ir_binding), so an IR alone is as verifiable as an ONNX
    alone; the sidecar repeats it with the sha256 of both files."""
    ov = require("openvino", "openvino")
    xml = Path(xml)
    tmp = Path(tempfile.mkdtemp(prefix=".ir-", dir=xml.parent))
    try:
        ov.save_model(model, str(tmp / "w.xml"), compress_to_fp16=False)  # the weights, to hash them
        meta = meta.with_(bin_sha256=sha256_file(tmp / "w.bin"))
        meta = meta.with_(contract_sha256=contract_digest(meta.to_dict()))
        model.set_rt_info(json.dumps(meta.to_dict()), META_KEY)
        ov.save_model(model, str(tmp / "m.xml"), compress_to_fp16=False)
        if sha256_file(tmp / "m.bin") != meta.bin_sha256:
            raise EdgesegError(f"{xml}: OpenVINO saved different weights twice for one model; not written")
        os.replace(tmp / "m.bin", xml.with_suffix(".bin"))
        os.replace(tmp / "m.xml", xml)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    size = xml.stat().st_size + xml.with_suffix(".bin").stat().st_size
    write_sidecar(xml, meta.with_(sha256=sha256_file(xml), size_bytes=size).to_dict())
    return xml


def read_onnx(onnx_path: Path):
    """The ov.Model OpenVINO runs for one of our ONNX files (a Q/DQ graph as its same-grid uint8 copy,
    exactly what the OpenVINO runner compiles)."""
    ov = require("openvino", "openvino")
    source = onnx_path
    with contextlib.suppress(Exception):
        source = openvino_copy(str(onnx_path), cache_dir() / "graphs") or onnx_path
    return ov.Core().read_model(str(source))


def onnx_to_ir(onnx_path: Path, xml: Path, *, precision_hint: str | None = None) -> Path:
    """Our ONNX model as an IR for OpenVINO (reused when built before with the same inputs)."""
    parent_meta = read_artifact(onnx_path)
    if not parent_meta.preprocess:
        raise EdgesegError(f"{onnx_path}: no preprocessing contract; convert models exported by edgeseg")
    options = {"precision_hint": precision_hint}
    key = ir_key(sha256_file(onnx_path), "openvino", options)
    if reusable(xml, key):
        return xml
    precision = parent_meta.precision
    if precision_hint == "bf16":
        precision = "bf16"
    meta = ir_meta(parent_meta, onnx_path, stage="openvino", precision=precision, key=key, options=options,
                   precision_hint=precision_hint)
    return write_ir(read_onnx(onnx_path), xml, meta)
