"""INT8 settings: one frozen, validated dataclass with named presets."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

from edgeseg.errors import EdgesegError

METHODS = ("minmax", "entropy", "percentile")
TARGETS = ("tensorrt", "cpu")
DTYPES = ("int8", "fp8")  # fp8: E4M3 Q/DQ (TensorRT on Ada, Hopper, Blackwell)
DEFAULT_METHOD = "percentile"  # measured: closest to FP32 (argmax agreement), benchmarks/results/int8-cpu.json


def check_budget(flag: str, value) -> None:
    """An accuracy budget is a finite number >= 0: nan passes every comparison and inf is not JSON."""
    if value is None or not math.isfinite(value) or value < 0:
        raise EdgesegError(f"{flag} must be a finite number >= 0 (mIoU points), got {value}")


@dataclass(frozen=True)
class QuantConfig:
    method: str = DEFAULT_METHOD
    percentile: float = 99.999
    target: str = "tensorrt"  # Q/DQ placement rules: TensorRT's, or ORT-CPU integer kernels
    per_channel: bool = True  # weights: per output channel (axis 0) or one scale per tensor
    quantize_all: bool = False  # also Sigmoid/Softmax/Resize/MatMul inputs and the classifier (diagnostics)
    quantize_matmul: bool = False  # the strip-attention MatMuls (measured: accuracy cost, little speed)
    bins: int = 2048
    calib_limit: int | None = None
    max_miou_drop: float | None = None  # accuracy-aware fallback budget, in mIoU points
    fallback_limit: int = 24  # at most this many layers kept in float
    keep_float: tuple[str, ...] = ()  # node names never quantized
    dtype: str = "int8"
    # TensorRT target: what is not quantized runs in FP16 (strongly typed builders take precision
    # from the graph); needs opset 19 (FP16 Q/DQ scales). False: FP32 remainder at the export opset.
    fp16_rest: bool = True

    def __post_init__(self):
        if self.method not in METHODS:
            raise EdgesegError(f"--calib-method must be one of {', '.join(METHODS)}, got {self.method!r}")
        if self.target not in TARGETS:
            raise EdgesegError(f"--target must be one of {', '.join(TARGETS)}, got {self.target!r}")
        if not 90.0 <= self.percentile < 100.0:
            raise EdgesegError(f"--calib-percentile must be within [90, 100) %, got {self.percentile}")
        if self.max_miou_drop is not None:
            check_budget("--max-miou-drop", self.max_miou_drop)
        if self.dtype not in DTYPES:
            raise EdgesegError(f"quantized type must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        if self.dtype == "fp8" and self.target != "tensorrt":
            raise EdgesegError("fp8 is a TensorRT format (Ada/Hopper/Blackwell GPUs); --target cpu is int8 only")
        if not self.fp16_rest and self.target != "tensorrt":
            raise EdgesegError("--fp32-rest only applies to the TensorRT placement (the CPU graph is FP32 already)")
        if self.calib_limit is not None and self.calib_limit < 1:
            raise EdgesegError("--calib-limit must be >= 1")

    @property
    def half(self) -> bool:
        """Non-quantized compute in FP16: TensorRT target only (the CPU graph stays FP32)."""
        return self.fp16_rest and self.target == "tensorrt"

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
    "cpu": QuantConfig(target="cpu"),
    # Everything quantized, per-tensor weights, min/max: the configuration INT8 horror stories come from.
    "naive": QuantConfig(method="minmax", per_channel=False, quantize_all=True, quantize_matmul=True),
}


def preset(name: str) -> QuantConfig:
    if name not in PRESETS:
        raise EdgesegError(f"unknown quantization preset {name!r}; known: {', '.join(PRESETS)}")
    return PRESETS[name]


def config_from(options: dict) -> QuantConfig:
    """The config for the CLI's INT8 options (`ExportOptions.quant`): a preset, then overrides."""
    base = preset(options.get("preset", "tensorrt"))
    changes = {k: v for k, v in {
        "method": options.get("method"), "target": options.get("target"),
        "max_miou_drop": options.get("max_miou_drop"), "calib_limit": options.get("limit"),
        "percentile": options.get("percentile"),
        "per_channel": options.get("per_channel"), "quantize_all": options.get("quantize_all"),
        "fallback_limit": options.get("fallback_limit"), "dtype": options.get("dtype"),
        "fp16_rest": options.get("fp16_rest"),
    }.items() if v is not None}
    return base.with_(**changes) if changes else QuantConfig(**base.to_dict())


def artifact_tag(config) -> str:
    """int8, plus whatever differs from the defaults, so variants never overwrite each other."""
    default = QuantConfig()
    parts = [config.dtype]
    if config.method != default.method:
        parts.append(config.method)
    elif config.percentile != default.percentile:
        parts.append(f"p{config.percentile:g}")
    if config.target != default.target:
        parts.append(config.target)
    if not config.half and config.target == "tensorrt":
        parts.append("fp32rest")
    if not config.per_channel:
        parts.append("pertensor")
    if config.quantize_all:
        parts.append("all")
    if config.max_miou_drop is not None:
        parts.append(f"budget{config.max_miou_drop:g}")
    return "-".join(parts)


def budget_missed(config, report: dict) -> str | None:
    """Why the accuracy budget was not met, or None: the artifact is still written, but loudly."""
    drop = report.get("drop_after")
    if config.max_miou_drop is None or drop is None or drop <= config.max_miou_drop:
        return None
    return (f"{config.dtype.upper()} drop {drop:.3f} is still above the budget {config.max_miou_drop:g} with "
            f"{len(report.get('kept_float', []))} layers in float (--fallback-limit {config.fallback_limit}); "
            f"raise the limit, or calibrate with more images or another --calib-method")
