"""CLI options become the INT8 config, and every non-default choice shows in the artifact's name."""

import pytest

from edgeseg.errors import EdgesegError
from edgeseg.export.options import QuantOptions
from edgeseg.quant.config import artifact_tag


def config_from(given: dict):
    """The config export builds from its quantization options (the preset, then what is given)."""
    return QuantOptions(**given).config("int8")


def test_defaults_give_the_plain_name():
    assert artifact_tag(config_from({})) == "int8"


@pytest.mark.parametrize("options,tag", [
    ({"method": "entropy"}, "int8-entropy"),
    ({"percentile": 99.9}, "int8-p99.9"),
    ({"placement": "cpu"}, "int8-cpu"),
    ({"preset": "naive"}, "int8-minmax-pertensor-all"),
    ({"percentile": 99.0, "max_miou_drop": 0.3}, "int8-p99-budget0.3"),
])
def test_non_defaults_are_named(options, tag):
    assert artifact_tag(config_from(options)) == tag


def test_percentile_reaches_the_config_and_is_checked():
    assert config_from({"percentile": 99.99}).percentile == 99.99
    with pytest.raises(EdgesegError, match="percentile must be within"):
        config_from({"percentile": 100.0})


def test_a_missed_budget_is_said_not_hidden():
    from edgeseg.quant.config import budget_missed

    config = config_from({"max_miou_drop": 0.3, "fallback_limit": 24})
    assert budget_missed(config, {"drop_after": 0.29, "kept_float": ["a"]}) is None
    said = budget_missed(config, {"drop_after": 0.758, "kept_float": ["a"] * 23})
    assert "0.758 is still above the budget 0.3 with 23 layers in float (fallback limit 24)" in said
    assert budget_missed(config_from({}), {"drop_after": 5.0}) is None  # no budget asked


def test_fp8_with_the_cpu_target_is_refused_before_any_work(tmp_path, capsys):
    from edgeseg.cli.main import main

    code = main(["export", str(tmp_path / "missing.pth"), "-o", str(tmp_path / "out"), "--precision", "fp8",
                 "--placement", "cpu", "--calib", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1 and "int8 only" in err and not (tmp_path / "out").exists()


def test_fp32_rest_with_the_cpu_placement_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    from edgeseg.cli.main import main
    from edgeseg.platform import hardware

    monkeypatch.setattr(hardware, "this_cpu_flags", lambda: ("avx2", "avx512f", "avx512_vnni", "avx512_bf16"))  # --device cpu: the CPU placement
    monkeypatch.setattr(hardware.platform, "machine", lambda: "x86_64")

    code = main(["export", str(tmp_path / "missing.pth"), "-o", str(tmp_path / "out"), "--precision", "int8",
                 "--device", "cpu", "--fp32-rest", "--calib", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1 and "--fp32-rest only applies to the TensorRT placement" in err and not (tmp_path / "out").exists()


def test_fp32_remainder_option_reaches_the_config():
    assert config_from({}).half and not config_from({"fp16_rest": False}).half
    assert artifact_tag(config_from({"fp16_rest": False})) == "int8-fp32rest"
