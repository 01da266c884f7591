"""What this machine is: CPU, NVIDIA GPU, Jetson board and L4T release. Read, never assumed.

Every reader is a pure function over the text a file or tool gives, so tests feed recorded
samples; `detect()` is the only function that touches the machine.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")
TEGRA_RELEASE = Path("/etc/nv_tegra_release")
DT_MODEL = Path("/proc/device-tree/model")
_RELEASE = re.compile(r"#\s*R(\d+)\s*\(release\),\s*REVISION:\s*(\d+(?:\.\d+)*)(?P<rest>.*)", re.I)
NVIDIA_SMI_QUERY = ["nvidia-smi", "--query-gpu=name,compute_cap,driver_version", "--format=csv,noheader"]


@dataclass
class Hardware:
    machine: str  # platform.machine(): x86_64, aarch64
    cpu: str
    cores: int  # physical cores
    gpus: list[dict] = field(default_factory=list)  # name, compute_cap, driver (nvidia-smi)
    jetson_model: str | None = None  # /proc/device-tree/model of an NVIDIA board
    l4t: str | None = None  # L4T release from /etc/nv_tegra_release, e.g. "36.4.0"
    threads: int | None = None  # logical CPUs this process may run on
    isa: tuple[str, ...] = ()  # the ISA features that decide CPU kernels: AMX, VNNI, BF16, AVX-512, AVX2, NEON, ...

    @property
    def is_jetson(self) -> bool:
        return self.l4t is not None or "jetson" in (self.jetson_model or "").lower()

    @property
    def has_gpu(self) -> bool:
        """A discrete GPU nvidia-smi lists, or a Jetson's integrated one (older L4T has no nvidia-smi)."""
        return bool(self.gpus) or self.is_jetson

    def to_dict(self) -> dict:
        return {**asdict(self), "is_jetson": self.is_jetson}


def cpu_model(cpuinfo: str) -> str:
    """The CPU's marketing name; ARM kernels give no 'model name', so fall back to what they do give."""
    for key in ("model name", "Hardware", "Model"):
        m = re.search(rf"^{key}\s*:\s*(.+)$", cpuinfo, re.M)
        if m:
            return m.group(1).strip()
    part = re.search(r"^CPU part\s*:\s*(0x[0-9a-f]+)$", cpuinfo, re.M | re.I)
    if part:
        return f"ARM CPU part {part.group(1)}"
    return platform.processor() or platform.machine()


def count_cores(cpuinfo: str) -> int | None:
    """Physical cores: distinct (physical id, core id) pairs; None where the kernel omits them (ARM)."""
    pairs, phys = set(), "0"
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "physical id":
            phys = value.strip()
        elif key == "core id":
            pairs.add((phys, value.strip()))
    return len(pairs) or None


def logical_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


@lru_cache(maxsize=1)
def physical_cores() -> int:
    """This machine's physical cores (ONNX Runtime's default intra-op thread count)."""
    text = CPUINFO.read_text(errors="replace") if CPUINFO.exists() else ""
    return min(count_cores(text) or logical_cpus(), logical_cpus())


# ISA features that decide which CPU kernels run (x86 flags / aarch64 Features names), by what they enable.
ISA_FEATURES = {
    "x86_64": {"amx_int8": "AMX", "amx_bf16": "AMX", "amx_tile": "AMX", "avx512_vnni": "VNNI", "avx_vnni": "VNNI",
               "avx512_bf16": "BF16", "avx512f": "AVX-512", "avx2": "AVX2"},
    "aarch64": {"asimd": "NEON", "asimddp": "DOTPROD", "i8mm": "I8MM", "sve": "SVE", "sve2": "SVE", "bf16": "BF16"},
}
BF16_FLAGS = {"x86_64": ("avx512_bf16", "amx_bf16"), "aarch64": ("bf16", "svebf16")}


def cpu_flags(cpuinfo: str) -> tuple[str, ...]:
    """The first CPU's ISA flags (x86 `flags`, Arm `Features`), sorted."""
    m = re.search(r"^(?:flags|Features)\s*:\s*(.*)$", cpuinfo, re.M)
    return tuple(sorted(set(m.group(1).split()))) if m else ()


def isa_summary(flags, machine: str | None = None) -> tuple[str, ...]:
    """The features that matter for inference (AMX, VNNI, BF16, AVX-512, AVX2, NEON, ...), in table order."""
    table = ISA_FEATURES.get(_arch(machine), {})
    have = set(flags)
    return tuple(dict.fromkeys(name for flag, name in table.items() if flag in have))


# oneDNN's ISA cap (ONEDNN_MAX_CPU_ISA, honoured by OpenVINO's CPU plugin) -> the features it leaves usable.
ONEDNN_CAPS = {"SSE41": (), "AVX": (), "AVX2": ("AVX2",), "AVX2_VNNI": ("AVX2", "VNNI"),
               "AVX2_VNNI_2": ("AVX2", "VNNI"), "AVX512_CORE": ("AVX2", "AVX-512"),
               "AVX512_CORE_VNNI": ("AVX2", "AVX-512", "VNNI"), "AVX512_CORE_BF16": ("AVX2", "AVX-512", "VNNI", "BF16"),
               "AVX10_1_512": ("AVX2", "AVX-512", "VNNI", "BF16")}


