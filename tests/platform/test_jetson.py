"""Jetson telemetry parsers on recorded samples; the power sampler with a fake tegrastats on PATH."""

import os
import stat
import time
from pathlib import Path

import pytest

from edgeseg.platform import jetson
from edgeseg.platform.jetson import (PowerSampler, clocks_from_sysfs, parse_jetson_clocks, parse_nvpmodel,
                                  parse_tegrastats_line, summarize_power, total_power)

SAMPLES = Path(__file__).parent / "samples"


def text(name):
    return (SAMPLES / name).read_text()


def lines(name):
    return text(name).splitlines()


def test_rails_are_read_and_memory_figures_skipped():
    idle = parse_tegrastats_line(lines("tegrastats_orin_agx.txt")[0])
    assert idle == {"VDD_GPU_SOC": 1190, "VDD_CPU_CV": 397, "VIN_SYS_5V0": 2521, "VDDQ_VDD2_1V8AO": 402}
    xavier = parse_tegrastats_line(text("tegrastats_xavier.txt"))  # JetPack 4: no mW suffix
    assert xavier == {"GPU": 0, "CPU": 463, "SOC": 1389, "CV": 0, "VDDRQ": 154, "SYS5V": 1832}
    assert parse_tegrastats_line("RAM 2563/30536MB (lfb 6743x4MB) SWAP 0/15268MB IRAM 0/252kB") == {}


def test_total_power_per_board():
    # module-input channel where the board has one
    assert total_power(parse_tegrastats_line(lines("tegrastats_orin_nano.txt")[1])) == (10720, "VDD_IN")
    assert total_power(parse_tegrastats_line(text("tegrastats_nano_jp4.txt"))) == (5617, "POM_5V_IN")
    # AGX boards: SYS5V / VIN_SYS_5V0 is one branch in parallel with the others, so sum them
    assert total_power(parse_tegrastats_line(text("tegrastats_xavier.txt")))[0] == 463 + 1389 + 154 + 1832
    mw, how = total_power(parse_tegrastats_line(lines("tegrastats_orin_agx.txt")[1]))
    assert mw == 13502 + 1986 + 4810 + 1702 and how == "sum of VDD_GPU_SOC+VDD_CPU_CV+VIN_SYS_5V0+VDDQ_VDD2_1V8AO"
    assert total_power({}) == (None, "none")


def test_power_summary():
    s = summarize_power(lines("tegrastats_orin_nano.txt"))
    assert s.samples == 2 and s.mean_w == pytest.approx(7.84) and s.peak_w == pytest.approx(10.72)
    assert s.total == "VDD_IN" and s.rails_w["VDD_SOC"] == pytest.approx(2.04)
    assert s.fps_per_watt(78.4) == pytest.approx(10.0)
    assert s.to_dict()["mean_w"] == 7.84
    empty = summarize_power(["RAM 1/2MB"])
    assert empty.samples == 0 and empty.mean_w is None and empty.fps_per_watt(10) is None


def test_nvpmodel():
    assert parse_nvpmodel(text("nvpmodel_maxn.txt")) == {"mode": "MAXN", "id": 0}
    assert parse_nvpmodel(text("nvpmodel_15w.txt")) == {"mode": "15W", "id": 2}  # a warning line first
    assert parse_nvpmodel(text("nvpmodel_error.txt")) is None


def test_clocks_locked_from_current_vs_max():
    locked = parse_jetson_clocks(text("jetson_clocks_locked.txt"))
    assert locked["locked"] and locked["emc_locked"] and locked["online_cpus"] == 4
    assert locked["gpu_cur_hz"] == locked["gpu_max_hz"] == 1300500000
    default = parse_jetson_clocks(text("jetson_clocks_default.txt"))
    assert not default["locked"] and not default["cpu_locked"] and not default["gpu_locked"]
    assert default["cpu_cur_khz"] == 729600 and default["cpu_max_khz"] == 2201600
    low_power = parse_jetson_clocks(text("jetson_clocks_15w_locked.txt"))  # offline cores do not count
    assert low_power["locked"] and low_power["online_cpus"] == 4
    assert parse_jetson_clocks(text("jetson_clocks_xavier_locked.txt"))["locked"]
    assert parse_jetson_clocks(text("jetson_clocks_not_root.txt")) is None  # unknown, not "unlocked"


