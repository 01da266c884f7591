"""Export settings as plain typed data: one frozen dataclass per concern, no I/O on construction.

`resolve(options, profile)` applies a device profile and returns new options; `check(options,
flags)` refuses what cannot work before the checkpoint loads, naming each option by the
spelling the caller gives in `flags` (the CLI owns that table; library callers get the field
name as a flag). What needs the files themselves (reading a calibration set, probing the GPU)
is each stage's `preflight` (export/plan.py).
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Mapping

from edgeseg.engine import flavors
from edgeseg.engine.builder import BuildSettings, check_settings
from edgeseg.engine.parse_check import CPU_TARGET
from edgeseg.errors import EdgesegError
from edgeseg.export.simplify import DEFAULT as DEFAULT_SIMPLIFIER
from edgeseg.export.simplify import SIMPLIFIERS
from edgeseg.platform import hardware
from edgeseg.platform.devices import load_profile, require_precision
from edgeseg.quant.config import QuantConfig, preset

log = logging.getLogger(__name__)

PRECISIONS = ("fp32", "fp16", "int8", "fp8")
QUANTIZED = ("int8", "fp8")
FORMATS = ("onnx", "engine")


@dataclass(frozen=True)
class ContractOptions:
    """What the model is and what its graph takes and gives."""

    dataset: str | None = None  # camvid | cityscapes; default: guessed from the class count
    variant: str | None = None
    input_size: tuple[int, int] | None = None  # default: the dataset's
    dynamic: bool = False
    verify_sizes: tuple[tuple[int, int], ...] = ()  # for dynamic exports: sizes checked (default: input_size)
    mean_bgr: tuple[float, float, float] | None = None
    std_bgr: tuple[float, float, float] | None = None
    channel_order: str | None = None
    fp16_io: bool = False
    embed_preprocess: bool = False
    argmax: str | None = None  # None, "int32" or "uint8"


@dataclass(frozen=True)
class OnnxOptions:
    opset: int = 17
    simplifier: str = DEFAULT_SIMPLIFIER


@dataclass(frozen=True)
class VerifyOptions:
    samples: str | None = None  # folder, list of real images, or .npy of preprocessed inputs
    num_samples: int = 4
    min_agreement: float | None = None  # override the stated argmax-agreement minimum of every check
    max_rel_diff: float | None = None  # override the stated max |Δ| / max(1, |ref|) of float checks
    allow_mismatch: bool = False  # publish, marked, a quantized artifact another runtime here runs differently

    @property
    def limits(self) -> tuple[float | None, float | None]:
        return self.min_agreement, self.max_rel_diff


@dataclass(frozen=True)
class QuantOptions:
    """INT8/FP8 settings as given; None means the preset's (quant/config.py)."""

    calib: str | None = None
    data: str | None = None
    method: str | None = None
    limit: int | None = None
    percentile: float | None = None
    target: str | None = None
    max_miou_drop: float | None = None
    val: str | None = None
    val_limit: int | None = None
    fallback_limit: int | None = None
    preset: str | None = None
    ray: str | None = None  # the fallback's evaluations on a Ray cluster (the caller passes the scorer)
    fp16_rest: bool | None = None
    fail_on_budget: bool | None = None  # a missed --max-miou-drop ends the run with exit 1 (how it ends, not what is built)

    def given(self) -> dict:
        """The settings given, in field order (the default preset counts as not given)."""
        return {k: v for k, v in asdict(self).items() if v is not None and not (k == "preset" and v == "tensorrt")}

    def config(self, dtype: str):
        """The QuantConfig these settings make: the preset, then every setting given that is one of
        its fields (so a new QuantConfig field needs only its option here and on the command line)."""
        names = {f.name for f in fields(QuantConfig)}
        given = {("calib_limit" if k == "limit" else k): v for k, v in asdict(self).items() if v is not None}
        return preset(self.preset or "tensorrt").with_(**{k: v for k, v in given.items() if k in names}, dtype=dtype)


