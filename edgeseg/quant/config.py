"""INT8 settings: one frozen, validated dataclass with named presets."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

from edgeseg.errors import EdgesegError, OptionError
from edgeseg.errors import field as f

METHODS = ("minmax", "entropy", "percentile")
PLACEMENTS = ("tensorrt", "cpu")  # Q/DQ placement rules: TensorRT's, or ONNX Runtime CPU integer kernels
QUANTIZED = ("int8", "fp8")  # the quantized precisions; fp8: E4M3 Q/DQ (TensorRT on Ada, Hopper, Blackwell)
DEFAULT_METHOD = "percentile"  # measured: closest to FP32 (argmax agreement), benchmarks/results/int8-cpu.json


def check_budget(path: str, value) -> None:
    """An accuracy budget (the option at field `path`) is a finite number >= 0: nan passes every
    comparison and inf is not JSON."""
    if value is None or not math.isfinite(value) or value < 0:
        raise OptionError(f"{f(path)} must be a finite number >= 0 (mIoU points), got {value}")


@dataclass(frozen=True, kw_only=True)
class QuantConfig:
    method: str = DEFAULT_METHOD
    percentile: float = 99.999
    placement: str = "tensorrt"  # Q/DQ placement rules (PLACEMENTS)
    per_channel: bool = True  # weights: per output channel (axis 0) or one scale per tensor
    quantize_all: bool = False  # also Sigmoid/Softmax/Resize/MatMul inputs and the classifier (diagnostics)
    quantize_matmul: bool = False  # the strip-attention MatMuls (measured: accuracy cost, little speed)
    bins: int = 2048
    calib_limit: int | None = None
    max_miou_drop: float | None = None  # accuracy-aware fallback budget, in mIoU points
    max_class_drop: float | None = None  # and the worst single class's IoU drop, in points (with max_miou_drop)
    fallback_limit: int = 24  # at most this many layers kept in float
    keep_float: tuple[str, ...] = ()  # node names never quantized
    dtype: str = "int8"
    # TensorRT placement: what is not quantized runs in FP16 (strongly typed builders take precision
    # from the graph); needs opset 19 (FP16 Q/DQ scales). False: FP32 remainder at the export opset.
    fp16_rest: bool = True

    def __post_init__(self):
        self.check()

    def check(self) -> None:
        """Refuse a config that cannot work, naming each setting by its export option's field path."""
        if self.method not in METHODS:
            raise OptionError(f"{f('quant.method')} must be one of {', '.join(METHODS)}, got {self.method!r}")
        if self.placement not in PLACEMENTS:
            raise OptionError(f"{f('quant.placement')} must be one of {', '.join(PLACEMENTS)}, got {self.placement!r}")
        if not 90.0 <= self.percentile < 100.0:
            raise OptionError(f"{f('quant.percentile')} must be within [90, 100) %, got {self.percentile}")
        if self.max_miou_drop is not None:
            check_budget("quant.max_miou_drop", self.max_miou_drop)
        if self.max_class_drop is not None:
            check_budget("quant.max_class_drop", self.max_class_drop)
        if self.dtype not in QUANTIZED:
            raise OptionError(f"quantized type must be one of {', '.join(QUANTIZED)}, got {self.dtype!r}")
        if self.dtype == "fp8" and self.placement != "tensorrt":
            raise OptionError(f"fp8 is a TensorRT format (Ada/Hopper/Blackwell GPUs); {f('quant.placement')} cpu is "
                              "int8 only")
        if not self.fp16_rest and self.placement != "tensorrt":
            raise OptionError(f"{f('quant.fp16_rest')} only applies to the TensorRT placement (the CPU graph is "
                              "FP32 already)")
        if self.calib_limit is not None and self.calib_limit < 1:
            raise OptionError(f"{f('quant.calib_limit')} must be >= 1")

    @property
    def half(self) -> bool:
        """Non-quantized compute in FP16: TensorRT placement only (the CPU graph stays FP32)."""
        return self.fp16_rest and self.placement == "tensorrt"

    def with_(self, **changes) -> "QuantConfig":
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def range_key(self) -> dict:
        """What the calibrated ranges depend on (the rest only changes how they are used)."""
        return {"method": self.method, "percentile": self.percentile if self.method == "percentile" else None,
                "bins": self.bins, "calib_limit": self.calib_limit}


PRESETS = {
    "tensorrt": QuantConfig(),
    "cpu": QuantConfig(placement="cpu"),
    # Everything quantized, per-tensor weights, min/max: the configuration INT8 horror stories come from.
    "naive": QuantConfig(method="minmax", per_channel=False, quantize_all=True, quantize_matmul=True),
}


def preset(name: str) -> QuantConfig:
    if name not in PRESETS:
        raise EdgesegError(f"unknown quantization preset {name!r}; known: {', '.join(PRESETS)}")
    return PRESETS[name]


def artifact_tag(config) -> str:
    """int8, plus whatever differs from the defaults, so variants never overwrite each other."""
    default = QuantConfig()
    parts = [config.dtype]
    if config.method != default.method:
        parts.append(config.method)
    elif config.percentile != default.percentile:
        parts.append(f"p{config.percentile:g}")
    if config.placement != default.placement:
        parts.append(config.placement)
    if not config.half and config.placement == "tensorrt":
        parts.append("fp32rest")
    if not config.per_channel:
        parts.append("pertensor")
    if config.quantize_all:
        parts.append("all")
    if config.max_miou_drop is not None:
        parts.append(f"budget{config.max_miou_drop:g}")
    if config.max_class_drop is not None:
        parts.append(f"class{config.max_class_drop:g}")
    return "-".join(parts)


def budget_missed(config, report: dict) -> str | None:
    """Why the accuracy budget was not met, or None: the artifact is still written, but loudly. Logged
    as a warning too, so it names options in words (a log line is not rendered as a command's flags)."""
    drop = report.get("drop_after")
    cls, worst = report.get("class_drop"), report.get("worst_class")
    if config.max_class_drop is not None and cls is not None and cls > config.max_class_drop and \
            (drop is None or drop <= (config.max_miou_drop or 0)):
        return (f"{config.dtype.upper()} worst class drop {cls:.3f} ({worst}) is still above the class budget "
                f"{config.max_class_drop:g} with {len(report.get('kept_float', []))} layers in float; raise the "
                "fallback limit, or calibrate with more images or another method")
    if config.max_miou_drop is None or drop is None or drop <= config.max_miou_drop:
        return None
    return (f"{config.dtype.upper()} drop {drop:.3f} is still above the budget {config.max_miou_drop:g} with "
            f"{len(report.get('kept_float', []))} layers in float (fallback limit {config.fallback_limit}); "
            "raise the limit, or calibrate with more images or another calibration method")
