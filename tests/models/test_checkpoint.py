"""Checkpoint formats accepted, and one clear error for each kind of bad file."""

import pytest
import torch

from edgeseg.errors import EdgesegError
from edgeseg.models.checkpoint import describe_checkpoint, load_model, read_checkpoint
from golden import CASES, state_dict


@pytest.fixture(scope="module")
def sd18():
    return state_dict("s2fpn18")


@pytest.mark.parametrize("layout", ["model", "state_dict", "bare"])
def test_layouts_prefix_and_half(tmp_path, sd18, layout):
    sd = {f"module.{k}": (v.half() if v.is_floating_point() else v) for k, v in sd18.items()}
    obj = sd if layout == "bare" else {"epoch": 7, layout: sd}
    torch.save(obj, tmp_path / "c.pth")
    model, ckpt = load_model(tmp_path / "c.pth")
    assert ckpt.prefixed and ckpt.layout == layout and "float16" in ckpt.dtypes
    assert ckpt.epoch == (None if layout == "bare" else 7)
    assert ckpt.arch.variant == "s2fpn18"
    assert not model.training


def test_v1_unused_down_keys_reported(tmp_path):
    torch.save({"epoch": 1, "model": state_dict("s2fpn18v1")}, tmp_path / "v1.pth")
    ckpt = read_checkpoint(tmp_path / "v1.pth")
    assert ckpt.arch.generation == "v1"
    assert {k.split(".")[0] for k in ckpt.unused} == {"down2", "down3", "down4", "down5"}
    assert not any(k.startswith("down") for k in ckpt.state_dict)


@pytest.mark.slow
def test_variant_selects_34m_and_rejects_mismatch(tmp_path):
    torch.save({"model": state_dict("s2fpn34m")}, tmp_path / "m.pth")
    assert read_checkpoint(tmp_path / "m.pth").arch.encoder == "resnet34"
    assert read_checkpoint(tmp_path / "m.pth", "s2fpn34m").arch.encoder == "resnet34m"
    with pytest.raises(EdgesegError, match="does not match"):
        read_checkpoint(tmp_path / "m.pth", "s2fpn18")
    with pytest.raises(EdgesegError, match="unknown variant"):
        read_checkpoint(tmp_path / "m.pth", "s2fpn50")


def _write_bad(kind, tmp_path, sd18):
    path = tmp_path / f"{kind}.pth"
    if kind == "text":
        path.write_text("this is not a checkpoint\n")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        torch.save({"model": sd18}, path)
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    elif kind == "shape":
        bad = dict(sd18)
        bad["apf2.conv_low.conv.weight"] = torch.zeros(1, 2, 3, 3)
        torch.save({"model": bad}, path)
    elif kind == "other":
        torch.save({"model": {"fc.weight": torch.zeros(2, 2), "fc.bias": torch.zeros(2)}}, path)
    elif kind == "code":
        torch.save({"model": sd18, "optimizer": torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)}, path)
    return path


@pytest.mark.parametrize("kind,message", [
    ("text", "not a PyTorch checkpoint"),
    ("empty", "empty file"),
    ("truncated", "truncated or corrupt"),
    ("shape", r"1 with the wrong shape \(apf2.conv_low.conv.weight \(1, 2, 3, 3\)"),
    ("other", "not an S²-FPN or SPFNet checkpoint"),
    ("code", "objects other than tensors"),
])
@pytest.mark.slow
@pytest.mark.parametrize("read", [load_model, describe_checkpoint])
def test_bad_files(tmp_path, sd18, kind, message, read):
    path = _write_bad(kind, tmp_path, sd18)
    with pytest.raises(EdgesegError, match=message) as info:
        read(path)
    assert "\n" not in str(info.value)


@pytest.mark.slow
def test_every_case_has_expected_param_count(tmp_path):
    for case, expect in CASES.items():
        torch.save({"model": state_dict(case)}, tmp_path / "c.pth")
        model, ckpt = load_model(tmp_path / "c.pth")
        assert sum(p.numel() for p in model.parameters()) + ckpt.unused_params == expect["params"], case


def _same_description(a, b):
    assert (a.summary(), a.unused_params) == (b.summary(), b.unused_params)
    assert {k: tuple(v.shape) for k, v in a.state_dict.items()} == {k: tuple(v.shape) for k, v in b.state_dict.items()}


@pytest.mark.slow
@pytest.mark.parametrize("how", ["v1 prefixed half", "bfloat16 bare", "float64 state_dict", "nan and inf", "legacy"])
def test_describe_reads_what_torch_reads_without_torch(tmp_path, how):
    sd = state_dict("s2fpn18v1" if how.startswith("v1") else "s2fpn18")
    if how == "v1 prefixed half":
        obj = {"epoch": 9, "model": {f"module.{k}": v.half() if v.is_floating_point() else v for k, v in sd.items()}}
    elif how == "bfloat16 bare":
        obj = {k: v.bfloat16() if v.is_floating_point() else v for k, v in sd.items()}
    elif how == "float64 state_dict":
        obj = {"state_dict": {k: v.double() if v.is_floating_point() else v for k, v in sd.items()}}
    else:
        sd["conv1_x.weight"][0, 0, 0, 0], sd["seghead.fc.conv.weight"][1, 0, 0, 0] = float("nan"), float("-inf")
        obj = {"model": sd}
    torch.save(obj, tmp_path / "c.pth", _use_new_zipfile_serialization=how != "legacy")
    described = describe_checkpoint(tmp_path / "c.pth")
    _same_description(described, read_checkpoint(tmp_path / "c.pth", float32=False))
    if how == "nan and inf":
        assert described.nonfinite == ["conv1_x.weight", "seghead.fc.conv.weight"]
    stored = {type(v).__name__ for v in described.state_dict.values()}
    assert stored == ({"Tensor"} if how == "legacy" else {"StoredTensor"})  # the legacy format is read by torch