@dataclass(frozen=True)
class ExportOptions:
    precision: str = "fp32"
    format: str = "onnx"
    device: str | None = None  # device profile the artifact is for (platform/devices.json)
    save_deploy: bool = False
    contract: ContractOptions = field(default_factory=ContractOptions)
    onnx: OnnxOptions = field(default_factory=OnnxOptions)
    verify: VerifyOptions = field(default_factory=VerifyOptions)
    quant: QuantOptions = field(default_factory=QuantOptions)
    engine: BuildSettings = field(default_factory=BuildSettings)

    @property
    def quantized(self) -> bool:
        return self.precision in QUANTIZED

    def to_dict(self) -> dict:
        return asdict(self)


class Flags:
    """How messages name an option: `flags["quant.calib"]`, else `--calib` from the field name."""

    def __init__(self, table: Mapping[str, str] | None = None):
        self.table = dict(table or {})

    def __getitem__(self, path: str) -> str:
        return self.table.get(path) or "--" + path.rpartition(".")[2].replace("_", "-")

    def join(self, group: str, names) -> str:
        return ", ".join(self[f"{group}.{n}"] for n in names)


def resolve(options: ExportOptions, profile=None) -> ExportOptions:
    """`options` for device profile `profile` (platform/devices.py; None: as given): its precisions
    are checked, an INT8 ONNX export gets its measured placement, an engine its settings."""
    if profile is None:
        return options

    require_precision(profile, options.precision)
    q = options.quant
    if options.precision == "int8" and options.format == "onnx" and not (q.preset or q.target):
        options = replace(options, quant=replace(q, preset=profile.int8_placement()))
        if profile.int8_by_isa and profile.int8_row() is None:
            log.warning("no INT8 placement was measured on a CPU like this one (%s): the TensorRT placement, verified "
                        "on each runtime here by this export; `edgeseg tune` measures the fastest within a budget here",
                        "/".join(hardware.this_isa()) or "unknown ISA")
    return replace(options, engine=replace(options.engine, device=profile.name))


def prepared(options: ExportOptions, flags: Mapping[str, str] | None = None) -> ExportOptions:
    """`resolve` with the profile `options.device` names, then `check`: the options a run uses."""
    options = resolve(options, load_profile(options.device) if options.device else None)
    check(options, flags)
    return options


def check(o: ExportOptions, flags: Mapping[str, str] | None = None) -> None:
    """Every option must work and do something for the chosen precision and format, or be refused
    here, before the checkpoint loads: never minutes of export first, never silently ignored."""
    f = Flags(flags)
    for name, allowed in (("precision", PRECISIONS), ("format", FORMATS)):
        if getattr(o, name) not in allowed:
            raise EdgesegError(f"{f[name]} must be one of {', '.join(allowed)}, got {getattr(o, name)!r}")
    _check_values(o, f)
    if o.contract.verify_sizes and not o.contract.dynamic:
        raise EdgesegError(f"{f['contract.verify_sizes']} only applies to {f['contract.dynamic']} exports "
                           "(a static model has one size)")
    if o.format == "engine" and o.precision == "int8" and (o.quant.target or o.quant.preset) == "cpu":
        raise EdgesegError(f"{f['format']} engine: {f['quant.preset']}/{f['quant.target']} cpu makes {CPU_TARGET}; "
                           "use the tensorrt preset for engines")
    given = o.quant.given()
    if not o.quantized and given:
        one = len(given) == 1
        raise EdgesegError(f"{f.join('quant', given)} only appl{'ies' if one else 'y'} to {f['precision']} int8/fp8 "
                           f"(this export is {o.precision}); drop {'it' if one else 'them'}")
    if o.quantized:
        _check_quant(o.quant, o.precision, f)
    engine_only = [n.name for n in fields(BuildSettings)
                   if n.name != "device" and getattr(o.engine, n.name) != n.default]
    if o.format != "engine" and engine_only:
        one = len(engine_only) == 1
        raise EdgesegError(f"{f.join('engine', engine_only)} only appl{'ies' if one else 'y'} to {f['format']} engine")
    if o.format == "engine":
        _check_engine(o.engine, o.precision, f)


