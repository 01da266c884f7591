"""`edgeseg inspect` end to end, through the console script's entry function."""

import json
import subprocess
import sys

import pytest
import torch

from edgeseg.cli.main import main
from golden import CASES, save_checkpoint, variant


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("case", sorted(CASES))
def test_inspect_golden(tmp_path, capsys, case):
    save_checkpoint(case, tmp_path / "c.pth", epoch=3)
    args = ["inspect", str(tmp_path / "c.pth"), "--json", "--input-size", "96x128"]
    if variant(case):
        args += ["--variant", variant(case)]
    code, out, _ = run(capsys, *args)
    assert code == 0
    info = json.loads(out)
    expect = CASES[case]
    assert info["generation"] == ("spfnet" if case.startswith("spfnet") else "v1" if case.endswith("v1") else "current")
    assert info["encoder"] == expect["backbone"] + ("m" if expect["resnet34m"] else "")
    assert info["classes"] == expect["classes"]
    assert info["params"] == expect["params"]
    assert info["epoch"] == 3
    assert info["gflops"] > 0


def test_inspect_trained_prefixed_and_half(tmp_path, capsys, trained_ckpt):
    sd = torch.load(trained_ckpt, weights_only=True)["model"]
    torch.save({"epoch": 75, "model": {f"module.{k}": v.half() if v.is_floating_point() else v for k, v in sd.items()}},
               tmp_path / "dp.pth")
    for path in (trained_ckpt, tmp_path / "dp.pth"):
        code, out, _ = run(capsys, "inspect", str(path), "--json")
        info = json.loads(out)
        assert code == 0 and info["variant"] == "s2fpn18" and info["classes"] == 11 and info["epoch"] == 75


@pytest.mark.parametrize("content", [b"hello\n", b""])
def test_inspect_bad_file_one_line(tmp_path, capsys, content):
    (tmp_path / "x.pth").write_bytes(content)
    code, out, err = run(capsys, "inspect", str(tmp_path / "x.pth"))
    assert code == 1 and out == ""
    assert err.startswith("error:") and err.count("\n") == 1 and "Traceback" not in err


def test_help_does_not_import_torch():
    probe = "import sys; from edgeseg.cli.main import main; main(['--help']); print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.stdout.strip().endswith("False"), result.stdout + result.stderr
