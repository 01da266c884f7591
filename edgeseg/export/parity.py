"""Stage-against-parent checks: largest and mean |Δ| of logits and argmax agreement.

Tolerances are stated here, per tolerance class, and printed with every export. `scale` is
max(1, |reference logits|max) so that models with large logits are compared relatively.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from edgeseg.errors import EdgesegError, OptionError
from edgeseg.errors import field as f

# tolerance class -> (max |Δ| allowed, as a fraction of scale; minimum argmax agreement)
TOLERANCES = {
    "deploy": (1e-3, 0.999),
    "fp32": (1e-3, 0.999),
    "fp16": (5e-2, 0.99),
    "bf16": (1e-1, 0.98),  # OpenVINO's BF16 inference of an FP32 IR: 8 mantissa bits against FP16's 11
    "int8": (None, 0.95),
    "fp8": (None, 0.95),
    "labels": (None, 0.999),
    "labels-lowres": (None, 0.90),  # argmax at the head's resolution: edges move (94.7 % on the demo samples at
    # 180x240, costing 0.3-0.5 mIoU at 360x480, docs/tune.md); accuracy is what a budget (tune) judges
}


@dataclass
class Parity:
    max_abs: float | None
    mean_abs: float | None
    agreement: float
    max_abs_allowed: float | None
    min_agreement: float

    @property
    def ok(self) -> bool:
        within = self.max_abs_allowed is None or self.max_abs is None or self.max_abs <= self.max_abs_allowed
        return within and self.agreement >= self.min_agreement

    def to_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


def labels_of(out: np.ndarray) -> np.ndarray:
    return out if out.ndim == 3 else out.argmax(1)


def compare(reference: list[np.ndarray], outputs: list[np.ndarray], tolerance: str,
            min_agreement: float | None = None, max_rel_diff: float | None = None) -> Parity:
    """Compare a stage's outputs (logits or labels) with its parent's logits, batch by batch.

    `min_agreement` and `max_rel_diff` override the stated limits (for models whose float32
    noise is larger than usual, such as random-weight test models with huge logits).
    """
    frac, min_agree = TOLERANCES[tolerance]
    frac = frac if max_rel_diff is None or frac is None else max_rel_diff
    min_agree = min_agree if min_agreement is None else min_agreement
    ref = np.concatenate([r.astype(np.float32) for r in reference])
    out = np.concatenate([np.asarray(o) for o in outputs])
    if labels_of(out).shape != labels_of(ref).shape:
        raise EdgesegError(f"output shape {out.shape} does not match the parent's {ref.shape}")
    if not np.isfinite(ref).all():
        raise OptionError("the parent's outputs hold NaN or Inf on the verification inputs; the model overflows "
                          f"float32 on them (give real images with {f('verify.samples')})")
    agreement = float((labels_of(out) == ref.argmax(1)).mean())
    if out.ndim == 3:  # labels: only agreement is meaningful
        return Parity(None, None, agreement, None, min_agree)
    diff = np.abs(out.astype(np.float32) - ref)
    scale = max(1.0, float(np.abs(ref).max()))
    allowed = None if frac is None else frac * scale
    return Parity(float(diff.max()), float(diff.mean()), agreement, allowed, min_agree)


def require_ok(parity: Parity, stage: str) -> None:
    if parity.ok:
        return
    parts = [f"argmax agreement {parity.agreement:.4%} (need ≥ {parity.min_agreement:.2%})"]
    if parity.max_abs is not None and parity.max_abs_allowed is not None:
        parts.insert(0, f"max |Δ| {parity.max_abs:.3g} (allowed {parity.max_abs_allowed:.3g})")
    raise EdgesegError(f"stage {stage} failed verification against its parent: " + ", ".join(parts))
