"""`edgeseg inspect` end to end, through the console script's entry function."""

import json
import subprocess
import sys

import pytest
import torch

from edgeseg.cli.main import main
from edgeseg.models.registry import detect
from golden import CASES, FLOPS, save_checkpoint, state_dict, variant


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow
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
    assert info["gflops"] == round(FLOPS[case][0] / 1e9, 3)  # counted by FlopCounterMode at 96x128
    model = detect(state_dict(case), variant(case)).build()
    assert info["params_used"] == sum(p.numel() for p in model.parameters())


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


@pytest.mark.slow
@pytest.mark.parametrize("legacy", [False, True])
def test_inspect_imports_torch_only_for_a_legacy_file(tmp_path, legacy):
    """A zip checkpoint is read and counted without torch; the pre-1.6 pickle format still needs it."""
    torch.save({"epoch": 2, "model": state_dict("s2fpn18")}, tmp_path / "c.pth", _use_new_zipfile_serialization=not legacy)
    probe = ("import json, sys; from edgeseg.cli.main import main; "
             f"code = main(['inspect', {str(tmp_path / 'c.pth')!r}, '--json']); "
             "print(code, 'torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    *out, last = result.stdout.strip().splitlines()
    assert last == f"0 {legacy}", result.stdout[-500:] + result.stderr[-2000:]
    assert json.loads("\n".join(out))["gflops"] == round(FLOPS["s2fpn18"][1] / 1e9, 3)


@pytest.mark.slow
def test_without_torch_inspect_reads_a_zip_and_names_what_needs_torch(tmp_path):
    """A Jetson's runtime-side install has no torch: inspect still works, a legacy file gets one line."""
    torch.save({"model": state_dict("s2fpn18")}, tmp_path / "zip.pth")
    torch.save({"model": state_dict("s2fpn18")}, tmp_path / "old.pth", _use_new_zipfile_serialization=False)
    probe = ("import sys; sys.modules['torch'] = None; from edgeseg.cli.main import main; "
             f"print(main(['inspect', {str(tmp_path / 'zip.pth')!r}, '--json']), "
             f"main(['inspect', {str(tmp_path / 'old.pth')!r}]))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.stdout.strip().endswith("0 1"), result.stdout[-500:] + result.stderr[-2000:]
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'old.pth'}: this needs PyTorch, which is not installed here (without it edgeseg "
        "reads only plain zip checkpoints, for inspect): pip install 'edgeseg[export]'"]
