"""The 2026 targets: Jetson Thor / T4000, Orin Nano Super, DGX Spark; JetPack 7 rows; Thor's tool output.

No Thor, Spark or Orin Nano Super was at hand: every sample below is text recorded by others,
kept verbatim in tests/platform/samples/, and SOURCES says where each came from.
"""

import json
from importlib import resources
from pathlib import Path

import pytest

from edgeseg.engine import sidecar
from edgeseg.errors import EdgesegError
from edgeseg.platform.devices import (FP8_MIN_CC, check_profile, load_profile, profile_for_board, profile_names,
                                      require_precision)
from edgeseg.platform.hardware import Hardware, board_model, parse_nv_tegra_release
from edgeseg.platform.jetson import (clocks_from_sysfs, parse_jetson_clocks, parse_nvpmodel, parse_tegrastats_line, summarize_power,
                                    total_power)

SAMPLES = Path(__file__).parent / "samples"
SOURCES = {
    # line 1: AGX Thor devkit, Jetson Linux R38.4.0 (JetPack 7.1), idle; a public notes file found with the
    # search tool (its repository is not named by the index); field glossary of this very format:
    # https://docs.nvidia.com/jetson/archives/r38.4/DeveloperGuide/AT/JetsonLinuxDevelopmentTools/TegrastatsUtility.html
    # line 2: AGX Thor, JetPack 7.2 (kernel 6.8.12-l4t-r39.2.0), under load, 'cur/avg/peak' triples:
    # https://github.com/wendylabsinc/WendyOS/pull/1316 (two verbatim lines captured live 2026-07-02)
    "tegrastats_thor.txt": "see above",
    # Thor JetPack 7 line with the GPU power-gated (VDD_GPU reads -392 mW), quoted as an excerpt in a public
    # repository's parser (found with the search tool); the CPU list is elided there, as here
    "tegrastats_thor_gpu_gated.txt": "public parser comment, Thor JetPack 7",
    # `nvpmodel -q` on the AGX Thor devkit, JetPack 7: https://github.com/anduril/jetpack-nixos/pull/460
    # ("only two modes (120W and MAXN)"); 120W is mode 1 and the default:
    # https://github.com/rbonghi/jetson_stats/issues/820 ("NV Power Mode[1]: 120W", L4T 38.4 / JetPack 7.1)
    "nvpmodel_thor_maxn.txt": "https://github.com/anduril/jetpack-nixos/pull/460",
    "nvpmodel_thor_120w.txt": "https://github.com/rbonghi/jetson_stats/issues/820",
    # `sudo jetson_clocks --show` on an AGX Thor devkit in MAXN after `jetson_clocks`: a public Thor vLLM guide
    # found with the search tool (repository not named by the index); no 'Online=' per CPU, one line per GPC
    "jetson_clocks_thor_locked.txt": "public AGX Thor guide (MAXN + jetson_clocks)",
    # Orin Nano Super after `nvpmodel -m 2`: quoted in several public setup scripts found with the search tool
    "nvpmodel_orin_nano_super.txt": "public Orin Nano Super setup notes",
    # /etc/nv_tegra_release of an AGX Thor devkit: https://github.com/rbonghi/jetson_stats/issues/711 (R38.2.0)
    "nv_tegra_release_r38_2.txt": "https://github.com/rbonghi/jetson_stats/issues/711",
    # AGX Thor devkit on R38.4.0, same notes file as tegrastats line 1
    "nv_tegra_release_r38_4.txt": "public Thor notes (R38.4.0)",
    # Orin Nano Super devkit on JetPack 7.2 (R39.2.1): a public environment report found with the search tool
    "nv_tegra_release_r39_2.txt": "public Orin Nano Super environment report",
}


def text(name):
    return (SAMPLES / name).read_text()


def test_every_sample_here_has_a_recorded_source():
    thor = {p.name for p in SAMPLES.iterdir() if any(k in p.name for k in ("thor", "r38", "r39", "super"))}
    assert thor == set(SOURCES)


