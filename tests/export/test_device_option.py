"""`--device` on an ONNX export: the profile's precisions and measured INT8 placement decide."""

import pytest

from edgeseg.cli.main import main
from edgeseg.errors import EdgesegError
from edgeseg.export.options import ExportOptions, QuantOptions, prepared, resolve
from edgeseg.platform.devices import load_profile
from edgeseg.export.options import export_options as options

CALIB = {"calib": __file__}


@pytest.mark.parametrize("device,flags,placement", [
    ("cpu", ("avx2", "avx512f", "avx512_vnni", "amx_int8", "amx_tile"), "tensorrt"),  # AMX: measured by tune
    ("cpu", ("avx2", "avx512f", "avx512_vnni", "avx512_bf16"), "cpu"),  # Zen 4 class: measured there
    ("cpu", ("avx2", "fma"), "cpu"),  # AVX2, no VNNI: measured under ONEDNN_MAX_CPU_ISA=AVX2
    ("cpu", ("sse4_2",), "tensorrt"),  # no measured row: the export default, verified on each runtime
    ("jetson-orin", (), "tensorrt"), ("cuda", (), "tensorrt")])
def test_the_profile_chooses_the_int8_preset(device, flags, placement, monkeypatch):
    from edgeseg.platform import hardware

    monkeypatch.setattr(hardware, "this_cpu_flags", lambda: flags)
    monkeypatch.setattr(hardware.platform, "machine", lambda: "x86_64")
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    given = options(precision="int8", device=device, **CALIB)
    resolved = prepared(given)
    assert resolved.quant.preset == placement == load_profile(device).int8_preset()
    assert given.quant.preset is None  # resolve returns new options; the given ones stay as given


def test_a_lesser_cpus_kernels_choose_its_row_and_an_unmeasured_cpu_is_told_of_tune(monkeypatch, caplog):
    """ONEDNN_MAX_CPU_ISA makes OpenVINO run a lesser CPU's kernels: the choice follows; a CPU kind
    with no measured row gets the export default and one line pointing to `edgeseg tune`."""
    from edgeseg.platform import hardware
    from edgeseg.platform.devices import backends_for

    amx = ("avx2", "avx512f", "avx512_vnni", "amx_int8", "amx_tile")
    monkeypatch.setattr(hardware, "this_cpu_flags", lambda: amx)
    monkeypatch.setattr(hardware.platform, "machine", lambda: "x86_64")
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    cpu = load_profile("cpu")
    assert hardware.this_isa() == ("AVX2",) and cpu.int8_preset() == "cpu"
    assert backends_for(cpu, "int8")[0] == "onnxruntime" and backends_for(cpu, "fp32")[0] == "openvino"
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_VNNI")
    assert hardware.this_isa() == ("VNNI", "AVX-512", "AVX2") and backends_for(cpu, "int8")[0] == "openvino"
    monkeypatch.setattr(hardware, "this_cpu_flags", lambda: ("sse4_2",))
    with caplog.at_level("WARNING"):
        assert prepared(options(precision="int8", device="cpu", **CALIB)).quant.preset == "tensorrt"
    assert "edgeseg tune" in caplog.text and "no INT8 placement was measured" in caplog.text


def test_every_per_isa_row_names_where_it_was_measured():
    rows = load_profile("cpu").int8_by_isa
    assert rows and all(r["measured"] and r["preset"] in ("cpu", "tensorrt") for r in rows)


def test_an_explicit_preset_or_target_wins():
    cpu = load_profile("cpu")
    assert resolve(options(precision="int8", preset="tensorrt", **CALIB), cpu).quant.preset == "tensorrt"
    assert resolve(options(precision="int8", placement="tensorrt", **CALIB), cpu).quant.preset is None


def test_fp32_for_a_device_keeps_no_quant_settings():
    assert prepared(ExportOptions(device="cpu")).quant == QuantOptions()


@pytest.mark.parametrize("args,words", [
    (["--device", "cpu", "--precision", "fp16"], "--device cpu (any x86-64 or ARM CPU, ONNX Runtime or OpenVINO) has no FP16 path"),
    (["--device", "cpu", "--format", "engine"], "--device cpu has no NVIDIA GPU and engines are TensorRT's"),
    (["--device", "cpu", "--workspace", "2"], "--workspace only applies to --format engine"),
])
def test_what_a_device_cannot_take_is_refused_first(tmp_path, capsys, args, words):
    code = main(["export", str(tmp_path / "missing.pth"), "-o", str(tmp_path / "out"), *args])
    err = capsys.readouterr().err
    assert code == 1 and words in err and err.count("\n") == 1 and not (tmp_path / "out").exists()


def test_build_refuses_a_profile_without_a_gpu(tmp_path):
    from edgeseg.engine.builder import BuildSettings, build_engine

    with pytest.raises(EdgesegError, match="--device cpu has no NVIDIA GPU"):
        build_engine(__file__, tmp_path / "x.engine", BuildSettings(device="cpu", runtime="tensorrt-rtx"))
