"""A quantized artifact verified on each runtime here that will run it, not only on ONNX Runtime.

The INT8/FP8 stage is verified with ONNX Runtime (stage.verify), but `run`, `bench`, `eval` and
`predict` run it on the device profile's default backend (edgeseg.runtime.choice: OpenVINO on a
CPU), whose int8 kernels differ by CPU kind: the same file lost 5–7 mIoU on OpenVINO on an AVX2
CPU while ONNX Runtime's check said ok (issue 28). So the stage also runs its candidate on every
other runtime the profile lists for its precision that is installed here, and records per runtime
(name, version, the CPU's ISA as its kernels see it, agreement with the parent and with ONNX Runtime,
with --val the mIoU drop) in the sidecar's `verification.checks.runtimes`. A runtime that does not
give ONNX Runtime's answer fails the stage (`--allow-mismatch`: published, marked, warned about).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from edgeseg import runtime
from edgeseg.artifacts import versions
from edgeseg.errors import OptionError
from edgeseg.errors import field as f
from edgeseg.export import parity
from edgeseg.platform import hardware
from edgeseg.platform.devices import backends_for, load_profile
from edgeseg.runtime.ort import optimization_level, session

log = logging.getLogger(__name__)

# How much further from the FP32 parent than ONNX Runtime another runtime may be (share of pixels):
# 1 point, or as far again as ONNX Runtime is (on small or out-of-distribution verification images
# both are further off). Both approximate the parent; quantization levels flipped by float rounding
# cascade through S²-FPN's 100+ Q/DQ pairs, so two right runtimes differ by ~0.6 % of pixels on
# CamVid val (benchmarks/results/openvino-int8-agreement.json); the faults this catches put
# OpenVINO 3-7 points further off (saturated int8 convolutions, int8 Concat inputs).
MAX_AGREEMENT_GAP = 0.01
MAX_DROP_GAP = 0.5  # with --val: mIoU points a runtime may lose beyond ONNX Runtime's drop


def other_runtimes(device: str | None, precision: str) -> tuple[str, ...]:
    """Runtimes besides ONNX Runtime that run an ONNX artifact of this precision on `device`'s
    profile (None: the cpu profile, which `run` and `bench` use by default); a GPU profile runs
    engines, verified when they are built, and a precision the profile does not run has none."""
    profile = load_profile(device or "cpu")
    if profile.gpu or precision not in profile.precisions:  # FP8 has no CPU path: bench refuses it there
        return ()
    return tuple(b for b in backends_for(profile, precision) if b != "onnxruntime")


def machine() -> dict:
    """The CPU kind a verification holds for: its model and ISA as the kernels see it."""
    cpuinfo = hardware.CPUINFO.read_text(errors="replace") if hardware.CPUINFO.exists() else ""
    return {"cpu": hardware.cpu_model(cpuinfo), "isa": list(hardware.this_isa())}


def _version(name: str) -> str | None:
    return versions(name).get(name)


def onnxruntime_record(ctx, candidate: Path, check: parity.Parity, outputs: dict) -> dict:
    """ONNX Runtime's figures (its check is the stage's own), with how far its optimised run (what
    users get) is from the graph as its ops define it (ORT_DISABLE_ALL): a measured basis for the
    report's `onnxruntime: default settings` (fused integer kernels round differently, ~0.1-0.3 %)."""
    rec = {"version": _version("onnxruntime"), **machine(), "optimization": optimization_level(str(candidate)),
           "agreement": round(check.agreement, 5), "ok": check.ok}
    if rec["optimization"] != "ORT_DISABLE_ALL":
        sess = session(str(candidate), level="ORT_DISABLE_ALL")
        name = sess.get_inputs()[0].name
        plain = {s: [sess.run(None, {name: b})[0] for b in ctx.batches(s)] for s in ctx.sizes}
        rec["agreement_with_unoptimised"] = round(min(_agreement(outputs[s], plain[s]) for s in ctx.sizes), 5)
    return rec


