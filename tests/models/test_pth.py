"""Reading a zip checkpoint without torch: what torch.load sees, or a refusal that hands it to torch."""

import collections
import io
import pickle
import zipfile

import numpy as np
import pytest
import torch

from edgeseg.models import pth
from golden import state_dict


def saved(tmp_path, obj, name="c.pth", **kwargs):
    path = tmp_path / name
    torch.save(obj, path, **kwargs)
    return path


def flatten(obj, prefix=""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from flatten(v, f"{prefix}{k}.")
    else:
        yield prefix.rstrip("."), obj


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16, torch.float64])
def test_geometry_and_dtypes_equal_torch_load(tmp_path, dtype):
    sd = {k: v.to(dtype) if v.is_floating_point() else v for k, v in state_dict("s2fpn18").items()}
    shared = torch.arange(40, dtype=dtype)
    obj = {"epoch": 4, "model": sd, "extra": {"view": shared[8:].view(4, 8), "strided": shared.view(5, 8).t(),
                                              "param": torch.nn.Parameter(torch.ones(3, dtype=dtype)), "notes": ["a", 1.5]}}
    path = saved(tmp_path, obj)
    with pth.Archive(path) as archive:
        ours = dict(flatten(archive.obj))
    theirs = dict(flatten(torch.load(path, weights_only=True)))
    assert ours.keys() == theirs.keys()
    for key, t in theirs.items():
        if isinstance(t, torch.Tensor):
            s = ours[key]
            assert (s.shape, s.stride, s.offset, s.numel()) == (tuple(t.shape), t.stride(), t.storage_offset(), t.numel())
            assert s.dtype == str(t.dtype).removeprefix("torch.") and s.is_floating_point() == t.is_floating_point()
        else:
            assert ours[key] == t


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16, torch.float64])
def test_nonfinite_values_are_found_where_the_tensor_looks(tmp_path, dtype):
    base = torch.zeros(64, dtype=dtype)
    base[3] = float("nan")  # before the view's window: not the view's
    tensors = {"nan": torch.tensor([1.0, float("nan")], dtype=dtype), "inf": torch.tensor([float("inf")], dtype=dtype),
               "ninf": torch.tensor([[0.0, float("-inf")]], dtype=dtype), "max": torch.tensor([6e4], dtype=dtype),
               "view": base[8:].view(7, 8), "head": base[:8], "transposed": base.view(8, 8).t(),
               "count": torch.tensor(7), "empty": torch.zeros(0, dtype=dtype)}
    path = saved(tmp_path, tensors)
    with pth.Archive(path) as archive:
        found = archive.nonfinite(archive.obj)
    assert found == sorted(k for k, t in tensors.items() if t.is_floating_point() and not torch.isfinite(t).all())
    assert found == ["head", "inf", "nan", "ninf", "transposed"]


def test_a_legacy_pickle_is_left_to_torch(tmp_path):
    with pytest.raises(pth.NotPlain):
        pth.Archive(saved(tmp_path, {"w": torch.zeros(2)}, _use_new_zipfile_serialization=False))


def test_a_global_is_never_resolved(tmp_path):
    """A pickle naming os.system is refused before anything runs (the probe file stays absent)."""
    class Run:
        def __reduce__(self):
            import os
            return os.system, (f"touch {tmp_path / 'ran'}",)

    path = saved(tmp_path, {"w": torch.zeros(2)})
    rewrite(path, "data.pkl", pickle.dumps({"w": Run()}, protocol=2))
    with pytest.raises(pth.NotPlain, match="holds (posix|os).system"):
        pth.Archive(path)
    assert not (tmp_path / "ran").exists()


def rewrite(path, suffix, data: bytes):
    with zipfile.ZipFile(path) as z:
        records = {n: z.read(n) for n in z.namelist()}
    name = next(n for n in records if n.endswith(suffix))
    records[name] = data
    with zipfile.ZipFile(path, "w") as z:
        for n, d in records.items():
            z.writestr(n, d)


class _Storage:
    def __init__(self, numel):
        self.numel = numel


class _Tensor:
    """Pickles as torch pickles a tensor: _rebuild_tensor_v2 over a persistent storage."""

    def __init__(self, storage, size, stride):
        self.args = (storage, 0, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return torch._utils._rebuild_tensor_v2, self.args


class _TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        return ("storage", torch.FloatStorage, "0", "cpu", obj.numel) if isinstance(obj, _Storage) else None


def torch_pickle(obj) -> bytes:
    buf = io.BytesIO()
    _TorchPickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


@pytest.mark.parametrize("case", ["big-endian", "short storage", "truncated", "tensor outside its storage"])
def test_damage_is_left_to_torch(tmp_path, case):
    path = saved(tmp_path, {"w": torch.zeros(4, 4), "b": torch.ones(2)})
    if case == "big-endian":
        rewrite(path, "byteorder", b"big")
    elif case == "short storage":
        rewrite(path, "data/0", np.zeros(3, np.float32).tobytes())
    elif case == "truncated":
        path.write_bytes(path.read_bytes()[:-200])
    else:  # a 4x4 tensor over a storage of 16 values, declared as 2
        rewrite(path, "data.pkl", torch_pickle({"w": _Tensor(_Storage(2), (4, 4), (4, 1))}))
    with pytest.raises(pth.NotPlain):
        with pth.Archive(path) as archive:
            archive.nonfinite(archive.obj)
    if case != "big-endian":  # torch refuses the file too: nothing is read here that torch would not read
        with pytest.raises(Exception):
            torch.load(path, weights_only=True)


def test_the_crafted_pickle_is_what_torch_reads(tmp_path):
    """The helper above writes what torch.load accepts when nothing is wrong."""
    path = saved(tmp_path, {"w": torch.zeros(4, 4)})
    rewrite(path, "data.pkl", torch_pickle({"w": _Tensor(_Storage(16), (2, 8), (8, 1))}))
    assert torch.load(path, weights_only=True)["w"].shape == (2, 8)
    with pth.Archive(path) as archive:
        assert archive.obj["w"].shape == (2, 8) and archive.nonfinite(archive.obj) == []
