"""The TensorRT engine stage: keyed, verified against its ONNX, reused like every other stage.

Key: the ONNX's hash, the engine options (device profile, workspace, shapes, DLA core), the
runtime and its version, and the GPU (TensorRT: the plan only runs where it was built) or the
target compute capabilities (TensorRT-RTX: built ahead of time on any machine). Verification
runs the candidate engine on the ONNX's verification inputs where it can run here; where it
cannot, the check is skipped and the reason recorded in the sidecar (`verification.checks.skipped`).
"""

from __future__ import annotations

import logging
import os

from edgeseg.artifacts import parent_entry
from edgeseg.engine import builder
from edgeseg.engine import cuda as cuda_device
from edgeseg.engine import flavors, rtx
from edgeseg.engine.builder import BuildSettings
from edgeseg.errors import EdgesegError
from edgeseg.export.naming import path_for
from edgeseg.export.options import QUANTIZED
from edgeseg.export.stage import Built, Stage
from edgeseg.export.onnx_stages import verify_sizes
from edgeseg.runtime.tensorrt_runner import TensorRTRunner
from edgeseg.workdir import new_temp

log = logging.getLogger(__name__)

# Options that change the plan; the timing cache only changes how long a build takes.
KEY_OPTIONS = ("device", "workspace_gb", "opt_level", "shapes", "dla_core")


def built_for_here(settings: BuildSettings) -> dict:
    """What the plan is built for: TensorRT's version and this GPU, or the compute capabilities TensorRT-RTX builds for."""
    kind = flavors.flavor(settings.runtime)
    trt = flavors.import_module(kind)
    if kind.aot:
        return {"runtime": kind.runtime, "tensorrt": str(trt.__version__),
                "compute_capabilities": list(rtx.parse_compute_capabilities(settings.compute_capabilities))}
    _cuda, gpu, cc = cuda_device.open_device(0)
    return {"runtime": kind.runtime, "tensorrt": str(trt.__version__), "gpu": gpu, "compute_capability": cc}


def run_engine(path, batches):
    with TensorRTRunner(path) as runner:
        return [runner.infer(b) for b in batches]


class Engine(Stage):
    name = "engine"

    def __init__(self, parent: Stage, settings: BuildSettings):
        super().__init__(path_for("engine", parent=parent.path), parent)
        self.precision, self.uint8, self.settings = parent.precision, parent.uint8, settings
        # TensorRT kernels differ from ONNX Runtime CPU's more than one ONNX stage from another;
        # a quantized parent keeps its own (INT8 or FP8) class
        self.tolerance = parent.precision if parent.precision in QUANTIZED else "fp16"
        self.built_for = None  # read by preflight
        self.built_meta = None  # the plan's metadata, from build() to publish()

    def preflight(self, ctx):
        """No TensorRT or no GPU: refused now, before the ONNX stages run."""
        self.built_for = built_for_here(self.settings)

    def options(self, ctx):
        given = {k: v for k, v in self.settings.to_dict().items() if k in KEY_OPTIONS and v is not None}
        return {"engine": given, "target": self.built_for}

    def build(self, ctx):
        tmp = new_temp(self.path.parent, f".{self.path.name}", ".engine")
        try:
            self.built_meta = builder.build_plan(self.parent.path, tmp, self.settings)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return Built(file=tmp)

    def verify(self, ctx, candidate, parent_outputs):
        reason = runtime_missing(candidate)
        if reason:
            log.warning("engine: not verified against its ONNX (%s)", reason)
            return None, None, {"skipped": reason}
        return verify_sizes(ctx, lambda b: run_engine(candidate, b), parent_outputs(), self.tolerance, self.uint8)

    def outputs(self, ctx, path):
        return {s: run_engine(path, ctx.batches(s, self.uint8)) for s in ctx.sizes}

    def publish(self, ctx, built, candidate, record, files):
        """The builder's metadata with the stage's parent, key and verification (one sidecar, written by the runner)."""
        meta = self.built_meta
        meta = meta.with_(provenance={**meta.provenance, "parent": parent_entry(self.parent.path, self.path),
                                      "stage_key": record["key"]}, verification=record["verification"])
        os.replace(candidate, files.temp(self.path))
        return meta


def runtime_missing(engine_path) -> str | None:
    """Why the engine cannot run here (no runtime, no GPU, another GPU class), or None."""
    try:
        TensorRTRunner(engine_path).check_here()
    except EdgesegError as exc:
        return str(exc)
    return None
