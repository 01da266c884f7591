"""What this machine is: CPU, NVIDIA GPU, Jetson board and L4T release. Read, never assumed."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

TEGRA_RELEASE = Path("/etc/nv_tegra_release")
DT_MODEL = Path("/proc/device-tree/model")


@dataclass
class Hardware:
    machine: str
    cpu: str
    cores: int
    gpus: list[dict] = field(default_factory=list)  # name, compute_cap, driver
    jetson_model: str | None = None
    l4t: str | None = None

    @property
    def is_jetson(self) -> bool:
        return self.l4t is not None or (self.jetson_model or "").lower().find("jetson") >= 0

    def to_dict(self) -> dict:
        return {**asdict(self), "is_jetson": self.is_jetson}


def cpu_model(cpuinfo: str) -> str:
    for key in ("model name", "Hardware", "Model"):
        m = re.search(rf"^{key}\s*:\s*(.+)$", cpuinfo, re.M)
        if m:
            return m.group(1).strip()
    return platform.processor() or platform.machine()


def parse_nvidia_smi(text: str) -> list[dict]:
    """`nvidia-smi --query-gpu=name,compute_cap,driver_version --format=csv,noheader` lines."""
    gpus = []
    for line in text.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) >= 3:
            gpus.append({"name": parts[0], "compute_cap": parts[1], "driver": parts[2]})
    return gpus


def parse_l4t(text: str) -> str | None:
    """'# R36 (release), REVISION: 4.0, ...' -> '36.4.0'."""
    m = re.search(r"R(\d+)\s*\(release\),\s*REVISION:\s*([\d.]+)", text)
    return f"{m.group(1)}.{m.group(2)}" if m else None


def detect() -> Hardware:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    hw = Hardware(platform.machine(), cpu_model(cpuinfo), os.cpu_count() or 1)
    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=name,compute_cap,driver_version", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=10).stdout
            hw.gpus = parse_nvidia_smi(out)
        except (OSError, subprocess.SubprocessError):
            pass
    if TEGRA_RELEASE.exists():
        hw.l4t = parse_l4t(TEGRA_RELEASE.read_text(errors="replace"))
    if DT_MODEL.exists():
        hw.jetson_model = DT_MODEL.read_bytes().rstrip(b"\0").decode(errors="replace")
    return hw
