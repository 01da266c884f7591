"""Accuracy-aware fallback: keep the few layers INT8 hurts most in float, within a budget.

Quantized tensors are ranked by the logits error each causes when quantized alone (mean
squared error against FP32 on two validation images); the nodes reading the worst are kept in
float one group at a time, re-measuring the mIoU drop on the validation set, until it is within
budget (and, with `max_class_drop`, the worst single class's IoU drop is within its own) or the
fallback limit is reached. Same inputs give the same choice. `quantize` chooses on
half of the --val images and reports the drop on the other half (`Validation.split`): a drop
measured on the images the layers were chosen with would flatter the result.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from edgeseg.data.metrics import ConfusionMatrix
from edgeseg.errors import EdgesegError, OptionError
from edgeseg.errors import field as f
from edgeseg.progress import phase
from edgeseg.quant.formats import FORMATS, INT8
from edgeseg.quant.placement import Plan
from edgeseg.quant.placement import plan as make_plan
from edgeseg.quant.qdq import quantize_model
from edgeseg.runtime.ort import iter_cpu, run_cpu

log = logging.getLogger(__name__)


# (ONNX model, validation set) -> mIoU; a scorer with a `confusion(model, val)` method (local_confusion's
# signature) also gives the per-class IoU the class budget needs (fleet.shard.ShardedScore has one).
Score = Callable[[object, "Validation"], float]


@dataclass(frozen=True, eq=False)
class Validation:
    """Validation inputs with labels (what the INT8 fallback chooses with and reports on)."""

    batches: Sequence[np.ndarray]
    labels: Sequence[np.ndarray]
    num_classes: int
    ignore_index: int
    classes: tuple[str, ...] = ()  # the class names, for reports (default: "class N")

    def confusion(self, outputs) -> ConfusionMatrix:
        import cv2

        cm = ConfusionMatrix(self.num_classes, self.ignore_index)
        for out, label in zip(outputs, self.labels):
            logits = out[0]
            if logits.shape[1:] != label.shape:
                logits = cv2.resize(np.ascontiguousarray(logits.transpose(1, 2, 0)), label.shape[::-1]).transpose(2, 0, 1)
            cm.update(label, logits.argmax(0))
        return cm

    def miou(self, outputs) -> float:
        return self.confusion(outputs).miou()

    def split(self) -> tuple["Validation", "Validation"]:
        """(images to choose layers on, held-back images to report the drop on): alternate images,
        so both halves span the split's sequences; deterministic, no seed to record."""
        if len(self.batches) < 2:
            raise OptionError(f"{f('quant.max_miou_drop')} needs at least 2 {f('quant.val')} images (got "
                              f"{len(self.batches)}): one part chooses the layers kept in float, the other measures "
                              "the drop")

        def part(start):
            return Validation(self.batches[start::2], self.labels[start::2], self.num_classes, self.ignore_index,
                              self.classes)

        return part(0), part(1)

    def class_name(self, index: int) -> str:
        return self.classes[index] if index < len(self.classes) else f"class {index}"


def worst_class(fp32_iou: np.ndarray, iou: np.ndarray) -> tuple[int | None, float | None]:
    """(index, IoU drop in points) of the class that lost most; classes absent from both are skipped."""
    drops = (np.asarray(fp32_iou) - np.asarray(iou)) * 100
    if not np.isfinite(drops).any():
        return None, None
    i = int(np.nanargmax(drops))
    return i, float(drops[i])


def local_score(model, val: Validation) -> float:
    """mIoU of an ONNX model on `val`, run here (edgeseg.fleet.shard.ShardedScore: on Ray workers);
    one image's logits at a time, not the whole split's."""
    return local_confusion(model, val).miou()


def local_confusion(model, val: Validation) -> ConfusionMatrix:
    return val.confusion(iter_cpu(model, val.batches))


def measure(score: Score | None, model, val: Validation) -> tuple[float, np.ndarray | None]:
    """(mIoU, per-class IoU or None when the scorer gives only the mean)."""
    how = local_confusion if score is None else getattr(score, "confusion", None)
    if how is not None:
        cm = how(model, val)
        return cm.miou(), cm.per_class_iou()
    return float(score(model, val)), None


def run(model, batches) -> list[np.ndarray]:
    return run_cpu(model, batches)


@dataclass
class Fallback:
    kept_float: list[str]
    drop_before: float
    drop_after: float
    fp32_miou: float
    int8_miou: float
    seconds: float
    ranking: list[tuple[str, float]]
    class_drop_before: float | None = None  # the worst single class's IoU drop, points
    class_drop_after: float | None = None
    worst_class: str | None = None  # the class with the largest drop after


def isolated_ranking(model, plan, amax: dict[str, float], probe, ref, fmt=None,
                     progress=None) -> list[tuple[tuple[str, ...], float]]:
    """Quantized activations ranked by the logits error each causes when it alone is quantized,
    worst first, each with the nodes that read it quantized (keeping those in float removes it).

    Isolated errors rank what actually reaches the output: a tensor with a poor signal-to-noise
    ratio that the network then scales away does not waste a fallback step.
    """
    nodes = list(model.graph.node)
    groups = {t: next((tuple(g) for g in plan.shared if t in g), (t,)) for t in plan.tensors}
    ranking, seen = [], set()
    todo = sorted(set(groups.values()))
    with phase(progress, len(todo), "fallback: ranking quantized tensors") as advance:
        for group in todo:
            ranking += _isolated(model, plan, amax, probe, ref, fmt, nodes, group, seen)
            advance()
    return sorted(ranking, key=lambda r: (-r[1], r[0]))


