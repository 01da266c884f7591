"""Which artifacts are worth measuring on the target: read from what the machine has, never assumed.

A candidate is a graph (what gets built) run by a backend. On a CPU: FP32 on ONNX Runtime and
OpenVINO; BF16 on OpenVINO where both the CPU's flags and OpenVINO say it has bfloat16; our two
INT8 placements on both runtimes; NNCF INT8 (and NNCF with accuracy control, built only when
plain NNCF misses the budget). On an NVIDIA GPU: see gpu.py.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from edgeseg import runtime as runners
from edgeseg.errors import EdgesegError
from edgeseg.platform import hardware
from edgeseg.platform.hardware import has_bf16


@dataclass(frozen=True)
class Candidate:
    name: str  # unique, what tables show: "int8-cpu openvino"
    graph: str  # what is built: fp32 | int8-tensorrt | int8-cpu | nncf | nncf-ac | fp16 | fp8 | ...
    backend: str  # onnxruntime | openvino | tensorrt | torch
    precision: str  # what the arithmetic is: fp32 | bf16 | fp16 | int8 | fp8
    order: int  # tie-break: a simpler artifact first
    calib: bool = False  # needs calibration images
    hint: str | None = None  # OpenVINO float precision (bf16)
    torch_mode: str | None = None  # torch runner on CUDA: eager | compile
    tail: str | None = None  # output tail (tails.py); None: the graph's logits
    size: tuple[int, int] | None = None  # model input (H, W) when not the run's input size
    threads: int | None = None  # CPU threads when not the run's (the threads axis)
    streams: int | None = None  # OpenVINO streams, compiled for throughput (the throughput objective's axis)

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_row(cls, row: dict) -> "Candidate":
        """The candidate a table row (to_dict plus figures) was measured as."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: (tuple(v) if k == "size" and v else v) for k, v in row.items() if k in names})


BF16_ISAS = ("AVX512_CORE_BF16", "AVX512_CORE_AMX", "AVX10", "ALL", "DEFAULT")  # ONEDNN_MAX_CPU_ISA values with bf16
INT8_PRESETS = {"int8-tensorrt": "tensorrt", "int8-cpu": "cpu"}  # graph -> quant preset of the export


@dataclass(frozen=True)
class CpuFacts:
    """What decides the CPU candidates: runtimes present, ISA flags, OpenVINO's capabilities."""

    machine: str
    flags: tuple[str, ...]
    ov_caps: tuple[str, ...]
    onnxruntime: bool
    openvino: bool
    nncf: bool
    isa_cap: str | None = None  # ONEDNN_MAX_CPU_ISA: oneDNN kept to a lesser CPU's instructions

    @property
    def bf16(self) -> bool:
        capped = self.isa_cap is not None and not self.isa_cap.upper().startswith(BF16_ISAS)
        return "BF16" in self.ov_caps and has_bf16(self.flags, self.machine) and not capped


def cpu_facts() -> CpuFacts:
    import os
    import platform


    ov = runners.installed("openvino")
    return CpuFacts(platform.machine(), hardware.this_cpu_flags(), hardware.openvino_capabilities() if ov else (),
                    runners.installed("onnxruntime"), ov, ov and _found("nncf"), os.environ.get("ONEDNN_MAX_CPU_ISA"))


def _found(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def cpu_candidates(facts: CpuFacts, int8: bool = True) -> tuple[list[Candidate], list[dict]]:
    """(candidates, skipped with the reason), in tie-break order."""
    out: list[Candidate] = []
    skipped: list[dict] = []
    runtimes = [b for b, ok in (("onnxruntime", facts.onnxruntime), ("openvino", facts.openvino)) if ok]
    for backend in runtimes:
        out.append(Candidate(f"fp32 {backend}", "fp32", backend, "fp32", len(out)))
    if facts.bf16:
        out.append(Candidate("bf16 openvino", "fp32", "openvino", "bf16", len(out), hint="bf16"))
    else:
        skipped.append({"name": "bf16 openvino", "reason": _no_bf16(facts)})
    if int8:
        for graph in INT8_PRESETS:
            for backend in runtimes:
                out.append(Candidate(f"{graph} {backend}", graph, backend, "int8", len(out), calib=True))
        if facts.nncf:
            out.append(Candidate("nncf-int8 openvino", "nncf", "openvino", "int8", len(out), calib=True))
        else:
            skipped.append({"name": "nncf-int8 openvino", "reason": "nncf is not installed (pip install 'edgeseg[openvino]')"})
    if not out:
        raise EdgesegError("neither onnxruntime nor openvino can be imported here: nothing to tune")
    return out, skipped


def accuracy_control(order: int) -> Candidate:
    """NNCF with accuracy control: built when plain NNCF INT8 misses the budget."""
    return Candidate("nncf-ac-int8 openvino", "nncf-ac", "openvino", "int8", order, calib=True)


def _no_bf16(facts: CpuFacts) -> str:
    if not facts.openvino:
        return "openvino is not installed"
    if facts.isa_cap and not facts.isa_cap.upper().startswith(BF16_ISAS):
        return f"ONEDNN_MAX_CPU_ISA={facts.isa_cap} keeps OpenVINO's CPU kernels below bfloat16"
    if "BF16" not in facts.ov_caps:
        return f"OpenVINO's CPU capabilities have no BF16 ({', '.join(facts.ov_caps) or 'none read'})"
    return "the CPU's flags have no bfloat16 instructions (avx512_bf16/amx_bf16; Arm bf16)"