# -- profiles ---------------------------------------------------------------------------------------------
def test_new_profiles_and_their_facts():
    thor = load_profile("jetson-thor")
    assert (thor.compute_capability, thor.gpu_arch, thor.dla_cores) == ("11.0", "Blackwell", 0)  # Thor has no DLA
    assert "fp8" in thor.precisions and thor.power_modes == ("MAXN", "120W") and thor.jetson
    t4000 = load_profile("jetson-t4000")
    assert t4000.compute_capability == "11.0" and t4000.dla_cores == 0 and "fp8" in t4000.precisions
    spark = load_profile("dgx-spark")
    assert (spark.compute_capability, spark.jetson, spark.gpu) == ("12.1", False, True) and "fp8" in spark.precisions
    nano = load_profile("jetson-orin-nano-super")
    assert nano.compute_capability == "8.7" and "fp8" not in nano.precisions and nano.dla_cores == 0
    assert nano.power_modes[-1] == "MAXN_SUPER"
    assert "_sources" not in profile_names()  # the facts' sources are kept in devices.json, not as a profile


def test_precisions_follow_the_compute_capability():
    """fp8 is listed exactly where the GPU has FP8 tensor cores (8.9+), for every profile naming one GPU."""
    for name in profile_names():
        p = load_profile(name)
        if p.compute_capability is None:
            continue
        cc = tuple(int(v) for v in p.compute_capability.split("."))
        assert ("fp8" in p.precisions) == (cc >= FP8_MIN_CC), name
        assert p.dla_cores == 0 or p.gpu_arch in ("Ampere", "Volta"), name  # DLA exists on Xavier/Orin only


def test_boards_map_to_their_profiles():
    assert board_model(b"NVIDIA Jetson AGX Thor Developer Kit\x00") == "NVIDIA Jetson AGX Thor Developer Kit"
    assert profile_for_board("NVIDIA Jetson AGX Thor Developer Kit") == "jetson-thor"
    super_kit = "NVIDIA Jetson Orin Nano Engineering Reference Developer Kit Super"
    assert profile_for_board(super_kit) == "jetson-orin-nano-super"
    assert profile_for_board("NVIDIA Jetson Orin Nano Developer Kit") == "jetson-orin-nano"


def test_profiles_checked_against_the_machine():
    thor = Hardware("aarch64", "ARM CPU part 0xd84", 14, l4t="38.4.0", jetson_model="NVIDIA Jetson AGX Thor Developer Kit")
    check_profile(load_profile("jetson-thor"), thor)
    with pytest.raises(EdgesegError, match="use --device jetson-thor"):
        check_profile(load_profile("jetson-orin"), thor)
    spark = Hardware("aarch64", "Cortex-X925", 20, gpus=[{"name": "NVIDIA GB10", "compute_cap": "12.1", "driver": "580.95.05"}])
    check_profile(load_profile("dgx-spark"), spark)
    rtx = Hardware("x86_64", "AMD Ryzen 9", 16, gpus=[{"name": "NVIDIA GeForce RTX 4090", "compute_cap": "8.9", "driver": "580"}])
    with pytest.raises(EdgesegError, match=r"this machine's GPU is NVIDIA GeForce RTX 4090 \(8.9\): use --device cuda"):
        check_profile(load_profile("dgx-spark"), rtx)