def _check_values(o: ExportOptions, f: Flags) -> None:
    c, v = o.contract, o.verify
    if o.onnx.simplifier not in SIMPLIFIERS:
        raise EdgesegError(f"{f['onnx.simplifier']} must be one of {', '.join(SIMPLIFIERS)}, got {o.onnx.simplifier!r}")
    if not 11 <= o.onnx.opset <= 21:
        raise EdgesegError(f"{f['onnx.opset']} must be between 11 and 21, got {o.onnx.opset}")
    if c.argmax not in (None, "int32", "uint8"):
        raise EdgesegError(f"{f['contract.argmax']} must be int32 or uint8, got {c.argmax!r}")
    if v.num_samples < 1:
        raise EdgesegError(f"{f['verify.num_samples']} must be at least 1")
    if v.min_agreement is not None and not 0.0 <= v.min_agreement <= 1.0:
        raise EdgesegError(f"{f['verify.min_agreement']} must be within 0..1, got {v.min_agreement}")
    if o.precision == "fp8" and "cpu" in (o.quant.target, o.quant.preset):
        raise EdgesegError(f"{f['precision']} fp8 is for TensorRT (Ada/Hopper/Blackwell GPUs); "
                           f"{f['quant.target']} cpu is int8 only")
    if c.fp16_io and o.precision != "fp16":
        raise EdgesegError(f"{f['contract.fp16_io']} only applies to {f['precision']} fp16")


def _check_quant(q: QuantOptions, precision: str, f: Flags) -> None:
    if not q.calib:
        raise EdgesegError(f"{f['precision']} {precision} needs {f['quant.calib']} (a manifest from "
                           "`edgeseg calib make`, a list file or a folder)")
    for key, least in (("limit", 1), ("val_limit", 1), ("fallback_limit", 0)):
        if getattr(q, key) is not None and getattr(q, key) < least:
            raise EdgesegError(f"{f['quant.' + key]} must be at least {least}, got {getattr(q, key)}")
    for key, needs, verb in (("max_miou_drop", "val", "needs"), ("val_limit", "val", "only applies with"),
                             ("fallback_limit", "max_miou_drop", "only applies with")):
        if getattr(q, key) is not None and getattr(q, needs) is None:
            why = " (validation images with labels to measure the drop on)" if verb == "needs" else ""
            raise EdgesegError(f"{f['quant.' + key]} {verb} {f['quant.' + needs]}{why}")
    if q.fail_on_budget and q.max_miou_drop is None:
        raise EdgesegError(f"{f['quant.fail_on_budget']} only applies with {f['quant.max_miou_drop']} "
                           "(the budget it fails on)")
    config = q.config(precision)  # method, target, percentile range, budget sign: QuantConfig says what is wrong
    if q.percentile is not None and config.method != "percentile":
        raise EdgesegError(f"{f['quant.percentile']} only applies to {f['quant.method']} percentile "
                           f"(not {config.method})")
    for key in ("calib", "data"):
        if getattr(q, key) and not os.path.exists(getattr(q, key)):
            raise EdgesegError(f"{f['quant.' + key]} {getattr(q, key)}: no such file or folder")
    if q.val and not os.path.exists(q.val) and not os.path.exists(q.val.rpartition(":")[0] or q.val):
        raise EdgesegError(f"{f['quant.val']} {q.val}: no such file or folder")


def _check_engine(settings: BuildSettings, precision: str, f: Flags) -> None:
    check_settings(settings, precision)  # runtime, compute capabilities, workspace, device profile
    try:
        flavors.import_module(flavors.flavor(settings.runtime))
    except EdgesegError as exc:
        raise EdgesegError(f"{f['format']} engine: {exc}; or export the ONNX here and run `edgeseg build MODEL.onnx` "
                           "on the target") from None
