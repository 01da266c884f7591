"""Accuracy-aware fallback: keep the few layers INT8 hurts most in float, within a budget.

Layers are ranked by how much keeping each one alone in float brings the logits back to
FP32's (mean squared error on a few validation images: cheap, and it tracks mIoU); the worst
are then kept in float one at a time, re-measuring the mIoU drop, until it is within budget
or the fallback limit is reached. Same inputs give the same choice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from edgeseg.data.metrics import ConfusionMatrix


@dataclass
class Validation:
    """Validation inputs with labels, and what FP32 makes of them."""

    batches: list[np.ndarray]
    labels: list[np.ndarray]
    num_classes: int
    ignore_index: int
    fp32_logits: list[np.ndarray] = field(default_factory=list)

    def miou(self, outputs) -> float:
        import cv2

        cm = ConfusionMatrix(self.num_classes, self.ignore_index)
        for out, label in zip(outputs, self.labels):
            logits = out[0]
            if logits.shape[1:] != label.shape:
                logits = cv2.resize(np.ascontiguousarray(logits.transpose(1, 2, 0)), label.shape[::-1]).transpose(2, 0, 1)
            cm.update(label, logits.argmax(0))
        return cm.miou()


def run(model, batches) -> list[np.ndarray]:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return [sess.run(None, {name: b})[0] for b in batches]


@dataclass
class Fallback:
    kept_float: list[str]
    drop_before: float
    drop_after: float
    fp32_miou: float
    int8_miou: float
    seconds: float
    ranking: list[tuple[str, float]]


def candidates(plan, model) -> list[str]:
    nodes = list(model.graph.node)
    names = {nodes[i].name for i in plan.weights}
    names |= {nodes[i].name for consumers in plan.activations.values() for i, _ in consumers}
    return sorted(n for n in names if n)


def fall_back(model, config, amax, build, val: Validation, budget: float, log=lambda m: None) -> tuple[object, Fallback]:
    """`build(keep_float) -> quantized model`; returns the final model and what was done."""
    t0 = time.perf_counter()
    fp32_miou = val.miou(val.fp32_logits)
    current = build(frozenset())
    int8_miou = val.miou(run(current, val.batches))
    drop_before = fp32_miou - int8_miou
    if drop_before <= budget:
        return current, Fallback([], drop_before, drop_before, fp32_miou, int8_miou, time.perf_counter() - t0, [])
    from edgeseg.quant.placement import plan as make_plan

    probe = val.batches[: min(4, len(val.batches))]
    ref = val.fp32_logits[: len(probe)]

    def error(m) -> float:
        return float(np.mean([np.mean((o - r) ** 2) for o, r in zip(run(m, probe), ref)]))

    base = error(current)
    ranking = []
    for name in candidates(make_plan(model, config), model):
        ranking.append((name, base - error(build(frozenset({name})))))
    ranking.sort(key=lambda x: (-x[1], x[0]))
    log(f"fallback: INT8 drop {drop_before:.3f} > budget {budget}; ranked {len(ranking)} layers")
    kept: list[str] = []
    drop = drop_before
    for name, _ in ranking[: config.fallback_limit]:
        kept.append(name)
        current = build(frozenset(kept))
        int8_miou = val.miou(run(current, val.batches))
        drop = fp32_miou - int8_miou
        log(f"fallback: {name} kept in float -> drop {drop:.3f}")
        if drop <= budget:
            break
    return current, Fallback(kept, drop_before, drop, fp32_miou, int8_miou, time.perf_counter() - t0, ranking[:10])
