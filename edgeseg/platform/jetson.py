"""Jetson telemetry: power mode (nvpmodel), locked clocks (jetson_clocks / sysfs), power (tegrastats).

Parsers are pure functions over the tools' text, tested on recorded samples; `PowerSampler`
runs tegrastats in the background during a timed run.

Total power follows each board's power-monitor wiring: boards with a module-input channel
(VDD_IN on Orin NX / Orin Nano / Xavier NX / TX2, POM_5V_IN on Nano, VIN on Thor, where an
INA238 on the carrier measures module plus carrier input) report it; AGX Xavier
(GPU, CPU, SOC, CV, VDDRQ, SYS5V) and AGX Orin (VDD_GPU_SOC, VDD_CPU_CV, VIN_SYS_5V0,
VDDQ_VDD2_1V8AO) have none — their SYS5V / VIN_SYS_5V0 channel monitors the 5 V branch in
parallel with the others, not the module input — so their total is the sum of the rails.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

INPUT_RAILS = ("VDD_IN", "POM_5V_IN", "VIN")  # channels that measure the whole module's (Thor: board's) input
# 'RAIL cur/avg' (JetPack 7.2 adds '/peak'); Thor's VDD_GPU reads slightly negative when the GPU is gated
_RAIL = re.compile(r"\b([A-Z][A-Z0-9_]*)\s+(-?\d+)(?:mW)?/(-?\d+)(?:mW)?\b")
_NOT_RAILS = {"RAM", "SWAP", "IRAM", "NC"}  # 'used/total' memory figures and unconnected channels
LOCKED_RATIO = 0.99  # a clock within 1 % of its maximum counts as pinned there


# -- tegrastats ------------------------------------------------------------------------
def parse_tegrastats_line(line: str) -> dict[str, int]:
    """Instantaneous power per rail (mW) from one tegrastats line ('RAIL cur/avg' pairs)."""
    return {name: int(cur) for name, cur, _avg in _RAIL.findall(line) if name not in _NOT_RAILS}


def total_power(rails: dict[str, int]) -> tuple[int | None, str]:
    """(total mW, how it was obtained) for one reading."""
    for rail in INPUT_RAILS:
        if rail in rails:
            return rails[rail], rail
    if not rails:
        return None, "none"
    return sum(rails.values()), "sum of " + "+".join(rails)


def total_power_mw(rails: dict[str, int]) -> int | None:
    return total_power(rails)[0]


@dataclass
class PowerSummary:
    samples: int
    mean_w: float | None
    peak_w: float | None = None
    total: str = "none"  # which rail, or which sum, the total is
    rails_w: dict = field(default_factory=dict)  # mean per rail
    note: str | None = None

    def fps_per_watt(self, fps: float) -> float | None:
        return None if not self.mean_w else fps / self.mean_w

    def to_dict(self) -> dict:
        return {"samples": self.samples, "mean_w": _r(self.mean_w), "peak_w": _r(self.peak_w), "total": self.total,
                "rails_w": {k: _r(v) for k, v in self.rails_w.items()}, "note": self.note}


def _r(v):
    return None if v is None else round(v, 3)


def summarize_power(lines: list[str], note: str | None = None) -> PowerSummary:
    readings = [r for r in (parse_tegrastats_line(line) for line in lines) if r]
    totals = [total_power(r) for r in readings]
    values = [mw for mw, _ in totals if mw is not None]
    if not values:
        return PowerSummary(0, None, note=note or "no power readings")
    names = list(dict.fromkeys(n for r in readings for n in r))
    rails = {n: sum(r.get(n, 0) for r in readings) / len(readings) / 1000.0 for n in names}
    return PowerSummary(len(values), sum(values) / len(values) / 1000.0, max(values) / 1000.0, totals[-1][1],
                        rails, note)


class PowerSampler:
    """`tegrastats --interval MS` in the background between `start()` and `stop()`.

    The tool runs in its own process group so `stop()` ends it and anything it spawned,
    without touching other processes. Where tegrastats is absent, the summary is empty.
    """

    def __init__(self, interval_ms: int = 100, command: str = "tegrastats"):
        self.command, self.interval_ms = command, interval_ms
        self.lines: list[str] = []
        self.proc: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None

    @property
    def available(self) -> bool:
        return shutil.which(self.command) is not None

    def start(self) -> "PowerSampler":
        if self.proc is not None:
            raise RuntimeError("PowerSampler already started")
        self.lines = []
        if not self.available:
            return self
        self.proc = subprocess.Popen([self.command, "--interval", str(self.interval_ms)], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True,
                                     start_new_session=True)
        self._reader = threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True)
        self._reader.start()
        return self

    def _read(self, stream) -> None:
        for line in stream:
            if line.strip():
                self.lines.append(line.strip())

    def stop(self) -> PowerSummary:
        if self.proc is None:
            return summarize_power([], None if self.available else f"{self.command} not found")
        proc, self.proc = self.proc, None
        early = proc.poll()
        if early is None:
            _signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait(timeout=5)
        self._reader.join(timeout=5)
        proc.stdout.close()
        note = f"{self.command} exited early with code {early}" if early not in (None, 0) else None
        if not self.lines and note is None:
            note = "no tegrastats line during the timed run: time longer (--duration)"
        return summarize_power(self.lines, note)


def _signal_group(proc: subprocess.Popen, sig) -> None:
    try:
        os.killpg(proc.pid, sig)  # its own session: the group id is its pid
    except (ProcessLookupError, PermissionError):
        pass


# -- power mode and clocks ----------------------------------------------------------------
def parse_nvpmodel(text: str) -> dict | None:
    """`nvpmodel -q` -> {'mode': 'MAXN', 'id': 0}; None when it printed no mode (e.g. an error)."""
    m = re.search(r"NV Power Mode:\s*(\S.*)", text)
    if not m:
        return None
    ident = re.search(r"^\s*(\d+)\s*$", text[m.end():], re.M)
    return {"mode": m.group(1).strip(), "id": int(ident.group(1)) if ident else None}


# Orin/Xavier print 'cpu0: Online=1 Governor=...'; Thor prints no Online= field (offline CPUs are not listed)
_CPU_LINE = re.compile(r"^cpu(\d+):\s*(?:Online=(\d))?.*?MinFreq=(\d+)\s+MaxFreq=(\d+)\s+CurrentFreq=(\d+)", re.M)
_UNIT_LINE = r"^{}:?\s+.*?MinFreq=(\d+)\s+MaxFreq=(\d+)\s+CurrentFreq=(\d+)"
_THOR_GPC = re.compile(r"^gpu-gpc-\d+:?\s+.*?MinFreq=(\d+)\s+MaxFreq=(\d+)\s+CurrentFreq=(\d+)", re.M)


def parse_jetson_clocks(text: str) -> dict | None:
    """`jetson_clocks --show`: are the online CPUs and the GPU running at their maximum clock?

    None when the text holds no clock lines (jetson_clocks needs root and says so instead).
    """
    cpus = [(int(mx), int(cur)) for _, online, _mn, mx, cur in _CPU_LINE.findall(text) if online in ("1", "")]
    units = {}
    for unit in ("GPU", "EMC"):
        m = re.search(_UNIT_LINE.format(unit), text, re.M)
        if m:
            units[unit] = (int(m.group(2)), int(m.group(3)))
    gpcs = [(int(mx), int(cur)) for _mn, mx, cur in _THOR_GPC.findall(text)]
    if "GPU" not in units and gpcs:  # Thor: one line per GPC (gpu-gpc-0...); the slowest one decides
        units["GPU"] = min(gpcs, key=lambda p: p[1] / p[0])
    if not cpus and "GPU" not in units:
        return None
    return clock_state(cpus, units.get("GPU"), units.get("EMC"), "jetson_clocks --show")


def clock_state(cpus: list[tuple[int, int]], gpu: tuple[int, int] | None, emc: tuple[int, int] | None,
                source: str) -> dict:
    """Locked = every online CPU and the GPU at (within 1 % of) its maximum; (max, current) pairs in."""
    def at_max(pair):
        return pair[1] >= LOCKED_RATIO * pair[0]

    cpu_locked = bool(cpus) and all(at_max(c) for c in cpus)
    gpu_locked = gpu is not None and at_max(gpu)
    return {"locked": cpu_locked and gpu_locked, "cpu_locked": cpu_locked, "gpu_locked": gpu_locked,
            "emc_locked": None if emc is None else at_max(emc), "online_cpus": len(cpus),
            "cpu_max_khz": max((c[0] for c in cpus), default=None),
            "cpu_cur_khz": min((c[1] for c in cpus), default=None),
            "gpu_max_hz": gpu and gpu[0], "gpu_cur_hz": gpu and gpu[1], "source": source}


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def clocks_from_sysfs(root: Path = Path("/")) -> dict | None:
    """The same decision from cpufreq and devfreq files, which need no root."""
    cpus = []
    for d in sorted((root / "sys/devices/system/cpu").glob("cpu[0-9]*/cpufreq")):
        if _read_int(d.parent / "online") == 0:
            continue
        mx, cur = _read_int(d / "cpuinfo_max_freq"), _read_int(d / "scaling_cur_freq")
        if mx and cur:
            cpus.append((mx, cur))
    gpu = None
    for d in sorted((root / "sys/class/devfreq").glob("*")):
        if re.search(r"gpu|\.g[a-z]\d+b$", d.name):  # 17000000.ga10b (Orin), .gv11b (Xavier), .gpu
            mx, cur = _read_int(d / "max_freq"), _read_int(d / "cur_freq")
            if mx and cur:
                gpu = (mx, cur)
                break
    if not cpus and gpu is None:
        return None
    return clock_state(cpus, gpu, None, "sysfs cpufreq/devfreq")


def _run(argv: list[str]) -> str | None:
    if not shutil.which(argv[0]):
        return None
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=15)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout + done.stderr


def read_state(root: Path = Path("/")) -> dict:
    """Power mode and clock state of this Jetson; None for what could not be read.

    jetson_clocks --show needs root; without it the same decision comes from sysfs under `root`.
    """
    text = _run(["nvpmodel", "-q"])
    clocks = parse_jetson_clocks(_run(["jetson_clocks", "--show"]) or "") or clocks_from_sysfs(root)
    return {"power_mode": parse_nvpmodel(text) if text else None, "clocks": clocks}
