"""The INT8 and FP8 stages: calibrated Q/DQ model, verified against FP32, published with its
quantization report (`.quant.json`) and, for INT8, TensorRT's calibration cache (`.calib.cache`).

The quantization itself is edgeseg.quant (pure ONNX -> ONNX); this stage supplies the
calibration set, the validation images, the contract and the files.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from edgeseg.artifacts import graph_sha256
from edgeseg.data.calibset import content_hash, load_calibset, refuse_overlap
from edgeseg.data.contract import Preprocess
from edgeseg.data.datasets import open_dataset, val_split
from edgeseg.errors import OptionError
from edgeseg.errors import field as f
from edgeseg.export import runtimes
from edgeseg.export.naming import path_for
from edgeseg.export.stage import Built
from edgeseg.export.onnx_stages import OnnxStage, load
from edgeseg.memory import check_fits, validation_bytes
from edgeseg.quant.config import budget_missed
from edgeseg.quant.placement import RULES_VERSION
from edgeseg.quant.ptq import quantize
from edgeseg.quant.sensitivity import Validation, local_score
from edgeseg.quant.trt_cache import cache_text

log = logging.getLogger(__name__)

QUANT_JSON, CALIB_CACHE = ".quant.json", ".calib.cache"
SUMMARY_KEYS = ("calib_images", "calib_sha256", "method", "placement", "quantized_layers", "float_layers", "kept_float",
                "ranges_reused", "fp32_miou", "int8_miou", "drop_before", "drop_after", "drop_measured_on",
                "choose_drop_after", "seconds", "warning", "dtype", "float_compute", "opset", "onnxruntime")


def contract(ctx):
    """The preprocessing at the first verified size: what calibration and validation images get."""
    return Preprocess(**{**ctx.preprocess.__dict__, "input_size": ctx.sizes[0]})


def open_validation(ctx, val_source: str, limit: int | None):
    """The validation dataset `val_source` names (ROOT[:SPLIT] or a list file); samples listed, not loaded."""
    root, split = val_split(val_source)
    listed = Path(val_source).is_file()  # a list file names its own dataset's samples
    layout = ctx.dataset.name if listed or ctx.dataset.name != "generic" else "folder"
    return open_dataset(root, layout, split, limit, ctx.dataset)


def _check_validation_memory(ctx, images: int) -> None:
    """The export plus what --val holds (inputs, labels, FP32 logits), checked before any is read:
    Cityscapes val at 1024x2048 would need ~90 GB."""
    size = tuple(ctx.sizes[0])
    held = validation_bytes(images, size, ctx.dataset.num_classes)
    check_fits(ctx.arch.variant, size, export=True, held=held,
               what=f"{ctx.options.precision} export at {size[0]}x{size[1]} with {images} --val images")


def validation(ctx, ds):
    """Validation images with labels, preprocessed by the artifact's contract."""
    batches, labels = [], []
    pre = contract(ctx)
    for sample in ds.samples:
        image, label = ds.load(sample)
        batches.append(pre.apply(image)[None])
        labels.append(label)
    return Validation(tuple(batches), tuple(labels), ctx.dataset.num_classes, ctx.dataset.ignore_index,
                      tuple(ctx.dataset.classes))


