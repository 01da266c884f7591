"""Export settings: one frozen, validated dataclass, so a run is reproducible from its sidecar."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from edgeseg.errors import EdgesegError
from edgeseg.export.simplify import DEFAULT as DEFAULT_SIMPLIFIER, SIMPLIFIERS

PRECISIONS = ("fp32", "fp16", "int8", "fp8")
FORMATS = ("onnx", "engine")


@dataclass(frozen=True)
class ExportOptions:
    precision: str = "fp32"
    format: str = "onnx"
    dataset: str | None = None  # camvid | cityscapes; default: guessed from the class count
    variant: str | None = None
    input_size: tuple[int, int] | None = None  # default: the dataset's
    dynamic: bool = False
    verify_sizes: tuple[tuple[int, int], ...] = ()  # for --dynamic: sizes checked (default: input_size)
    opset: int = 17
    simplifier: str = DEFAULT_SIMPLIFIER
    fp16_io: bool = False
    embed_preprocess: bool = False
    argmax: str | None = None  # None, "int32" or "uint8"
    mean_bgr: tuple[float, float, float] | None = None
    std_bgr: tuple[float, float, float] | None = None
    channel_order: str | None = None
    samples: str | None = None  # folder or list of real images for verification
    num_samples: int = 4
    save_deploy: bool = False
    min_agreement: float | None = None  # override the stated argmax-agreement minimum of every check
    max_rel_diff: float | None = None  # override the stated max |Δ| / max(1, |ref|) of float checks
    quant: dict = field(default_factory=dict)  # INT8/FP8 settings, passed to edgeseg.quant
    engine: dict = field(default_factory=dict)  # TensorRT settings, passed to edgeseg.engine

    def __post_init__(self):
        if self.engine.get("device"):  # device facts first: fp8 for an Orin is refused before anything runs
            from edgeseg.platform.devices import load_profile, require_precision

            profile = load_profile(self.engine["device"])
            require_precision(profile, self.precision)
            if self.precision == "int8" and self.format == "onnx" and not (self.quant.get("preset") or self.quant.get("target")):
                object.__setattr__(self, "quant", {**self.quant, "preset": profile.int8_placement()})
        if self.precision not in PRECISIONS:
            raise EdgesegError(f"--precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.format not in FORMATS:
            raise EdgesegError(f"--format must be one of {', '.join(FORMATS)}, got {self.format!r}")
        if self.simplifier not in SIMPLIFIERS:
            raise EdgesegError(f"--simplifier must be one of {', '.join(SIMPLIFIERS)}, got {self.simplifier!r}")
        if not 11 <= self.opset <= 21:
            raise EdgesegError(f"--opset must be between 11 and 21, got {self.opset}")
        if self.argmax not in (None, "int32", "uint8"):
            raise EdgesegError(f"--argmax must be int32 or uint8, got {self.argmax!r}")
        if self.num_samples < 1:
            raise EdgesegError("--num-samples must be at least 1")
        if self.min_agreement is not None and not 0.0 <= self.min_agreement <= 1.0:
            raise EdgesegError(f"--min-agreement must be within 0..1, got {self.min_agreement}")
        if self.precision == "fp8" and "cpu" in (self.quant.get("target"), self.quant.get("preset")):
            raise EdgesegError("--precision fp8 is for TensorRT (Ada/Hopper/Blackwell GPUs); --target cpu is int8 only")
        if self.fp16_io and self.precision != "fp16":
            raise EdgesegError("--fp16-io only applies to --precision fp16")
        _check_applicable(self)

    @property
    def limits(self) -> tuple[float | None, float | None]:
        return self.min_agreement, self.max_rel_diff

    def stage_options(self, *names: str) -> dict:
        """The subset of options that determines a stage's output (its reuse key)."""
        d = asdict(self)
        return {n: d[n] for n in names}

    def to_dict(self) -> dict:
        return asdict(self)


# CLI spelling of the INT8 and engine settings, for messages.
QUANT_FLAGS = {"calib": "--calib", "data": "--data", "method": "--calib-method", "limit": "--calib-limit",
               "percentile": "--calib-percentile", "target": "--target", "max_miou_drop": "--max-miou-drop",
               "val": "--val", "val_limit": "--val-limit", "fallback_limit": "--fallback-limit",
               "preset": "--quant-preset", "ray": "--ray", "fp16_rest": "--fp32-rest",
               "fail_on_budget": "--fail-on-budget"}
