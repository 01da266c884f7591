"""OpenVINO IR artifacts (`.xml` + `.bin`) that carry our contract like every other artifact.

The contract goes into the IR's `rt_info/edgeseg` (the file decides) and into the JSON sidecar,
which records the sha256 of both files. An IR made from one of our ONNX models keeps that
model's contract; a BF16 pick is the FP32 IR with `openvino.precision_hint: bf16` in it, so
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

from edgeseg.artifacts import META_KEY, read_metadata, sha256_file, sidecar_path, versions, write_sidecar
from edgeseg.errors import EdgesegError, require
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
        meta = read_metadata(xml)
    except EdgesegError:
        return False
    return meta.get("provenance", {}).get("stage_key") == key


def ir_meta(parent_meta: dict, parent: Path, *, stage: str, precision: str, key: str, options: dict,
            precision_hint: str | None = None, extra: dict | None = None) -> dict:
    """The parent ONNX's contract, with this IR's stage, precision and provenance."""
    meta = {k: v for k, v in parent_meta.items() if k not in ("sha256", "size_bytes", "verification", "extra", "tuned")}
    meta.update(kind="openvino-ir", stage=stage, precision=precision)
    meta["provenance"] = {"parent": {"path": str(parent), "sha256": sha256_file(parent), "stage": parent_meta.get("stage")},
                          "options": options, "versions": versions("openvino", "nncf", "onnx"), "stage_key": key}
    if precision_hint:
        meta["openvino"] = {"precision_hint": precision_hint}
    if extra:
        meta["extra"] = extra
    return meta


def write_ir(model, xml: Path, meta: dict) -> Path:
    """Save an ov.Model as `xml` + `.bin` with `meta` inside and in the sidecar; all or nothing."""
    ov = require("openvino", "openvino")
    xml = Path(xml)
    model.set_rt_info(json.dumps(meta), META_KEY)
    tmp = Path(tempfile.mkdtemp(prefix=".ir-", dir=xml.parent))
    try:
        ov.save_model(model, str(tmp / "m.xml"), compress_to_fp16=False)
        os.replace(tmp / "m.bin", xml.with_suffix(".bin"))
        os.replace(tmp / "m.xml", xml)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    write_sidecar(xml, {**meta, "sha256": sha256_file(xml), "bin_sha256": sha256_file(xml.with_suffix(".bin")),
                        "size_bytes": xml.stat().st_size + xml.with_suffix(".bin").stat().st_size})
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
    parent_meta = read_metadata(onnx_path)
    if not parent_meta.get("preprocess"):
        raise EdgesegError(f"{onnx_path}: no preprocessing contract; convert models exported by edgeseg")
    options = {"precision_hint": precision_hint}
    key = ir_key(sha256_file(onnx_path), "openvino", options)
    if reusable(xml, key):
        return xml
    precision = parent_meta.get("precision", "fp32")
    if precision_hint == "bf16":
        precision = "bf16"
    meta = ir_meta(parent_meta, onnx_path, stage="openvino", precision=precision, key=key, options=options,
                   precision_hint=precision_hint)
    return write_ir(read_onnx(onnx_path), xml, meta)