def test_fp8_refused_where_the_gpu_has_none():
    for name in ("jetson-orin", "jetson-orin-nx", "jetson-orin-nano", "jetson-orin-nano-super", "jetson-xavier"):
        with pytest.raises(EdgesegError, match=r"fp8 needs FP8 tensor cores") as err:
            require_precision(load_profile(name), "fp8")
        assert "accelerates fp16, int8" in str(err.value) and "\n" not in str(err.value)
    for name in ("jetson-thor", "jetson-t4000", "dgx-spark"):
        require_precision(load_profile(name), "fp8")
    cuda = load_profile("cuda")
    require_precision(cuda, "fp8", "8.9")  # Ada
    require_precision(cuda, "fp8")  # GPU unknown yet: the build checks again with the device's own figure
    with pytest.raises(EdgesegError, match="compute capability 8.6"):
        require_precision(cuda, "fp8", "8.6")  # an RTX 30 card
    require_precision(load_profile("jetson-orin"), "fp32")  # fp32 always runs
    with pytest.raises(EdgesegError, match="no FP16 path"):
        require_precision(load_profile("cpu"), "fp16")


def test_export_options_refuse_fp8_for_an_orin_before_anything_runs():
    from edgeseg.export.options import ExportOptions, prepared

    with pytest.raises(EdgesegError, match="--device jetson-orin is Jetson AGX Orin"):
        prepared(ExportOptions(precision="fp8", format="engine", device="jetson-orin"))
    with pytest.raises(EdgesegError, match="unknown device profile"):
        prepared(ExportOptions(precision="int8", format="engine", device="jetson-thorr"))
    from edgeseg.platform.devices import load_profile, require_precision

    require_precision(load_profile("jetson-thor"), "fp8")  # Blackwell runs FP8: nothing to refuse


