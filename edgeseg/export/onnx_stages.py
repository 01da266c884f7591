"""The ONNX stages: raw export, simplified FP32, FP16, and in-graph pre/post-processing.

Each is an `OnnxStage`: its build returns an in-memory model, its verify runs the candidate
with ONNX Runtime CPU on every verified size and judges each size against its own limit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgeseg.artifacts import scratch_path, set_onnx_metadata, sha256_file, versions
from edgeseg.engine.parse_check import check_stage
from edgeseg.export import io_wrap, metadata, parity, simplify
from edgeseg.export.naming import path_for
from edgeseg.export.onnx_export import export_onnx
from edgeseg.export.stage import Built, Stage
from edgeseg.quant import fp16
from edgeseg.runtime.onnx_runner import OrtRunner


def run_onnx(path: Path, batches: list[np.ndarray]) -> list[np.ndarray]:
    with OrtRunner(path, provider="cpu") as runner:
        return [runner.infer(b) for b in batches]


def worst(checks) -> parity.Parity:
    """The check closest to (or furthest past) its own limit; a failing one before any passing one."""
    def used(c: parity.Parity) -> float:
        if c.max_abs is None or not c.max_abs_allowed:
            return 0.0
        return c.max_abs / c.max_abs_allowed

    return min(checks, key=lambda c: (c.ok, -used(c), c.agreement))


def verify_sizes(ctx, run, parents: dict, tolerance: str, uint8: bool = False):
    """(outputs per size, worst check, per-size checks when there are several): each size is
    judged against its own limit (the limits scale with that size's logits)."""
    outputs = {size: run(ctx.batches(size, uint8)) for size in ctx.sizes}
    checks = {size: parity.compare(parents[size], outputs[size], tolerance, *ctx.options.verify.limits)
              for size in ctx.sizes}
    extra = {}
    if len(checks) > 1:
        extra["per_size"] = {f"{h}x{w}": c.to_dict() for (h, w), c in checks.items()}
    return outputs, worst(checks.values()), extra


def verify_onnx(ctx, path: Path, parents: dict, tolerance: str, uint8: bool = False):
    """Run `path` on every verified size, compare with the parent's outputs there."""
    outputs, check, _ = verify_sizes(ctx, lambda b: run_onnx(path, b), parents, tolerance, uint8)
    return outputs, check


def load(path: Path):
    import onnx

    return onnx.load(str(path))


class OnnxStage(Stage):
    """An ONNX artifact with its metadata inside (metadata_props) and in the sidecar."""

    def verify(self, ctx, candidate, parent_outputs):
        return verify_sizes(ctx, lambda b: run_onnx(candidate, b), parent_outputs(), self.tolerance, self.uint8)

    def checks(self, ctx, candidate):
        """TensorRT's own parser reads every ONNX stage (when one is importable): nobody should learn
        on the Jetson that an op does not parse. A parser error fails the stage."""
        report = check_stage(candidate, self.name)
        return {"tensorrt_parse": report} if report else {}

    def outputs(self, ctx, path):
        return {s: run_onnx(path, ctx.batches(s, self.uint8)) for s in ctx.sizes}

    def publish(self, ctx, built, candidate, record, files):
        import onnx

        proto = built.model
        meta = metadata.build(arch=ctx.arch, dataset=ctx.dataset, preprocess=ctx.preprocess, stage=self.name,
                              precision=self.precision, io=self.io(ctx, proto),
                              provenance={"parent": record["parent"], "options": self.options(ctx),
                                          "versions": versions("torch", "onnx", "onnxruntime", "onnxsim", "onnxslim"),
                                          "stage_key": record["key"]},
                              verification=record["verification"], extra=record["extra"])
        set_onnx_metadata(proto, meta.to_dict())
        onnx.save(proto, str(files.temp(self.path)))
        return meta

    def io(self, ctx, proto) -> dict:
        """The contract's io block, read from the graph."""
        return metadata.onnx_io(proto)

    def describe(self, path, meta):
        import onnx

        return {"nodes": len(onnx.load(str(path), load_external_data=False).graph.node),
                "size_bytes": path.stat().st_size}


class OnnxFile(OnnxStage):
    """An ONNX file already on disk (an earlier export's), the parent of a stage made from it (tune's
    IRs): keyed by its bytes, run for the reference outputs; never built or published here."""

    name = "onnx"

    def __init__(self, path: Path, uint8: bool = False):
        super().__init__(path, None)
        self.uint8 = uint8

    def key(self, ctx) -> str:
        return sha256_file(self.path)


class RawOnnx(OnnxStage):
    """torch.onnx export of the deploy model (BN folded)."""

    name = "raw"

    def options(self, ctx):
        c = ctx.options.contract
        return {"variant": c.variant, "input_size": c.input_size, "dynamic": c.dynamic, "opset": ctx.options.onnx.opset,
                "dataset": c.dataset, "mean_bgr": c.mean_bgr, "std_bgr": c.std_bgr, "channel_order": c.channel_order}

    def build(self, ctx):
        c = ctx.options.contract
        with scratch_path(ctx.out_dir, ".onnx") as tmp:
            export_onnx(self.parent.model(ctx), tmp, tuple(c.input_size or ctx.dataset.input_size), dynamic=c.dynamic,
                        opset=ctx.options.onnx.opset)
            return Built(model=load(tmp))

    def parent_record(self, ctx) -> dict:
        """The deploy model is the checkpoint's, BN folded: the checkpoint is what the ONNX comes from."""
        return {"path": str(ctx.ckpt_path), "sha256": ctx.ckpt_sha}


class Simplified(OnnxStage):
    name = "simplified"

    def options(self, ctx):
        return {"simplifier": ctx.options.onnx.simplifier}

    def build(self, ctx):
        return Built(model=simplify.simplify(load(self.parent.path), ctx.options.onnx.simplifier))


class Fp16(OnnxStage):
    name = tolerance = precision = "fp16"

    def options(self, ctx):
        return {"fp16_io": ctx.options.contract.fp16_io}

    def build(self, ctx):
        return Built(model=fp16.to_fp16(load(self.parent.path), keep_io_float32=not ctx.options.contract.fp16_io))


class IoWrap(OnnxStage):
    """Preprocessing (uint8 NHWC BGR in) and/or argmax (labels out) inside the graph."""

    name = "io"

    def __init__(self, parent: Stage, contract):
        lowres = contract.tail == "argmax-lowres"
        labels = f"{contract.argmax}-lowres" if lowres else contract.argmax  # the file name tells the tails apart
        super().__init__(path_for("io", parent=parent.path, embed_preprocess=contract.embed_preprocess,
                                  argmax=labels), parent)
        self.precision = parent.precision
        self.tolerance = ("labels-lowres" if lowres else "labels") if contract.argmax else parent.tolerance
        self.uint8 = contract.embed_preprocess

    def options(self, ctx):
        c = ctx.options.contract
        return {"embed_preprocess": c.embed_preprocess, "argmax": c.argmax,
                **({"tail": c.tail} if c.tail == "argmax-lowres" else {})}  # argmax's key as before

    def build(self, ctx):
        c = ctx.options.contract
        proto = load(self.parent.path)
        if c.embed_preprocess:
            io_wrap.embed_preprocess(proto, ctx.preprocess)
        if c.tail == "argmax-lowres":
            io_wrap.embed_lowres_argmax(proto, c.argmax, self.parent.path.name)
        elif c.argmax:
            io_wrap.embed_argmax(proto, c.argmax)
        return Built(model=proto)

    def io(self, ctx, proto) -> dict:
        """A class-map output names the tail that made it (`io.output.tail`), as tune's tails do."""
        io = metadata.onnx_io(proto)
        if ctx.options.contract.argmax:
            io["output"]["tail"] = ctx.options.contract.tail
        return io
