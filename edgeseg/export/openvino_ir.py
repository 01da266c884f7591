"""OpenVINO IR artifacts (`.xml` + `.bin`): export stages like every other artifact.

An IR is made from one of our ONNX files (`OpenVinoIr`: what OpenVINO runs for it, a Q/DQ graph as
its same-grid uint8 copy; a BF16 pick is the FP32 IR with `openvino.precision_hint: bf16` in it, so
`eval`/`bench`/`predict` run what `tune` measured without being told) or quantized from the FP32 one
by NNCF (`NncfIr`). Each is a `Stage` (export/stage.py) run by `run_stage`: keyed by its parent's
bytes, its options and the tool versions; reused while its set is complete; verified from a scratch
copy against its parent (the parent ONNX on ONNX Runtime, the IR on OpenVINO, on the same images,
within the parent's tolerance class, NNCF's INT8 as the INT8 stage is judged); published as one
set (.bin and sidecar first, the .xml last).

The contract goes into the IR's `rt_info/edgeseg` (the file decides), with the sha256 of the .bin
and of the contract (artifacts.check_ir_binding), and into the JSON sidecar, which also records the
.xml's and the .bin's sha256.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from edgeseg.artifacts import META_KEY, read_artifact, sha256_file, sidecar_path, versions
from edgeseg.data.contract import Preprocess
from edgeseg.errors import EdgesegError, require
from edgeseg.export.naming import path_for
from edgeseg.export.onnx_stages import OnnxFile, verify_sizes
from edgeseg.export.options import ExportOptions
from edgeseg.export.samples import batches, read_images, synthetic_images
from edgeseg.export.stage import Built, Lazy, Stage, StagedSet, run_stage
from edgeseg.metadata import ArtifactMetadata, contract_digest
from edgeseg.quant import nncf_ov
from edgeseg.runtime.openvino_runner import OpenVINORunner, cache_dir
from edgeseg.runtime.ov_graph import openvino_copy
from edgeseg.workdir import new_temp

TOOLS = ("openvino", "nncf")  # their versions decide an IR's bytes


@dataclass
class IrContext:
    """What an IR stage needs (export/pipeline.Context's part of it): the parent's contract, the
    images parent and IR are both run on, and the verification limits."""

    parent_meta: ArtifactMetadata
    preprocess: Preprocess
    images: list
    sizes: list
    options: ExportOptions = field(default_factory=ExportOptions)
    progress: object = None

    @classmethod
    def of(cls, onnx_path: Path, images: list | None = None) -> "IrContext":
        """The context of an IR made from `onnx_path`: its contract, and `images` (BGR) or the
        export's deterministic synthetic ones at its input size."""
        meta = read_artifact(onnx_path)
        if not meta.preprocess:
            raise EdgesegError(f"{onnx_path}: no preprocessing contract; convert models exported by edgeseg")
        pre = Preprocess.from_dict(meta.preprocess)
        size = tuple(pre.input_size or meta.dataset.get("input_size") or ())
        if len(size) != 2:
            raise EdgesegError(f"{onnx_path}: its contract names no input size to verify the IR at")
        options = ExportOptions()
        images = list(images) if images else synthetic_images(options.verify.num_samples, size)
        return cls(meta, pre, images[:options.verify.num_samples], [size], options)

    def batches(self, size, uint8: bool = False) -> list:
        return batches(self.preprocess, self.images, size, uint8)


def run_ir(path: Path, inputs: list) -> list:
    """The IR's outputs as OpenVINO runs it for eval/bench/predict (its own precision hint), no cache."""
    with OpenVINORunner(path, cache=False) as runner:
        return [runner.infer(b) for b in inputs]


def save_ir(model, xml: Path, meta: ArtifactMetadata) -> ArtifactMetadata:
    """Save an ov.Model at `xml` (+ its `.bin`) with `meta` in its rt_info, binding the .bin (its
    sha256) and the contract (artifacts.check_ir_binding), so an IR alone is as verifiable as an
    ONNX alone. Returns the metadata embedded."""
    ov = require("openvino", "openvino")
    xml = Path(xml)
    probe = new_temp(xml.parent, ".weights", ".xml")
    try:
        ov.save_model(model, str(probe), compress_to_fp16=False)  # the weights, to hash them
        meta = meta.with_(bin_sha256=sha256_file(probe.with_suffix(".bin")))
    finally:
        for p in (probe, probe.with_suffix(".bin")):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
    meta = meta.with_(contract_sha256=contract_digest(meta.to_dict()))
    model.set_rt_info(json.dumps(meta.to_dict()), META_KEY)
    ov.save_model(model, str(xml), compress_to_fp16=False)
    if sha256_file(xml.with_suffix(".bin")) != meta.bin_sha256:
        raise EdgesegError(f"{xml}: OpenVINO saved different weights twice for one model; not written")
    return meta


def stage_ir(files: StagedSet, scratch: Path, xml: Path) -> None:
    """Move a saved scratch IR (`.xml` + `.bin`) into `files` as `xml` and its `.bin`."""
    os.replace(scratch.with_suffix(".bin"), files.temp(xml.with_suffix(".bin")))
    os.replace(scratch, files.temp(xml))


def ir_size(xml: Path) -> int:
    return Path(xml).stat().st_size + Path(xml).with_suffix(".bin").stat().st_size


def write_ir(model, xml: Path, meta: ArtifactMetadata) -> Path:
    """Save an ov.Model as `xml` + `.bin` + sidecar, published as one set (an IR made outside a
    stage: `tune`'s output tails). The sidecar repeats the embedded metadata with both files' sha256."""
    xml = Path(xml)
    files = StagedSet(xml)
    scratch = new_temp(xml.parent, ".scratch", ".xml")
    try:
        meta = save_ir(model, scratch, meta)
        stage_ir(files, scratch, xml)
        final = meta.with_(sha256=sha256_file(files.temp(xml)), files={xml.with_suffix(".bin").name:
                                                                        meta.bin_sha256},
                           size_bytes=sum(t.stat().st_size for t in files.temps.values()))
        files.write(sidecar_path(xml), json.dumps(final.to_dict(), indent=2) + "\n")
        files.commit()
    finally:
        files.discard()
        for p in (scratch, scratch.with_suffix(".bin")):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
    return xml


def read_onnx(onnx_path: Path):
    """The ov.Model OpenVINO runs for one of our ONNX files (a Q/DQ graph as its same-grid uint8 copy,
    exactly what the OpenVINO runner compiles)."""
    ov = require("openvino", "openvino")
    source = onnx_path
    with contextlib.suppress(Exception):
        source = openvino_copy(str(onnx_path), cache_dir() / "graphs") or onnx_path
    return ov.Core().read_model(str(source))


class IrStage(Stage):
    """An OpenVINO IR made from an ONNX file (the parent, an `OnnxFile`): `.xml` primary, `.bin` owned."""

    hint: str | None = None

    def __init__(self, path: Path, parent: Stage):
        super().__init__(path, parent)
        self.embedded: ArtifactMetadata | None = None  # what build() saved in the .xml, for publish()

    def owned(self) -> list[Path]:
        return [self.path.with_suffix(".bin")]

    def key(self, ctx) -> str:
        """The stage key, with the versions of OpenVINO and NNCF (they decide the IR's bytes)."""
        tools = {k: v for k, v in versions(*TOOLS).items() if k in TOOLS}
        return hashlib.sha256(json.dumps({"stage": super().key(ctx), "tools": tools}, sort_keys=True).encode()
                              ).hexdigest()

    def parent_record(self, ctx) -> dict:
        """The parent ONNX's absolute path (`tune` delivers its pick to another folder, where a relative
        one would name nothing), its sha256 and the stage that made it."""
        return {"path": str(self.parent.path.resolve()), "sha256": sha256_file(self.parent.path),
                "stage": ctx.parent_meta.stage}

    def model(self, ctx):
        """The ov.Model to save."""
        raise NotImplementedError

    def metadata(self, ctx) -> ArtifactMetadata:
        """The parent ONNX's contract, with this IR's stage, precision and provenance."""
        return ctx.parent_meta.with_(
            kind="openvino-ir", stage=self.name, precision=self.precision, verification=None, extra=None,
            target=None, engine=None, sha256=None, size_bytes=None, files=None, bin_sha256=None,
            contract_sha256=None, other=None,
            openvino={"precision_hint": self.hint} if self.hint else None,
            provenance={"parent": self.parent_record(ctx), "options": self.options(ctx),
                        "versions": versions("openvino", "nncf", "onnx"), "stage_key": self.key(ctx)})

    def build(self, ctx) -> Built:
        scratch = new_temp(self.path.parent, ".scratch", ".xml")
        try:
            self.embedded = save_ir(self.model(ctx), scratch, self.metadata(ctx))
        except BaseException:
            for p in (scratch, scratch.with_suffix(".bin")):
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()
            raise
        return Built(file=scratch, scratch=[scratch.with_suffix(".bin")])

    def verify(self, ctx, candidate, parent_outputs):
        return verify_sizes(ctx, lambda b: run_ir(candidate, b), parent_outputs(), self.tolerance, self.uint8)

    def outputs(self, ctx, path):
        return {s: run_ir(path, ctx.batches(s, self.uint8)) for s in ctx.sizes}

    def publish(self, ctx, built, candidate, record, files):
        stage_ir(files, candidate, self.path)
        size = sum(files.temp(p).stat().st_size for p in (self.path, *self.owned()))
        return self.embedded.with_(verification=record["verification"], extra=record["extra"] or None,
                                   size_bytes=size)

    def describe(self, path, meta):
        return {"nodes": None, "size_bytes": ir_size(path)}


class OpenVinoIr(IrStage):
    """What OpenVINO runs for one of our ONNX files, as an IR (a BF16 hint makes a `.bf16.xml`)."""

    name = "openvino"

    def __init__(self, parent: Stage, precision: str, hint: str | None = None, uint8: bool = False,
                 labels: bool = False):
        super().__init__(path_for(self.name, parent=parent.path, hint=hint), parent)
        self.hint, self.uint8 = hint, uint8
        self.precision = "bf16" if hint == "bf16" else precision
        self.tolerance = "labels" if labels else self.precision

    def options(self, ctx):
        return {"precision_hint": self.hint}

    def model(self, ctx):
        return read_onnx(self.parent.path)


class NncfIr(IrStage):
    """NNCF's INT8 of the verified FP32 model (read by OpenVINO), with accuracy control when given
    `accuracy` = (val items, metric, budget, val id); judged against the FP32 ONNX as INT8 is."""

    precision = tolerance = "int8"

    def __init__(self, parent: Stage, calib, accuracy=None):
        self.name = "nncf-ac" if accuracy else "nncf"
        super().__init__(path_for(self.name, parent=parent.path), parent)
        self.calib, self.accuracy = calib, accuracy

    def options(self, ctx):
        options = {"preset": "performance", "calib_sha256": self.calib.sha256, "calib_images": len(self.calib)}
        if self.accuracy:
            options.update(max_miou_drop=self.accuracy[2], val=self.accuracy[3])
        return options

    def model(self, ctx):
        model = read_onnx(self.parent.path)
        inputs = batches(ctx.preprocess, read_images(self.calib.paths), ctx.sizes[0])
        if self.accuracy:
            items, metric, budget, _ = self.accuracy
            return nncf_ov.quantize_with_accuracy(model, inputs, items, metric, budget)
        return nncf_ov.quantize(model, inputs)


def _build(stage: IrStage, ctx: IrContext) -> Path:
    parent_outputs = Lazy(lambda: stage.parent.outputs(ctx, stage.parent.path))
    result, _ = run_stage(ctx, stage, parent_outputs)
    return result.path


def onnx_to_ir(onnx_path: Path, *, precision_hint: str | None = None, images: list | None = None) -> Path:
    """Our ONNX model as an IR for OpenVINO, beside it (reused when built before with the same inputs),
    verified against the ONNX on `images` (default: synthetic ones at its input size)."""
    ctx = IrContext.of(Path(onnx_path), images)
    meta = ctx.parent_meta
    labels = (meta.io.get("output") or {}).get("kind") == "labels"
    stage = OpenVinoIr(OnnxFile(onnx_path, meta.embedded_preprocess), meta.precision, precision_hint,
                       meta.embedded_preprocess, labels)
    return _build(stage, ctx)


def nncf_to_ir(fp32_onnx: Path, calib, accuracy=None) -> Path:
    """NNCF INT8 of the verified FP32 model as an IR, verified on the calibration images (real ones:
    INT8 ranges fit them); `accuracy` = (val items, metric, budget, val id) for accuracy control."""
    images = read_images(calib.paths[:ExportOptions().verify.num_samples])
    ctx = IrContext.of(Path(fp32_onnx), images)
    return _build(NncfIr(OnnxFile(fp32_onnx), calib, accuracy), ctx)