def test_build_refuses_an_fp8_graph_for_an_orin_before_tensorrt(tmp_path):
    """No TensorRT here: the refusal has to come first, from the graph and the profile alone."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from edgeseg.engine.builder import BuildSettings, build_engine

    zero = numpy_helper.from_array(np.zeros((), np.float32), "z")
    zero.data_type, zero.raw_data = TensorProto.FLOAT8E4M3FN, b"\x00"
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"]), helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"])]
    graph = helper.make_graph(nodes, "fp8", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 4, 4])],
                              [numpy_helper.from_array(np.array(0.5, np.float32), "s"), zero])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    onnx.checker.check_model(model, full_check=True)
    path = tmp_path / "fp8.onnx"
    onnx.save(model, path)
    from edgeseg.engine.versions import uses_fp8

    assert uses_fp8(model)
    z = model.graph.initializer[1]
    z.data_type = TensorProto.INT8
    assert not uses_fp8(model)  # the same Q/DQ pair in int8
    with pytest.raises(EdgesegError, match="fp8 needs FP8 tensor cores.*jetson-orin-nano"):
        build_engine(path, tmp_path / "fp8.engine", BuildSettings(device="jetson-orin-nano"))


# -- JetPack 7 / L4T 38-39 --------------------------------------------------------------------------------
@pytest.mark.parametrize("sample,version,jetpack,tensorrt", [
    ("nv_tegra_release_r38_2.txt", "38.2.0", "7.0", "10.13.3"),
    ("nv_tegra_release_r38_4.txt", "38.4.0", "7.1", "10.13.3"),
    ("nv_tegra_release_r39_2.txt", "39.2.1", "7.2", "10.16.2"),  # a point release maps to its 39.2 row
])
def test_jetpack7_releases(sample, version, jetpack, tensorrt):
    release = parse_nv_tegra_release(text(sample))
    assert (release.version, release.board, release.arch) == (version, "generic", "aarch64")
    assert sidecar.jetpack_for(release.version) == {"jetpack": jetpack, "tensorrt": tensorrt}


def test_jetpack_table_rows_are_ordered_and_complete():
    table = json.loads(resources.files("edgeseg.platform").joinpath("jetpack.json").read_text())
    rows = table["releases"]
    keys = [tuple(int(v) for v in r["l4t"].split(".")) for r in rows]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert all(set(r) == {"l4t", "jetpack", "tensorrt", "cuda"} for r in rows)
    cuda = {r["jetpack"]: r["cuda"] for r in rows}
    assert (cuda["6.2"], cuda["7.0"], cuda["7.1"], cuda["7.2"]) == ("12.6", "13.0", "13.0", "13.2")


# -- Thor's tegrastats and nvpmodel -----------------------------------------------------------------------
def test_thor_tegrastats_rails_and_board_input():
    idle, loaded = text("tegrastats_thor.txt").splitlines()
    rails = parse_tegrastats_line(idle)
    assert rails == {"VDD_GPU": 1962, "VDD_CPU_SOC_MSS": 5887, "VIN_SYS_5V0": 5635, "VIN": 19780}
    assert total_power(rails) == (19780, "VIN")  # the carrier's INA238: board input, not a sum of branches
    heavy = parse_tegrastats_line(loaded)  # JetPack 7.2 prints cur/avg/peak; the current value is read
    assert heavy == {"VDD_GPU": 37528, "VDD_CPU_SOC_MSS": 18961, "VIN_SYS_5V0": 18331, "VIN": 87426}
    summary = summarize_power([idle, loaded])
    assert summary.samples == 2 and summary.mean_w == pytest.approx((19.780 + 87.426) / 2)
    assert summary.peak_w == pytest.approx(87.426) and summary.total == "VIN"


def test_thor_gpu_gated_rail_reads_negative():
    rails = parse_tegrastats_line(text("tegrastats_thor_gpu_gated.txt"))
    assert rails["VDD_GPU"] == -392 and total_power(rails) == (15004, "VIN")


def test_thor_and_orin_nano_super_power_modes():
    assert parse_nvpmodel(text("nvpmodel_thor_maxn.txt")) == {"mode": "MAXN", "id": 0}
    assert parse_nvpmodel(text("nvpmodel_thor_120w.txt")) == {"mode": "120W", "id": 1}
    assert parse_nvpmodel(text("nvpmodel_orin_nano_super.txt")) == {"mode": "MAXN_SUPER", "id": 2}
    for name, sample in (("jetson-thor", "nvpmodel_thor_120w.txt"), ("jetson-orin-nano-super", "nvpmodel_orin_nano_super.txt")):
        assert parse_nvpmodel(text(sample))["mode"] in load_profile(name).power_modes


def test_thor_gpu_clock_from_its_devfreq_node(tmp_path):
    """Thor's GPU devfreq node is gpu-gpc-N (github.com/rbonghi/jetson_stats/pull/750), not 17000000.ga10b."""
    cpu = tmp_path / "sys/devices/system/cpu/cpu0/cpufreq"
    cpu.mkdir(parents=True)
    (cpu / "cpuinfo_max_freq").write_text("2601000\n")
    (cpu / "scaling_cur_freq").write_text("2601000\n")
    gpu = tmp_path / "sys/class/devfreq/gpu-gpc-0"
    gpu.mkdir(parents=True)
    (gpu / "max_freq").write_text("1575000000\n")
    (gpu / "cur_freq").write_text("1575000000\n")
    state = clocks_from_sysfs(tmp_path)
    assert state["locked"] and state["gpu_max_hz"] == 1575000000


def test_thor_jetson_clocks_show():
    state = parse_jetson_clocks(text("jetson_clocks_thor_locked.txt"))
    assert state["locked"] and state["online_cpus"] == 14 and state["emc_locked"]
    assert (state["cpu_max_khz"], state["gpu_max_hz"]) == (2601000, 1575000000)
    assert parse_nvpmodel(text("jetson_clocks_thor_locked.txt")) == {"mode": "MAXN", "id": None}
    slow = text("jetson_clocks_thor_locked.txt").replace("gpu-gpc-0 MinFreq=1575000000 MaxFreq=1575000000 CurrentFreq=1575000000",
                                                       "gpu-gpc-0 MinFreq=306000000 MaxFreq=1575000000 CurrentFreq=306000000")
    assert not parse_jetson_clocks(slow)["gpu_locked"]  # the GPC at its floor: not pinned
