"""The deploy stage: the checkpoint's model with BN folded, dropout and auxiliary heads gone,
verified against the checkpoint's own model.

With `save_deploy` it is a file (`STEM.deploy.pt` and its sidecar), keyed and reused like every
other stage; otherwise it lives in memory for the ONNX export and is not published.
"""

from __future__ import annotations

import copy
import os
import time

from edgeseg.export import parity
from edgeseg.export.stage import Built, Lazy, Stage, StageResult, run_stage
from edgeseg.export.onnx_stages import worst
from edgeseg.metadata import ArtifactMetadata
from edgeseg.workdir import new_temp


def run_torch(model, batches: list) -> list:
    import torch

    with torch.no_grad():
        return [model(torch.from_numpy(b)).numpy() for b in batches]


class Deploy(Stage):
    name = tolerance = "deploy"

    def __init__(self, path, source_model):
        super().__init__(path, None)
        self.source, self._model = source_model, None

    def model(self, ctx):
        """The deploy model, made once (for the ONNX export and this stage's own check)."""
        if self._model is None:
            self._model = copy.deepcopy(self.source).deploy().eval()
        return self._model

    def run(self, ctx) -> tuple[StageResult, Lazy]:
        reference = Lazy(lambda: {s: run_torch(self.source, ctx.batches(s)) for s in ctx.sizes})
        if ctx.options.save_deploy:
            return run_stage(ctx, self, reference)
        t0 = time.perf_counter()  # in memory: verified, never published
        outputs, check, _ = self.verify(ctx, None, reference)
        parity.require_ok(check, self.name)
        result = StageResult(self.name, None, None, None, check, False, time.perf_counter() - t0, self._params())
        return result, Lazy(None, outputs)

    def options(self, ctx):
        return {"variant": ctx.options.contract.variant}

    def build(self, ctx):
        import torch


        tmp = new_temp(ctx.out_dir, f".{self.path.name}", ".pt")
        deploy = self.model(ctx)
        torch.save({"arch": ctx.arch.to_dict(), "resnet34m": ctx.arch.resnet34m,
                    "deploy_state_dict": deploy.state_dict()}, tmp)
        return Built(file=tmp, extra=self._params())

    def verify(self, ctx, candidate, parent_outputs):
        outputs = {s: run_torch(self.model(ctx), ctx.batches(s)) for s in ctx.sizes}
        reference = parent_outputs()
        check = worst(parity.compare(reference[s], outputs[s], self.tolerance, *ctx.options.verify.limits)
                      for s in ctx.sizes)
        return outputs, check, {}

    def publish(self, ctx, built, candidate, record, files):
        """The schema every artifact's sidecar has: the contract the deploy model takes (it is the
        ONNX's source), its provenance and verification; no `io` (a PyTorch module names no tensors)."""
        os.replace(candidate, files.temp(self.path))
        return ArtifactMetadata(kind="pytorch", stage=self.name, precision="fp32", model=ctx.arch.to_dict(),
                                preprocess=ctx.preprocess.to_dict(), dataset=ctx.dataset.to_dict(), io={},
                                provenance={"parent": record["parent"], "options": self.options(ctx),
                                            "stage_key": record["key"]},
                                verification=record["verification"], extra=record["extra"])

    def outputs(self, ctx, path):
        return {s: run_torch(self.model(ctx), ctx.batches(s)) for s in ctx.sizes}

    def _params(self) -> dict:
        return {"params": sum(p.numel() for p in self._model.parameters())} if self._model is not None else {}