class Quantized(OnnxStage):
    """Calibrated Q/DQ: one placement and calibration, two number formats (Int8, Fp8 below)."""

    companions = (QUANT_JSON,)

    def __init__(self, ctx, parent):
        self.config = ctx.options.quant.config(self.precision)
        self.calib = self.val_ds = self._val_sha = None  # read by preflight
        self.val = None  # the validation images, loaded by build (verify measures each runtime's drop on them)
        self.fail_on_budget = bool(ctx.options.quant.fail_on_budget)  # how the run ends, not what is built
        self.allow_mismatch = bool(ctx.options.verify.allow_mismatch)
        super().__init__(path_for(self.name, out_dir=ctx.out_dir, stem=ctx.stem, quant=self.config), parent)

    def preflight(self, ctx):
        """The calibration set and validation split are read and checked here, before any stage runs."""
        q = ctx.options.quant
        self.calib = load_calibset(q.calib, q.calib_data, self.config.calib_limit)
        if q.val:
            self.val_ds = open_validation(ctx, q.val, q.val_limit)
            refuse_overlap(self.calib, [s.image for s in self.val_ds.samples])
            _check_validation_memory(ctx, len(self.val_ds))

    def options(self, ctx):
        return {"quant": self.config.to_dict(), "calib_sha256": self.calib.sha256, "val": self._val_id(),
                "placement_rules": RULES_VERSION}

    def _val_id(self) -> str | None:
        """The --val images and labels by content (not the path they were given by), once per run."""
        if self.val_ds is None:
            return None
        if self._val_sha is None:
            self._val_sha = content_hash([p for s in self.val_ds.samples for p in (s.image, s.label) if p])
        return self._val_sha

    def build(self, ctx):
        if self.calib.warning():
            log.warning(self.calib.warning(gpu=ctx.options.device != "cpu"))
        val = self.val = validation(ctx, self.val_ds) if self.val_ds is not None else None
        parent = load(self.parent.path)
        # calibrated ranges are keyed by the graph, not the file: a renamed checkpoint reuses them
        model, amax, report = quantize(parent, graph_sha256(parent), self.config, self.calib, contract(ctx),
                                       cache_dir=ctx.out_dir / ".calib-cache", val=val, score=ctx.score,
                                       progress=ctx.progress)
        report = report.to_dict()
        companions = {QUANT_JSON: json.dumps(report, indent=2) + "\n", CALIB_CACHE: cache_text(amax)}
        return Built(model=model, extra=self._summary(report), companions={k: companions[k] for k in self.companions})

    def verify(self, ctx, candidate, parent_outputs):
        """ONNX Runtime's check (OnnxStage.verify), then every other runtime that will run it here
        (export/runtimes.py): per-runtime figures in `checks.runtimes`, a mismatch refused or marked."""
        outputs, check, extra = super().verify(ctx, candidate, parent_outputs)
        records = {"onnxruntime": runtimes.onnxruntime_record(ctx, candidate, check, outputs)}
        records.update(runtimes.verify_elsewhere(ctx, candidate, self.precision, self.tolerance, parent_outputs(),
                                                 outputs, check, self.val))
        fp32_miou = None
        if self.val is not None:
            fp32_miou = local_score(load(self.parent.path), self.val)
            records["onnxruntime"]["miou"] = round(local_score(load(candidate), self.val), 2)
        bad = runtimes.judge(records, fp32_miou, ctx.options.verify.allow_mismatch, self.path.name)
        extra["runtimes"] = records
        if bad:
            extra["mismatch"] = bad
        self._budget_per_runtime(records)
        return outputs, check, extra

    def _budget_per_runtime(self, records: dict) -> None:
        """The accuracy budget holds on every runtime that will run the file, not only on ONNX Runtime's."""
        budget = self.config.max_miou_drop
        over = [f"{name} {rec['drop']:.2f}" for name, rec in records.items()
                if budget is not None and rec.get("drop") is not None and rec["drop"] > budget]
        if over:
            missed = f"{f('quant.max_miou_drop')} {budget:g} missed on {', '.join(over)} (mIoU drop per runtime)"
            if self.fail_on_budget:
                raise OptionError(f"{f('quant.fail_on_budget')}: {missed}")
            log.warning("%s", OptionError(missed))  # field paths rendered as flags

    def restored(self, meta):
        """A reused artifact keeps its verdicts: a mismatch is refused again (or warned about under
        --allow-mismatch), and a verification made on another CPU kind is said to be one."""
        checks = (meta.verification or {}).get("checks") or {}
        if checks.get("mismatch"):
            runtimes.judge(checks.get("runtimes") or {}, None, self.allow_mismatch, self.path.name)
        elsewhere = runtimes.bound_elsewhere(checks.get("runtimes") or {})
        if elsewhere:
            log.warning("%s: %s; export into a new folder to verify it here", self.path.name, elsewhere)
        return self._summary(json.loads(self.path.with_name(self.path.name + QUANT_JSON).read_text()))

    def _summary(self, report: dict) -> dict:
        """The report's headline facts; a missed accuracy budget is said, built or reused, and with
        --fail-on-budget ends the export before the artifact is written (exit 1)."""
        extra = {k: v for k, v in report.items() if k in SUMMARY_KEYS}
        missed = budget_missed(self.config, report)
        if missed and self.fail_on_budget:
            raise OptionError(f"{f('quant.fail_on_budget')}: {missed}")
        if missed:
            log.warning(missed)
            extra["budget"] = missed
        return extra


class Int8(Quantized):
    name = tolerance = precision = "int8"
    companions = (QUANT_JSON, CALIB_CACHE)  # TensorRT's implicit calibration cache exists for int8 only


class Fp8(Quantized):
    """E4M3 Q/DQ for TensorRT on Ada, Hopper and Blackwell GPUs."""

    name = tolerance = precision = "fp8"
