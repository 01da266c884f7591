"""What the machine is, read from recorded /proc, /etc and nvidia-smi text; profiles checked against it."""

import stat
from pathlib import Path

import pytest

from edgeseg.platform import hardware
from edgeseg.platform.devices import check_profile, load_profile, profile_for_board
from edgeseg.platform.hardware import Hardware, board_model, count_cores, cpu_model, parse_nv_tegra_release, parse_nvidia_smi
from edgeseg.errors import EdgesegError

SAMPLES = Path(__file__).parent / "samples"


def sample(name):
    return (SAMPLES / name).read_text()


def test_cpu_model_and_physical_cores():
    x86 = sample("cpuinfo_x86_ht.txt")
    assert cpu_model(x86) == "Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz"
    assert count_cores(x86) == 2  # four hyper-threads on two cores
    orin = sample("cpuinfo_orin.txt")
    assert cpu_model(orin) == "ARM CPU part 0xd42" and count_cores(orin) is None


def test_nvidia_smi_l4t_and_board_parsers():
    gpus = parse_nvidia_smi(sample("nvidia_smi_2gpu.txt"))
    assert len(gpus) == 2 and gpus[0] == {"name": "NVIDIA H100 80GB HBM3", "compute_cap": "9.0", "driver": "550.54.15"}
    assert parse_nvidia_smi("") == [] and parse_nvidia_smi("No devices were found") == []
    assert parse_nv_tegra_release(sample("nv_tegra_release_r36.txt")).version == "36.4.0"
    assert parse_nv_tegra_release(sample("nv_tegra_release_r32.txt")).version == "32.7.4"
    assert parse_nv_tegra_release("garbage") is None
    assert board_model(b"NVIDIA Jetson AGX Orin Developer Kit\x00") == "NVIDIA Jetson AGX Orin Developer Kit"
    assert board_model(b"Jetson-AGX\x00") == "Jetson-AGX"
    assert board_model(b"Raspberry Pi 4 Model B Rev 1.4\x00") is None  # device trees are not only Jetsons'


def _script(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def fake_machine(tmp_path, monkeypatch):
    """A Jetson Orin Nano as files and tools: cpuinfo, nv_tegra_release, device-tree model, nvidia-smi."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    files = {"CPUINFO": "cpuinfo_orin.txt", "TEGRA_RELEASE": "nv_tegra_release_r36.txt"}
    for attr, name in files.items():
        monkeypatch.setattr(hardware, attr, SAMPLES / name)
    model = tmp_path / "model"
    model.write_bytes(b"NVIDIA Jetson Orin Nano Developer Kit\x00")
    monkeypatch.setattr(hardware, "DT_MODEL", model)
    hardware.physical_cores.cache_clear()
    yield bin_dir
    hardware.physical_cores.cache_clear()


def test_detect_reads_a_jetson(fake_machine):
    _script(fake_machine, "nvidia-smi", "echo 'Orin (nvgpu), 8.7, 540.4.0'")
    hw = hardware.detect()
    assert hw.is_jetson and hw.has_gpu and hw.l4t == "36.4.0"
    assert hw.jetson_model == "NVIDIA Jetson Orin Nano Developer Kit" and hw.cpu == "ARM CPU part 0xd42"
    assert hw.gpus == [{"name": "Orin (nvgpu)", "compute_cap": "8.7", "driver": "540.4.0"}]
    assert hw.cores == hw.threads  # ARM cpuinfo names no cores: every logical CPU counts as one
    assert hw.to_dict()["is_jetson"] is True


def test_a_failing_nvidia_smi_means_no_gpu(fake_machine, monkeypatch):
    _script(fake_machine, "nvidia-smi", "echo 'NVIDIA-SMI has failed, driver not loaded, sorry'; exit 9")
    monkeypatch.setattr(hardware, "TEGRA_RELEASE", fake_machine / "absent")
    monkeypatch.setattr(hardware, "DT_MODEL", fake_machine / "absent")
    hw = hardware.detect()
    assert hw.gpus == [] and not hw.is_jetson and not hw.has_gpu


X86 = Hardware("x86_64", "AMD EPYC 7B13", 2, threads=4)
X86_GPU = Hardware("x86_64", "AMD EPYC 7B13", 16, [{"name": "NVIDIA H100", "compute_cap": "9.0", "driver": "550"}])
NANO = Hardware("aarch64", "ARM CPU part 0xd42", 6, [], "NVIDIA Jetson Orin Nano Developer Kit", "36.4.0")


def test_profiles_checked_against_the_machine():
    check_profile(load_profile("cpu"), X86)
    with pytest.raises(EdgesegError, match=r"--device jetson-orin needs a Jetson AGX Orin .*this machine is x86_64 "
                                           r"\(AMD EPYC 7B13\) with no /etc/nv_tegra_release: use --device cpu$"):
        check_profile(load_profile("jetson-orin"), X86)
    with pytest.raises(EdgesegError, match="--device cuda needs an NVIDIA GPU; this machine is x86_64"):
        check_profile(load_profile("cuda"), X86)
    check_profile(load_profile("cuda"), X86_GPU)
    with pytest.raises(EdgesegError, match="use --device cpu or --device cuda$"):
        check_profile(load_profile("jetson-orin-nano"), X86_GPU)


def test_jetson_profiles_match_the_board():
    check_profile(load_profile("jetson-orin-nano"), NANO)
    check_profile(load_profile("cuda"), NANO)  # the integrated GPU counts even without nvidia-smi
    check_profile(load_profile("cpu"), NANO)
    with pytest.raises(EdgesegError, match="this board is NVIDIA Jetson Orin Nano Developer Kit: "
                                           "use --device jetson-orin-nano"):
        check_profile(load_profile("jetson-orin"), NANO)
    agx_xavier = Hardware("aarch64", "ARMv8 Processor rev 0 (v8l)", 8, [], "Jetson-AGX", "32.7.4")
    check_profile(load_profile("jetson-xavier"), agx_xavier)  # L4T 32's device tree calls it just Jetson-AGX
    assert profile_for_board("NVIDIA Jetson AGX Orin Developer Kit") == "jetson-orin"
    assert profile_for_board("NVIDIA Jetson Orin NX Engineering Reference Developer Kit") == "jetson-orin-nx"
    assert profile_for_board("Raspberry Pi") is None
    with pytest.raises(EdgesegError, match="unknown device profile 'raspberry-pi'; known: cpu, cuda"):
        load_profile("raspberry-pi")