def _isolated(model, plan, amax, probe, ref, fmt, nodes, group, seen) -> list:
    """[(the nodes reading `group` quantized, the logits error when it alone is quantized)], or []."""
    single = Plan(int32_bias=False, unique_dq=plan.unique_dq)
    for t in group:
        single.activations[t] = list(plan.activations.get(t, [])) or \
            [(i, j) for i, n in enumerate(nodes) for j, x in enumerate(n.input) if x == t]
    single.shared = [list(group)] if len(group) > 1 else []
    names = tuple(sorted({nodes[i].name for t in group for i, _ in single.activations[t]} - seen))
    if not names:
        return []
    outputs = run(quantize_model(model, single, amax, fmt=fmt or INT8), probe)
    return [(names, float(np.mean([np.mean((o - r) ** 2) for o, r in zip(outputs, ref)])))]


def fall_back(model, config, amax, build, val: Validation, fp32_logits, budget: float,
              score: Score | None = None, progress=None) -> tuple[object, Fallback]:
    """`build(keep_float) -> quantized model`; `fp32_logits`: the FP32 model's outputs on `val`;
    `score(model, val) -> mIoU` evaluates each candidate (default: here). Layers go back to float
    until the mIoU drop is within `budget` and, when `config.max_class_drop` is set, the worst
    class's IoU drop within that. Returns the final model and what was done."""
    class_budget = getattr(config, "max_class_drop", None)
    if class_budget is not None and score is not None and not hasattr(score, "confusion"):
        raise EdgesegError("the fallback's scorer gives only the mIoU: the class budget needs per-class IoU "
                           "(a scorer with a confusion(model, val) method)")
    t0 = time.perf_counter()
    fp32_cm = val.confusion(fp32_logits)
    fp32_miou, fp32_iou = fp32_cm.miou(), fp32_cm.per_class_iou()

    def drops(candidate) -> tuple[float, float, float | None, int | None]:
        miou, iou = measure(score, candidate, val)
        cls, cdrop = worst_class(fp32_iou, iou) if iou is not None else (None, None)
        return miou, fp32_miou - miou, cdrop, cls

    def met(drop, cdrop) -> bool:
        return drop <= budget and (class_budget is None or cdrop is None or cdrop <= class_budget)

    current = build(frozenset())
    int8_miou, drop_before, cdrop_before, cls = drops(current)
    done = Fallback([], drop_before, drop_before, fp32_miou, int8_miou, 0.0, [], cdrop_before, cdrop_before,
                    None if cls is None else val.class_name(cls))
    if met(drop_before, cdrop_before) or config.fallback_limit == 0:  # met, or no layer may go back to float
        done.seconds = time.perf_counter() - t0
        return current, done
    probe = val.batches[: min(2, len(val.batches))]
    ranking = isolated_ranking(model, make_plan(model, config), amax, probe, fp32_logits[: len(probe)],
                               FORMATS[config.dtype], progress)
    log.info("fallback: %s drop %.3f (worst class %s) over budget %s (class %s); %d quantized tensors ranked by the "
             "logits error each causes alone (%.0f s)", config.dtype.upper(), drop_before, cdrop_before, budget,
             class_budget, len(ranking), time.perf_counter() - t0)
    kept: list[str] = []
    with phase(progress, None, "fallback: layers back to float until the budget is met") as advance:
        for names, err in ranking:
            new = [n for n in names if n not in kept]
            if not new:
                continue
            if len(kept) + len(new) > config.fallback_limit:
                break
            kept += new
            current = build(frozenset(kept))
            int8_miou, drop, cdrop, cls = drops(current)
            done.kept_float, done.drop_after, done.int8_miou, done.class_drop_after = list(kept), drop, int8_miou, cdrop
            done.worst_class = None if cls is None else val.class_name(cls)
            advance()
            log.info("fallback: %s in float (alone: logits MSE %.3g) -> drop %.3f, worst class %s", ", ".join(new), err,
                     drop, cdrop)
            if met(drop, cdrop):
                break
    done.ranking = [(", ".join(n), float(f"{e:.4g}")) for n, e in ranking[:10]]
    done.seconds = time.perf_counter() - t0
    return current, done


def choose(model, config, amax, build, val: Validation, score: Score | None = None, progress=None):
    """The fallback chosen on every second --val image: (model, Fallback, the held-back images).

    The held-back half is left to report the drop on: a drop measured on the images the layers
    were chosen with would flatter the result."""
    chosen_on, held = val.split()
    fp32_logits = run(model, chosen_on.batches)
    qmodel, fallback = fall_back(model, config, amax, build, chosen_on, fp32_logits, config.max_miou_drop, score,
                                  progress)
    return qmodel, fallback, held
