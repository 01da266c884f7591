"""Export settings as plain typed data: one frozen, keyword-only dataclass per concern, each
default written here once, no I/O on construction.

`export_options(**flat)` builds them from flat keywords (what a command line gives);
`resolve(options, profile)` applies a device profile and returns new options; `check(options)`
refuses what cannot work before the checkpoint loads, raising an OptionError that names each
option by its field path (`quant.calib`), which the caller renders its own way (the CLI: its
flags). What needs the files themselves (reading a calibration set, probing the GPU) is each
stage's `preflight` (export/stage.py).
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass, field, fields, replace

from edgeseg.data.datasets import split_root
from edgeseg.engine import flavors
from edgeseg.engine.builder import BuildSettings, check_settings
from edgeseg.engine.parse_check import CPU_TARGET
from edgeseg.export.deepstream import check_export_options
from edgeseg.errors import EdgesegError, OptionError
from edgeseg.errors import field as f
from edgeseg.export.io_wrap import LABEL_TAILS, TAILS
from edgeseg.export.simplify import DEFAULT as DEFAULT_SIMPLIFIER
from edgeseg.export.simplify import SIMPLIFIERS
from edgeseg.platform import hardware
from edgeseg.platform.devices import load_profile, require_precision
from edgeseg.quant.config import QUANTIZED, QuantConfig, preset

log = logging.getLogger(__name__)

PRECISIONS = ("fp32", "fp16") + QUANTIZED
FORMATS = ("onnx", "engine")


@dataclass(frozen=True, kw_only=True)
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
    argmax: str | None = None  # the class map's type, "int32" or "uint8" (a class-map tail without it: uint8)
    tail: str | None = None  # io_wrap.TAILS; None: "argmax" when argmax is given, else logits

    def __post_init__(self):
        """argmax and tail say one thing: either given makes the other (a contradiction is check()'s)."""
        if self.tail is None and self.argmax:
            object.__setattr__(self, "tail", "argmax")
        elif self.tail in LABEL_TAILS and not self.argmax:
            object.__setattr__(self, "argmax", "uint8")


@dataclass(frozen=True, kw_only=True)
class OnnxOptions:
    opset: int = 17
    simplifier: str = DEFAULT_SIMPLIFIER


@dataclass(frozen=True, kw_only=True)
class VerifyOptions:
    samples: str | None = None  # folder, list of real images, or .npy of preprocessed inputs
    num_samples: int = 4
    min_agreement: float | None = None  # override the stated argmax-agreement minimum of every check
    max_rel_diff: float | None = None  # override the stated max |Δ| / max(1, |ref|) of float checks
    allow_mismatch: bool = False  # publish, marked, a quantized artifact another runtime here runs differently

    @property
    def limits(self) -> tuple[float | None, float | None]:
        return self.min_agreement, self.max_rel_diff


@dataclass(frozen=True, kw_only=True)
class QuantOptions:
    """INT8/FP8 settings as given; None means the preset's (quant/config.py)."""

    calib: str | None = None  # manifest, list file or folder of calibration images
    calib_data: str | None = None  # the root that `calib`'s relative paths are read from
    method: str | None = None
    calib_limit: int | None = None
    percentile: float | None = None
    placement: str | None = None  # Q/DQ placement: tensorrt | cpu (default: the preset's)
    max_miou_drop: float | None = None
    max_class_drop: float | None = None  # the fallback also bounds the worst single class's IoU drop
    val: str | None = None  # ROOT[:SPLIT] or a list file: labelled images the drop is measured on
    val_limit: int | None = None
    fallback_limit: int | None = None
    preset: str | None = None
    ray: str | None = None  # the fallback's evaluations on a Ray cluster (the caller passes the scorer)
    fp16_rest: bool | None = None
    fail_on_budget: bool = False  # a missed budget ends the run with exit 1 (how it ends, not what is built)

    def given(self) -> dict:
        """The settings given (not their defaults), in field order; the default preset counts as not given."""
        return {n.name: getattr(self, n.name) for n in fields(self)
                if getattr(self, n.name) != n.default and not (n.name == "preset" and self.preset == "tensorrt")}

    def config(self, dtype: str) -> QuantConfig:
        """The QuantConfig these settings make: the preset, then every setting given that is one of
        its fields (so a new QuantConfig field needs only its option here and on the command line)."""
        names = {n.name for n in fields(QuantConfig)}
        given = {k: v for k, v in asdict(self).items() if v is not None and k in names}
        return preset(self.preset or "tensorrt").with_(**given, dtype=dtype)


@dataclass(frozen=True, kw_only=True)
class ExportOptions:
    precision: str = "fp32"
    format: str = "onnx"
    device: str | None = None  # device profile the artifact is for (platform/devices.json)
    save_deploy: bool = False
    deepstream: bool = False  # also write FINAL.nvinfer.txt, DeepStream's config for the final artifact
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


GROUPS = {"contract": ContractOptions, "onnx": OnnxOptions, "verify": VerifyOptions, "quant": QuantOptions,
          "engine": BuildSettings}
# engine.device is set by `resolve` from the profile `device` names; not an option of its own.
_OWN = {n.name for n in fields(ExportOptions)} - set(GROUPS)


def field_paths() -> dict[str, str]:
    """Each flat keyword of `export_options` -> the field it sets (`calib` -> `quant.calib`)."""
    paths = {name: name for name in _OWN}
    for group, cls in GROUPS.items():
        for n in fields(cls):
            paths.setdefault(n.name, f"{group}.{n.name}")
    return paths


def export_options(**flat) -> ExportOptions:
    """ExportOptions from flat keywords (`precision="int8", calib=..., input_size=(360, 480)`), each
    placed in its concern's dataclass; None means the default, an unknown keyword is refused."""
    paths = field_paths()
    unknown = [k for k in flat if k not in paths]
    if unknown:
        raise TypeError(f"no export option {unknown[0]!r}")
    top, parts = {}, {group: {} for group in GROUPS}
    for key, value in flat.items():
        if value is None:
            continue
        group, _, name = paths[key].rpartition(".")
        (parts[group] if group else top)[name] = value
    return ExportOptions(**top, **{g: GROUPS[g](**v) for g, v in parts.items()})


def resolve(options: ExportOptions, profile=None) -> ExportOptions:
    """`options` for device profile `profile` (platform/devices.py; None: as given): its precisions
    are checked, an INT8 ONNX export gets its measured placement, an engine its settings."""
    if profile is None:
        return options

    require_precision(profile, options.precision)
    q = options.quant
    if options.precision == "int8" and options.format == "onnx" and not (q.preset or q.placement):
        options = replace(options, quant=replace(q, preset=profile.int8_preset()))
        if profile.int8_by_isa and profile.int8_row() is None:
            log.warning("no INT8 placement was measured on a CPU like this one (%s): the TensorRT placement, verified "
                        "on each runtime here by this export; `edgeseg tune` measures the fastest within a budget here",
                        "/".join(hardware.this_isa()) or "unknown ISA")
    return replace(options, engine=replace(options.engine, device=profile.name))


def prepared(options: ExportOptions) -> ExportOptions:
    """`resolve` with the profile `options.device` names, then `check`: the options a run uses."""
    options = resolve(options, load_profile(options.device) if options.device else None)
    check(options)
    return options


def _only(names, what: str) -> str:
    one = len(names) == 1
    return f"{', '.join(names)} only appl{'ies' if one else 'y'} to {what}"


def check(o: ExportOptions) -> None:
    """Every option must work and do something for the chosen precision and format, or be refused
    here, before the checkpoint loads: never minutes of export first, never silently ignored."""
    for name, allowed in (("precision", PRECISIONS), ("format", FORMATS)):
        if getattr(o, name) not in allowed:
            raise OptionError(f"{f(name)} must be one of {', '.join(allowed)}, got {getattr(o, name)!r}")
    _check_values(o)
    if o.contract.verify_sizes and not o.contract.dynamic:
        raise OptionError(f"{f('contract.verify_sizes')} only applies to {f('contract.dynamic')} exports "
                          "(a static model has one size)")
    if o.format == "engine" and o.precision == "int8" and (o.quant.placement or o.quant.preset) == "cpu":
        raise OptionError(f"{f('format')} engine: {f('quant.preset')}/{f('quant.placement')} cpu makes {CPU_TARGET}; "
                          "use the tensorrt preset for engines")
    given = o.quant.given()
    if not o.quantized and given:
        one = len(given) == 1
        raise OptionError(f"{_only([f('quant.' + k) for k in given], f('precision') + ' int8/fp8')} "
                          f"(this export is {o.precision}); drop {'it' if one else 'them'}")
    if o.quantized:
        _check_quant(o.quant, o.precision)
    engine_only = [n.name for n in fields(BuildSettings)
                   if n.name != "device" and getattr(o.engine, n.name) != n.default]
    if o.format != "engine" and engine_only:
        raise OptionError(_only([f("engine." + n) for n in engine_only], f"{f('format')} engine"))
    if o.format == "engine":
        _check_engine(o.engine, o.precision)
    if o.deepstream:  # refuse what nvinfer cannot run before the export starts
        check_export_options(o)


def _check_values(o: ExportOptions) -> None:
    c, v = o.contract, o.verify
    if o.onnx.simplifier not in SIMPLIFIERS:
        raise OptionError(f"{f('onnx.simplifier')} must be one of {', '.join(SIMPLIFIERS)}, got {o.onnx.simplifier!r}")
    if not 11 <= o.onnx.opset <= 21:
        raise OptionError(f"{f('onnx.opset')} must be between 11 and 21, got {o.onnx.opset}")
    if c.argmax not in (None, "int32", "uint8"):
        raise OptionError(f"{f('contract.argmax')} must be int32 or uint8, got {c.argmax!r}")
    if c.tail not in (None, *TAILS):
        raise OptionError(f"{f('contract.tail')} must be one of {', '.join(TAILS)}, got {c.tail!r}")
    if c.tail == "logits" and c.argmax:
        raise OptionError(f"{f('contract.tail')} logits outputs logits: {f('contract.argmax')} needs a class-map "
                          f"tail ({', '.join(LABEL_TAILS)})")
    if c.tail == "argmax-lowres" and c.dynamic:
        raise OptionError(f"{f('contract.tail')} argmax-lowres needs a static output size: not with "
                          f"{f('contract.dynamic')}")
    if v.num_samples < 1:
        raise OptionError(f"{f('verify.num_samples')} must be at least 1")
    if v.min_agreement is not None and not 0.0 <= v.min_agreement <= 1.0:
        raise OptionError(f"{f('verify.min_agreement')} must be within 0..1, got {v.min_agreement}")
    if o.precision == "fp8" and "cpu" in (o.quant.placement, o.quant.preset):
        raise OptionError(f"{f('precision')} fp8 is for TensorRT (Ada/Hopper/Blackwell GPUs); "
                          f"{f('quant.placement')} cpu is int8 only")
    if c.fp16_io and o.precision != "fp16":
        raise OptionError(f"{f('contract.fp16_io')} only applies to {f('precision')} fp16")


def _check_quant(q: QuantOptions, precision: str) -> None:
    if not q.calib:
        raise OptionError(f"{f('precision')} {precision} needs {f('quant.calib')} (a manifest from "
                          "`edgeseg calib make`, a list file or a folder)")
    for key, least in (("calib_limit", 1), ("val_limit", 1), ("fallback_limit", 0)):
        if getattr(q, key) is not None and getattr(q, key) < least:
            raise OptionError(f"{f('quant.' + key)} must be at least {least}, got {getattr(q, key)}")
    for key, needs, verb in (("max_miou_drop", "val", "needs"), ("val_limit", "val", "only applies with"),
                             ("fallback_limit", "max_miou_drop", "only applies with"),
                             ("max_class_drop", "max_miou_drop", "only applies with")):
        if getattr(q, key) is not None and getattr(q, needs) is None:
            why = " (validation images with labels to measure the drop on)" if verb == "needs" else ""
            raise OptionError(f"{f('quant.' + key)} {verb} {f('quant.' + needs)}{why}")
    if q.fail_on_budget and q.max_miou_drop is None:
        raise OptionError(f"{f('quant.fail_on_budget')} only applies with {f('quant.max_miou_drop')} "
                          "(the budget it fails on)")
    config = q.config(precision)  # method, placement, percentile range, budget sign: QuantConfig says what is wrong
    if q.percentile is not None and config.method != "percentile":
        raise OptionError(f"{f('quant.percentile')} only applies to {f('quant.method')} percentile "
                          f"(not {config.method})")
    for key in ("calib", "calib_data"):
        if getattr(q, key) and not os.path.exists(getattr(q, key)):
            raise OptionError(f"{f('quant.' + key)} {getattr(q, key)}: no such file or folder")
    if q.val and not os.path.exists(q.val) and not os.path.exists(split_root(q.val)[0]):
        raise OptionError(f"{f('quant.val')} {q.val}: no such file or folder")


def _check_engine(settings: BuildSettings, precision: str) -> None:
    check_settings(settings, precision)  # runtime, compute capabilities, workspace, device profile
    try:
        flavors.import_module(flavors.flavor(settings.runtime))
    except EdgesegError as exc:
        raise OptionError(f"{f('format')} engine: {exc}; or export the ONNX here and run `edgeseg build MODEL.onnx` "
                          "on the target") from None