def verify_elsewhere(ctx, candidate: Path, precision: str, tolerance: str, parents: dict, ort_outputs: dict,
                     ort_check: parity.Parity, val=None) -> dict:
    """{runtime: record} for every other runtime of the profile (not installed: said, not verified):
    ok when it passes the stage's check against the parent and is no further from it than
    MAX_AGREEMENT_GAP beyond ONNX Runtime (or twice ONNX Runtime's distance, when that is more)."""
    records = {}
    for name in other_runtimes(ctx.options.device, precision):
        if not runtime.installed(name):
            records[name] = {"verified": False, "reason": f"{name} is not installed here"}
            continue
        with runtime.open_runner(candidate, name) as runner:
            outputs = {size: [runner.infer(b) for b in ctx.batches(size)] for size in ctx.sizes}
            miou = val.miou(runner.infer(b) for b in val.batches) if val is not None else None
        checks = [parity.compare(parents[s], outputs[s], tolerance, *ctx.options.verify.limits) for s in ctx.sizes]
        worst = min(checks, key=lambda c: (c.ok, c.agreement))
        with_ort = min(_agreement(outputs[s], ort_outputs[s]) for s in ctx.sizes)
        given = ctx.options.verify.min_agreement  # --min-agreement overrides every check's minimum, this one too
        least = given if given is not None else ort_check.agreement - max(MAX_AGREEMENT_GAP, 1 - ort_check.agreement)
        records[name] = {"version": _version(name), **machine(), "agreement": round(worst.agreement, 5),
                         "min_agreement": round(least, 5), "agreement_with_onnxruntime": round(with_ort, 5),
                         "ok": worst.ok and worst.agreement >= least, **({"miou": round(miou, 2)} if miou is not None else {})}
    return records


def _agreement(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    la, lb = (np.concatenate([parity.labels_of(np.asarray(x)) for x in xs]) for xs in (a, b))
    return float((la == lb).mean())


def judge(records: dict, fp32_miou: float | None, allow_mismatch: bool, artifact: str) -> list[str]:
    """Mark each record (drop, ok) and return the mismatches; without `allow_mismatch` one raises."""
    ort = records.get("onnxruntime", {})
    bad = []
    for name, rec in records.items():
        if fp32_miou is not None and rec.get("miou") is not None:
            rec["drop"] = round(fp32_miou - rec["miou"], 2)
        if name != "onnxruntime" and rec.get("drop") is not None and ort.get("drop") is not None \
                and rec["drop"] > ort["drop"] + MAX_DROP_GAP:
            rec["ok"] = False  # it loses more than ONNX Runtime's drop allows
        if name != "onnxruntime" and rec.get("verified", True) and not rec["ok"]:  # ORT's own check raises itself
            rec["mismatch"] = True
            bad.append(describe(name, rec, artifact))
    if bad and not allow_mismatch:
        raise OptionError(bad[0] + "; for OpenVINO use NNCF's IR (edgeseg tune), or publish it marked with "
                                   f"{f('verify.allow_mismatch')}")
    for line in bad:
        log.warning("MISMATCH, published as asked (mismatches allowed): %s", line)
    return bad


def describe(name: str, rec: dict, artifact: str) -> str:
    """One line: what failed on which runtime and CPU kind."""
    parts = [f"argmax agreement with the FP32 model {rec['agreement']:.2%} (need ≥ {rec.get('min_agreement', 0):.2%}, "
             f"from ONNX Runtime's), with ONNX Runtime {rec.get('agreement_with_onnxruntime', 0):.2%}"]
    if rec.get("drop") is not None:
        parts.append(f"mIoU drop {rec['drop']:.2f}")
    return (f"{artifact} on {name} {rec.get('version') or ''} ({'/'.join(rec.get('isa', [])) or 'this CPU'}) "
            f"does not give the verified answer: " + ", ".join(parts))


def bound_elsewhere(records: dict) -> str | None:
    """Why a reused verification does not hold on this machine (another CPU kind), or None."""
    here = machine()
    for name, rec in records.items():
        if rec.get("verified", True) and (rec.get("isa"), rec.get("cpu")) != (here["isa"], here["cpu"]):
            return (f"verified on {name} on {rec.get('cpu')} ({'/'.join(rec.get('isa') or [])}), "
                    f"not on this CPU ({'/'.join(here['isa'])})")
    return None