def _sysfs(root: Path, cpus, gpu, offline=()):
    for i, (mx, cur) in enumerate(cpus):
        d = root / f"sys/devices/system/cpu/cpu{i}/cpufreq"
        d.mkdir(parents=True)
        (d / "cpuinfo_max_freq").write_text(f"{mx}\n")
        (d / "scaling_cur_freq").write_text(f"{cur}\n")
        (d.parent / "online").write_text("0\n" if i in offline else "1\n")
    g = root / "sys/class/devfreq/17000000.ga10b"
    g.mkdir(parents=True)
    (g / "max_freq").write_text(f"{gpu[0]}\n")
    (g / "cur_freq").write_text(f"{gpu[1]}\n")
    (root / "sys/class/devfreq/3d00000.host1x").mkdir()  # not the GPU


def test_clocks_from_sysfs_without_root(tmp_path):
    _sysfs(tmp_path / "a", [(2201600, 2201600), (2201600, 2201600), (2201600, 729600)], (1300500000, 1300500000),
           offline=(2,))
    assert clocks_from_sysfs(tmp_path / "a")["locked"]
    _sysfs(tmp_path / "b", [(2201600, 2201600)], (1300500000, 306000000))
    state = clocks_from_sysfs(tmp_path / "b")
    assert state["cpu_locked"] and not state["gpu_locked"] and not state["locked"]
    assert clocks_from_sysfs(tmp_path / "nothing") is None


def _tool(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


@pytest.fixture
def bin_dir(tmp_path, monkeypatch):
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return folder


def test_read_state_with_fake_tools(bin_dir, tmp_path):
    _tool(bin_dir, "nvpmodel", f"cat {SAMPLES / 'nvpmodel_15w.txt'}")
    _tool(bin_dir, "jetson_clocks", f"cat {SAMPLES / 'jetson_clocks_not_root.txt'}; exit 1")
    _sysfs(tmp_path / "root", [(1984000, 1984000)], (612000000, 612000000))
    state = jetson.read_state(tmp_path / "root")  # not root: the clock decision comes from sysfs
    assert state["power_mode"] == {"mode": "15W", "id": 2}
    assert state["clocks"]["locked"] and state["clocks"]["source"] == "sysfs cpufreq/devfreq"
    _tool(bin_dir, "jetson_clocks", f"cat {SAMPLES / 'jetson_clocks_default.txt'}")
    assert jetson.read_state(tmp_path / "root")["clocks"]["source"] == "jetson_clocks --show"


def test_sampler_runs_a_fake_tegrastats_on_path(bin_dir):
    sample = SAMPLES / "tegrastats_orin_nano.txt"
    _tool(bin_dir, "tegrastats", f'[ "$1" = --interval ] || exit 3\nwhile true; do head -1 {sample}; sleep 0.02; done')
    sampler = PowerSampler(interval_ms=20).start()
    assert sampler.available
    with pytest.raises(RuntimeError, match="already started"):
        sampler.start()
    deadline = time.monotonic() + 5
    while len(sampler.lines) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    proc = sampler.proc
    summary = sampler.stop()
    assert proc.poll() is not None and sampler.proc is None  # stopped, and the shell's children with it
    assert summary.samples >= 3 and summary.mean_w == pytest.approx(4.96) and summary.note is None
    again = sampler.start()  # a sampler can be reused for the next artifact
    assert again.stop().samples >= 0


def test_sampler_reports_a_tool_that_dies_or_is_absent(bin_dir):
    _tool(bin_dir, "tegrastats", "echo 'tegrastats: permission denied' >&2; exit 2")
    sampler = PowerSampler().start()
    sampler.proc.wait(timeout=5)
    summary = sampler.stop()
    assert summary.samples == 0 and summary.mean_w is None and "exited early with code 2" in summary.note
    missing = PowerSampler(command="no-such-tegrastats").start().stop()
    assert missing.samples == 0 and missing.note == "no-such-tegrastats not found"