ENGINE_FLAGS = {"device": "--device", "workspace_gb": "--workspace", "timing_cache": "--timing-cache",
                "runtime": "--runtime", "compute_capabilities": "--compute-capability"}


def _check_applicable(o: ExportOptions) -> None:
    """Every option must work and do something for the chosen precision and format, or be refused
    here, before the checkpoint loads: never minutes of export first, never silently ignored."""
    if o.verify_sizes and not o.dynamic:
        raise EdgesegError("--verify-size only applies to --dynamic exports (a static model has one size)")
    if o.format == "engine" and o.precision == "int8" and (o.quant.get("target") or o.quant.get("preset")) == "cpu":
        from edgeseg.engine.parse_check import CPU_TARGET

        raise EdgesegError(f"--format engine: --quant-preset/--target cpu makes {CPU_TARGET}; use the "
                           "tensorrt preset for engines")
    given = {k: v for k, v in o.quant.items() if v is not None and not (k == "preset" and v == "tensorrt")}
    if o.precision not in ("int8", "fp8"):
        if given:
            flags = ", ".join(QUANT_FLAGS.get(k, k) for k in given)
            raise EdgesegError(f"{flags} only appl{'ies' if len(given) == 1 else 'y'} to --precision int8/fp8 "
                               f"(this export is {o.precision}); drop {'it' if len(given) == 1 else 'them'}")
    else:
        _check_int8(o.quant, o.precision)
    engine_only = [k for k in o.engine if k != "device"]  # --device also says what an ONNX export is for
    if o.format != "engine" and engine_only:
        flags = ", ".join(ENGINE_FLAGS.get(k, k) for k in engine_only)
        raise EdgesegError(f"{flags} only appl{'ies' if len(engine_only) == 1 else 'y'} to --format engine")
    if o.format == "engine":
        _check_engine(o)


def _check_int8(q: dict, precision: str = "int8") -> None:
    import os

    from edgeseg.quant.config import config_from

    if not q.get("calib"):
        raise EdgesegError(f"--precision {precision} needs --calib (a manifest from `edgeseg calib make`, a list file "
                           "or a folder)")
    for key in ("limit", "val_limit", "fallback_limit"):
        if q.get(key) is not None and q[key] < (0 if key == "fallback_limit" else 1):
            raise EdgesegError(f"{QUANT_FLAGS[key]} must be at least {0 if key == 'fallback_limit' else 1}, got {q[key]}")
    if q.get("max_miou_drop") is not None and not q.get("val"):
        raise EdgesegError("--max-miou-drop needs --val (validation images with labels to measure the drop on)")
    if q.get("val_limit") is not None and not q.get("val"):
        raise EdgesegError("--val-limit only applies with --val")
    if q.get("fail_on_budget") and q.get("max_miou_drop") is None:
        raise EdgesegError("--fail-on-budget only applies with --max-miou-drop (the budget it fails on)")
    if q.get("fallback_limit") is not None and q.get("max_miou_drop") is None:
        raise EdgesegError("--fallback-limit only applies with --max-miou-drop")
    config = config_from(q)  # method, target, percentile range, budget sign: QuantConfig says what is wrong
    if q.get("percentile") is not None and config.method != "percentile":
        raise EdgesegError(f"--calib-percentile only applies to --calib-method percentile (not {config.method})")
    for key in ("calib", "data"):
        if q.get(key) and not os.path.exists(q[key]):
            raise EdgesegError(f"{QUANT_FLAGS[key]} {q[key]}: no such file or folder")
    if q.get("val") and not os.path.exists(q["val"]) and not os.path.exists(q["val"].rpartition(":")[0] or q["val"]):
        raise EdgesegError(f"--val {q['val']}: no such file or folder")


def _check_engine(o: ExportOptions) -> None:
    from edgeseg.engine.builder import check_options
    from edgeseg.engine.flavors import flavor, import_module

    check_options(o.engine, o.precision)  # runtime, compute capabilities, workspace, device profile
    try:
        import_module(flavor(o.engine.get("runtime")))
    except EdgesegError as exc:
        raise EdgesegError(f"--format engine: {exc}; or export the ONNX here and run `edgeseg build MODEL.onnx` "
                           "on the target") from None
