"""How a runner runs its artifact: one frozen, keyword-only `RunnerOptions`, passed whole.

Every field belongs to the backends whose runner takes it (the runner's constructor keywords are
the list, `honoured_by`); `open_runner` refuses a field set away from its default that the
artifact's backend cannot honour, in one line, rather than dropping it. Command lines that mix
artifacts (a checkpoint next to ONNX models next to an engine) build one RunnerOptions per
artifact with `edgeseg.runtime.choice.runner_for`, which routes each setting to the artifacts it
is for, so nothing needs dropping.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from edgeseg.errors import OptionError, field

PROVIDERS = ("cpu", "cuda", "tensorrt")
AMP = (None, "fp16", "bf16")
PRECISION_HINTS = (None, "f32", "bf16", "f16", "auto")


@dataclass(frozen=True, kw_only=True)
class RunnerOptions:
    """`device` is never a field here: the device profile is the caller's; the torch device, the
    OpenVINO device and the GPU index are `torch_device`, `ov_device` and `gpu_index`."""

    threads: int | None = None  # CPU threads (torch, ONNX Runtime, OpenVINO)
    class_map: bool = False  # the runtime appends the argmax: infer returns class maps, not logits
    provider: str = "cpu"  # ONNX Runtime execution provider
    torch_device: str = "cpu"  # checkpoints: "cpu", "cuda", "cuda:1"
    amp: str | None = None  # checkpoints on CUDA: autocast dtype
    variant: str | None = None  # checkpoints: architecture, when the file does not say
    dataset: str | None = None  # checkpoints: dataset of the preprocessing contract
    input_size: tuple[int, int] | None = None  # checkpoints: HxW (default: the image's own)
    compile_mode: str | None = None  # checkpoints: torch.compile mode
    ov_device: str = "CPU"  # OpenVINO device name (CPU, GPU, GPU.1, AUTO, ...)
    precision_hint: str | None = None  # OpenVINO float precision (None: the artifact's, else f32)
    cache: bool = True  # OpenVINO compile cache
    uint8_activations: bool = True  # OpenVINO: int8 zero-point-0 activations compiled as uint8 (ov_graph.py)
    streams: int | None = None  # OpenVINO: compiled for throughput with N streams (None: for latency)
    cuda_graph: bool = False  # TensorRT: replay one CUDA graph per shape
    gpu_index: int = 0  # TensorRT: which CUDA device
    runtime_cache: str | None = None  # TensorRT-RTX: JIT kernel cache file

    def __post_init__(self):
        if self.provider not in PROVIDERS:
            raise OptionError(f"unknown ONNX Runtime provider {self.provider!r} for {field('provider')}; "
                              f"choose one of {', '.join(PROVIDERS)}")
        if self.amp not in AMP:
            raise OptionError(f"{field('amp')} must be fp16 or bf16, got {self.amp!r}")
        if self.precision_hint not in PRECISION_HINTS:
            raise OptionError(f"unknown OpenVINO precision {self.precision_hint!r} for {field('precision_hint')}; "
                              f"choose one of {', '.join(p for p in PRECISION_HINTS if p)}")
        if self.streams is not None and int(self.streams) < 1:
            raise OptionError(f"{field('streams')} must be at least 1, got {self.streams}")
        if self.threads is not None and int(self.threads) < 1:
            raise OptionError(f"{field('threads')} must be at least 1, got {self.threads}")
        if self.input_size is not None:
            object.__setattr__(self, "input_size", tuple(int(v) for v in self.input_size))

    def changed(self) -> dict:
        """The fields set away from their defaults (what a backend must be able to honour)."""
        default = RunnerOptions()
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != getattr(default, f.name)}

    def for_runner(self, accepted: set[str]) -> dict:
        """Keywords for a runner whose constructor takes `accepted`."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name in accepted}


def runner_options(**given) -> RunnerOptions:
    """RunnerOptions from keywords, a misspelt name refused in one line (not a TypeError)."""
    names = {f.name for f in fields(RunnerOptions)}
    unknown = sorted(set(given) - names)
    if unknown:
        raise OptionError(f"unknown runner option(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}")
    return RunnerOptions(**given)
