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
    ("cpu", ("avx2", "fma"), "tensorrt"),  # no measured row: the export default
    ("jetson-orin", (), "tensorrt"), ("cuda", (), "tensorrt")])
def test_the_profile_chooses_the_int8_placement(device, flags, placement, monkeypatch):
    from edgeseg.platform import hardware

    monkeypatch.setattr(hardware, "this_cpu_flags", lambda: flags)
    monkeypatch.setattr(hardware.platform, "machine", lambda: "x86_64")
    given = options(precision="int8", device=device, **CALIB)
    resolved = prepared(given)
    assert resolved.quant.preset == placement == load_profile(device).int8_placement()
    assert given.quant.preset is None  # resolve returns new options; the given ones stay as given


def test_every_per_isa_row_names_where_it_was_measured():
    rows = load_profile("cpu").int8_by_isa
    assert rows and all(r["measured"] and r["preset"] in ("cpu", "tensorrt") for r in rows)


def test_an_explicit_preset_or_target_wins():
    cpu = load_profile("cpu")
    assert resolve(options(precision="int8", preset="tensorrt", **CALIB), cpu).quant.preset == "tensorrt"
    assert resolve(options(precision="int8", target="tensorrt", **CALIB), cpu).quant.preset is None


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
