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

    @property
    def limits(self) -> tuple[float | None, float | None]:
        return self.min_agreement, self.max_rel_diff

    def stage_options(self, *names: str) -> dict:
        """The subset of options that determines a stage's output (its reuse key)."""
        d = asdict(self)
        return {n: d[n] for n in names}

    def to_dict(self) -> dict:
        return asdict(self)
