"""Jetson telemetry: power mode (nvpmodel), locked clocks (jetson_clocks), power (tegrastats).

Parsers are pure functions over the tools' text, tested on recorded samples; `PowerSampler`
runs tegrastats in the background during a timed run.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
from dataclasses import dataclass

# Rails that measure the whole module's input, by board generation (first found wins).
TOTAL_RAILS = ("VIN_SYS_5V0", "VDD_IN", "POM_5V_IN", "SYS5V")
_RAIL = re.compile(r"\b([A-Z][A-Z0-9_]*)\s+(\d+)(?:mW)?/(\d+)(?:mW)?")


def parse_nvpmodel(text: str) -> dict | None:
    """`nvpmodel -q` -> {'mode': 'MAXN', 'id': 0}."""
    m = re.search(r"NV Power Mode:\s*(.+)", text)
    if not m:
        return None
    ident = re.search(r"^\s*(\d+)\s*$", text[m.end():], re.M)
    return {"mode": m.group(1).strip(), "id": int(ident.group(1)) if ident else None}


def parse_jetson_clocks(text: str) -> dict:
    """`jetson_clocks --show`: are CPU and GPU clocks pinned at their maximum?"""
    cpus = re.findall(r"^cpu\d+:.*?MinFreq=(\d+) MaxFreq=(\d+) CurrentFreq=(\d+)", text, re.M)
    cpu_locked = bool(cpus) and all(mn == mx == cur for mn, mx, cur in cpus)
    gpu = re.search(r"^GPU MinFreq=(\d+) MaxFreq=(\d+) CurrentFreq=(\d+)", text, re.M)
    gpu_locked = bool(gpu) and gpu.group(1) == gpu.group(2) == gpu.group(3)
    return {"cpu_locked": cpu_locked, "gpu_locked": gpu_locked, "locked": cpu_locked and gpu_locked}


def parse_tegrastats_line(line: str) -> dict[str, int]:
    """Instantaneous power per rail (mW) from one tegrastats line ('RAIL cur/avg' pairs)."""
    rails = {}
    for name, cur, _avg in _RAIL.findall(line):
        if name in ("RAM", "SWAP", "IRAM", "EMC_FREQ", "GR3D_FREQ", "lfb"):
            continue
        rails[name] = int(cur)
    return rails


def total_power_mw(rails: dict[str, int]) -> int | None:
    for rail in TOTAL_RAILS:
        if rail in rails:
            return rails[rail]
    return sum(rails.values()) if rails else None  # boards without an input rail: sum of rails


@dataclass
class PowerSummary:
    samples: int
    mean_w: float | None

    def fps_per_watt(self, fps: float) -> float | None:
        return None if not self.mean_w else fps / self.mean_w


def summarize_power(lines: list[str]) -> PowerSummary:
    values = [v for v in (total_power_mw(parse_tegrastats_line(line)) for line in lines) if v is not None]
    return PowerSummary(len(values), (sum(values) / len(values) / 1000.0) if values else None)


class PowerSampler:
    """`tegrastats --interval MS` in the background; `stop()` returns its summary."""

    def __init__(self, interval_ms: int = 100, command: str = "tegrastats"):
        self.command, self.interval_ms = command, interval_ms
        self.lines: list[str] = []
        self.proc = None
        self._reader = None

    @property
    def available(self) -> bool:
        return shutil.which(self.command) is not None

    def start(self) -> "PowerSampler":
        if not self.available:
            return self
        self.proc = subprocess.Popen([self.command, "--interval", str(self.interval_ms)], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.strip())

    def stop(self) -> PowerSummary:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self._reader.join(timeout=5)
        return summarize_power(self.lines)


def read_state() -> dict:
    """Power mode and clock state of this Jetson (empty where the tools are absent)."""
    state = {}
    for tool, args, parse, key in (("nvpmodel", ["-q"], parse_nvpmodel, "power_mode"),
                                   ("jetson_clocks", ["--show"], parse_jetson_clocks, "clocks")):
        if shutil.which(tool):
            try:
                out = subprocess.run([tool, *args], capture_output=True, text=True, timeout=10).stdout
                state[key] = parse(out)
            except (OSError, subprocess.SubprocessError):
                continue
    return state
