"""Jetson telemetry parsers on recorded samples; the power sampler with a fake tegrastats."""

import os
import stat
import time
from pathlib import Path

import pytest

from edgeseg.bench.devices import check_profile, load_profile
from edgeseg.bench.hardware import Hardware, cpu_model, parse_nvidia_smi
from edgeseg.bench.jetson import (PowerSampler, parse_jetson_clocks, parse_nvpmodel, parse_tegrastats_line,
                                  summarize_power, total_power_mw)
from edgeseg.errors import EdgesegError

SAMPLES = Path(__file__).parent / "samples"


def lines(name):
    return (SAMPLES / name).read_text().splitlines()


def test_tegrastats_total_rail_per_board():
    orin = [parse_tegrastats_line(line) for line in lines("tegrastats_orin_agx.txt")]
    assert orin[0]["VDD_GPU_SOC"] == 3988 and total_power_mw(orin[1]) == 9476
    assert "RAM" not in orin[0] and "EMC_FREQ" not in orin[0]
    assert total_power_mw(parse_tegrastats_line(lines("tegrastats_orin_nano.txt")[0])) == 7840
    assert total_power_mw(parse_tegrastats_line(lines("tegrastats_xavier.txt")[0])) == 1832
    summary = summarize_power(lines("tegrastats_orin_agx.txt"))
    assert summary.samples == 2 and summary.mean_w == pytest.approx(7.0)
    assert summary.fps_per_watt(70.0) == pytest.approx(10.0)


def test_nvpmodel_and_clocks():
    assert parse_nvpmodel((SAMPLES / "nvpmodel_maxn.txt").read_text()) == {"mode": "MAXN", "id": 0}
    assert parse_nvpmodel((SAMPLES / "nvpmodel_15w.txt").read_text()) == {"mode": "15W", "id": 2}
    assert parse_nvpmodel("nothing") is None
    assert parse_jetson_clocks((SAMPLES / "jetson_clocks_locked.txt").read_text())["locked"]
    assert not parse_jetson_clocks((SAMPLES / "jetson_clocks_default.txt").read_text())["locked"]


def test_sampler_runs_a_fake_tegrastats(tmp_path):
    fake = tmp_path / "tegrastats"
    fake.write_text(f"#!/bin/sh\nwhile true; do cat {SAMPLES / 'tegrastats_orin_nano.txt'}; sleep 0.05; done\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    sampler = PowerSampler(command=str(fake)).start()
    time.sleep(0.5)
    summary = sampler.stop()
    assert summary.samples >= 2 and summary.mean_w == pytest.approx(7.84)
    assert sampler.proc.poll() is not None  # stopped


def test_sampler_absent_tool_is_harmless():
    assert PowerSampler(command="no-such-tegrastats").start().stop().samples == 0


def test_profiles_checked_against_hardware():
    x86 = Hardware("x86_64", "AMD EPYC", 2)
    check_profile(load_profile("cpu"), x86)
    with pytest.raises(EdgesegError, match="--device jetson-orin needs a Jetson AGX Orin.*x86_64"):
        check_profile(load_profile("jetson-orin"), x86)
    with pytest.raises(EdgesegError, match="needs an NVIDIA GPU"):
        check_profile(load_profile("cuda"), x86)
    nano = Hardware("aarch64", "ARMv8", 6, [], "NVIDIA Jetson Orin Nano Developer Kit", "36.4.0")
    check_profile(load_profile("jetson-orin-nano"), nano)
    with pytest.raises(EdgesegError, match="this board is NVIDIA Jetson Orin Nano"):
        check_profile(load_profile("jetson-orin"), nano)
    with pytest.raises(EdgesegError, match="unknown device profile"):
        load_profile("raspberry-pi")


def test_hardware_text_parsers():
    assert cpu_model("processor : 0\nmodel name : AMD EPYC 7B13\n") == "AMD EPYC 7B13"
    assert parse_nvidia_smi("NVIDIA H100 80GB HBM3, 9.0, 550.54.15\n") == [
        {"name": "NVIDIA H100 80GB HBM3", "compute_cap": "9.0", "driver": "550.54.15"}]