def onednn_capped(isa: tuple[str, ...], cap: str | None = None) -> tuple[str, ...]:
    """`isa` as oneDNN's kernels see it under ONEDNN_MAX_CPU_ISA (`cap`, default the environment's):
    a lesser CPU's kernels run, so what is measured and chosen is that CPU's. Unset or AMX: unchanged."""
    cap = (os.environ.get("ONEDNN_MAX_CPU_ISA", "") if cap is None else cap).strip().upper()
    if cap not in ONEDNN_CAPS:
        return tuple(isa)
    return tuple(f for f in isa if f in ONEDNN_CAPS[cap])


def this_isa() -> tuple[str, ...]:
    """This machine's ISA features as the CPU kernels will use them (ONEDNN_MAX_CPU_ISA applied)."""
    return onednn_capped(isa_summary(this_cpu_flags()))


def has_bf16(flags, machine: str | None = None) -> bool:
    """Native bfloat16 arithmetic in the CPU's flags (AVX512_BF16 / AMX-BF16; Arm BF16)."""
    return any(f in set(flags) for f in BF16_FLAGS.get(_arch(machine), ()))


def _arch(machine: str | None) -> str:
    m = (machine or platform.machine()).lower()
    return "aarch64" if m in ("arm64", "aarch64") else ("x86_64" if m in ("amd64", "x86_64") else m)


@lru_cache(maxsize=1)
def this_cpu_flags() -> tuple[str, ...]:
    return cpu_flags(CPUINFO.read_text(errors="replace")) if CPUINFO.exists() else ()


def openvino_capabilities(device: str = "CPU") -> tuple[str, ...]:
    """OpenVINO's OPTIMIZATION_CAPABILITIES for a device (FP32, BF16, INT8, ...); () without OpenVINO."""
    try:
        import openvino as ov

        return tuple(str(c) for c in ov.Core().get_property(device, "OPTIMIZATION_CAPABILITIES"))
    except Exception:  # not installed, or no such device: nothing it could run
        return ()


def parse_nvidia_smi(text: str) -> list[dict]:
    """`nvidia-smi --query-gpu=name,compute_cap,driver_version --format=csv,noheader` lines."""
    gpus = []
    for line in text.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) >= 3 and parts[0] and not parts[0].lower().startswith(("error", "failed", "no devices")):
            gpus.append({"name": parts[0], "compute_cap": parts[1], "driver": parts[2]})
    return gpus


@dataclass(frozen=True)
class L4tRelease:
    major: int
    revision: str  # "4.0", "4.3"
    board: str | None = None
    arch: str | None = None

    @property
    def version(self) -> str:
        parts = [str(self.major)] + self.revision.split(".")
        return ".".join((parts + ["0", "0"])[:3])


def parse_nv_tegra_release(text: str) -> L4tRelease | None:
    """'# R36 (release), REVISION: 4.0, GCID: ..., BOARD: generic, EABI: aarch64, ...' -> 36.4.0."""
    m = _RELEASE.search(text or "")
    if not m:
        return None
    fields = dict((k.strip().upper(), v.strip()) for k, _, v in
                  (part.partition(":") for part in m.group("rest").split(",")) if v)
    return L4tRelease(int(m.group(1)), m.group(2), fields.get("BOARD"), fields.get("EABI"))


def board_model(raw: bytes) -> str | None:
    """The device-tree model string, kept only for NVIDIA boards (a Raspberry Pi has one too)."""
    model = raw.rstrip(b"\0").decode(errors="replace").strip()
    return model if re.search(r"jetson|nvidia|tegra", model, re.I) else None


def _nvidia_gpus() -> list[dict]:
    if not shutil.which("nvidia-smi"):
        return []
    try:
        done = subprocess.run(NVIDIA_SMI_QUERY, capture_output=True, text=True, timeout=15)
    except (OSError, subprocess.SubprocessError):
        return []
    return parse_nvidia_smi(done.stdout) if done.returncode == 0 else []


def detect() -> Hardware:
    cpuinfo = CPUINFO.read_text(errors="replace") if CPUINFO.exists() else ""
    hw = Hardware(platform.machine(), cpu_model(cpuinfo), physical_cores(), _nvidia_gpus(), threads=logical_cpus(),
                  isa=onednn_capped(isa_summary(cpu_flags(cpuinfo))))
    hw.l4t, hw.jetson_model = read_jetson()
    return hw


def read_jetson() -> tuple[str | None, str | None]:
    """(L4T release, board model) of this machine; (None, None) off a Jetson."""
    release = parse_nv_tegra_release(TEGRA_RELEASE.read_text(errors="replace")) if TEGRA_RELEASE.exists() else None
    board = board_model(DT_MODEL.read_bytes()) if DT_MODEL.exists() else None
    return (release.version if release else None), board
