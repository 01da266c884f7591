"""Loading official S²-FPN / SPFNet checkpoints safely and with clear errors.

Accepts `{"epoch", "model": sd}` (official), `{"state_dict": sd}`, a bare state_dict,
`module.` prefixes (DataParallel) and half-precision tensors. `weights_only=True`: a
checkpoint must never be able to run code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from edgeseg.errors import EdgesegError
from edgeseg.models.archspec import state_shapes
from edgeseg.models.pth import Archive, NotPlain, StoredTensor
from edgeseg.models.registry import Arch, detect, unused_keys

SHOW = 3  # offending keys named in an error


@dataclass
class Checkpoint:
    path: str
    arch: Arch
    state_dict: dict  # float32 (as stored with float32=False; `pth.StoredTensor` if described), prefix-free, without unused keys
    epoch: int | None = None
    layout: str = "bare"  # "model", "state_dict" or "bare"
    prefixed: bool = False
    dtypes: tuple[str, ...] = ()
    unused: list[str] = field(default_factory=list)
    unused_params: int = 0
    nonfinite: list[str] = field(default_factory=list)  # tensors holding NaN or Inf

    def summary(self) -> dict:
        return {"path": self.path, **self.arch.to_dict(), "epoch": self.epoch, "layout": self.layout,
                "module_prefix": self.prefixed, "stored_dtypes": list(self.dtypes), "unused_keys": self.unused,
                "nonfinite_keys": self.nonfinite}

    def nonfinite_note(self) -> str | None:
        if not self.nonfinite:
            return None
        return (f"{self.path}: the checkpoint holds NaN or Inf values in {len(self.nonfinite)} tensor(s) "
                f"(first: {self.nonfinite[0]}); it was saved from a diverged run, use another checkpoint")


def _check_file(path: Path) -> bytes:
    """The file's first bytes, once it is known to be a readable zip or pickle."""
    if not path.exists():
        raise EdgesegError(f"{path}: no such file")
    if path.is_dir():
        raise EdgesegError(f"{path}: is a directory, not a checkpoint file")
    size = path.stat().st_size
    if size == 0:
        raise EdgesegError(f"{path}: empty file, not a checkpoint")
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as exc:
        raise EdgesegError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if not (head.startswith(b"PK") or head[:1] == b"\x80"):  # neither a zip (torch >= 1.6) nor a pickle
        raise EdgesegError(f"{path}: not a PyTorch checkpoint (neither a zip archive nor a pickle; "
                           f"{size} bytes starting {head.hex()})")
    return head


def _torch(path: Path):
    """torch, or one line: a Jetson's runtime-side install has none, and only some files need it."""
    try:
        import torch
    except ImportError:
        raise EdgesegError(f"{path}: this needs PyTorch, which is not installed here (without it edgeseg reads "
                           "only plain zip checkpoints, for inspect): pip install 'edgeseg[export]'") from None
    return torch


def _torch_load(path: Path):
    torch = _torch(path)
    head = _check_file(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # untrusted bytes: any failure is classified, never a traceback
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        first = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        if "Weights only load failed" in str(exc):
            raise EdgesegError(f"{path}: refused, the checkpoint holds objects other than tensors "
                               "(loading it could run code)") from None
        if head.startswith(b"PK"):
            raise EdgesegError(f"{path}: truncated or corrupt checkpoint ({path.stat().st_size} bytes; {first[:120]})") from None
        raise EdgesegError(f"{path}: not a PyTorch checkpoint ({first[:120]})") from None


def _unwrap(obj, path: Path) -> tuple[dict, str, int | None]:
    if not isinstance(obj, dict):
        raise EdgesegError(f"{path}: holds a {type(obj).__name__}, not a state_dict")
    epoch = obj.get("epoch") if isinstance(obj.get("epoch"), int) else None
    for layout in ("model", "state_dict"):
        if isinstance(obj.get(layout), dict):
            return obj[layout], layout, epoch
    return obj, "bare", epoch


def read_checkpoint(path, variant: str | None = None, float32: bool = True) -> Checkpoint:
    """The checkpoint's architecture and state_dict; `float32=False` keeps tensors as stored."""
    path = Path(path)
    torch = _torch(path)
    tensors, layout, epoch, prefixed = _tensors(_torch_load(path), path, torch.Tensor)
    dtypes = _dtypes(tensors)
    if float32:
        tensors = {k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}
    nonfinite = [k for k, v in tensors.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    return _checkpoint(path, tensors, variant, layout, epoch, prefixed, dtypes, nonfinite)


def describe_checkpoint(path, variant: str | None = None) -> Checkpoint:
    """All of `read_checkpoint` but the values (the state_dict holds `pth.StoredTensor`s), read
    without torch and checked against the architecture table; a file outside the plain zip
    format is read with torch instead."""
    ckpt = _describe(Path(path), variant)
    check_state_dict(state_shapes(ckpt.arch), ckpt.state_dict, ckpt.path)
    return ckpt


def _describe(path: Path, variant: str | None) -> Checkpoint:
    _check_file(path)
    try:
        with Archive(path) as archive:
            tensors, layout, epoch, prefixed = _tensors(archive.obj, path, StoredTensor)
            nonfinite = archive.nonfinite(tensors)
    except NotPlain:
        return read_checkpoint(path, variant, float32=False)
    return _checkpoint(path, tensors, variant, layout, epoch, prefixed, _dtypes(tensors), nonfinite)


def _tensors(obj, path: Path, tensor_type) -> tuple[dict, str, int | None, bool]:
    """(prefix-free tensors, layout, epoch, whether they had the `module.` prefix)."""
    sd, layout, epoch = _unwrap(obj, path)
    tensors = {k: v for k, v in sd.items() if isinstance(v, tensor_type)}
    if not tensors:
        raise EdgesegError(f"{path}: holds no tensors, not a state_dict")
    prefixed = all(k.startswith("module.") for k in tensors)
    if prefixed:
        tensors = {k[len("module."):]: v for k, v in tensors.items()}
    return tensors, layout, epoch, prefixed


def _dtypes(tensors: dict) -> tuple[str, ...]:
    return tuple(sorted({str(v.dtype).replace("torch.", "") for v in tensors.values()}))


def _checkpoint(path: Path, tensors: dict, variant, layout, epoch, prefixed, dtypes, nonfinite) -> Checkpoint:
    try:
        arch = detect(tensors, variant)
    except EdgesegError as exc:
        raise EdgesegError(f"{path}: {exc}") from None
    unused = unused_keys(arch, tensors)
    unused_params = sum(tensors[k].numel() for k in unused if not k.endswith(("running_mean", "running_var", "num_batches_tracked")))
    for k in unused:
        del tensors[k]
    return Checkpoint(str(path), arch, tensors, epoch, layout, prefixed, dtypes, unused, unused_params,
                      sorted(k for k in nonfinite if k not in unused))


def check_state_dict(expected: dict, state_dict: dict, path: str) -> None:
    """Compare keys and shapes (`expected`: key -> shape) before loading, to name what is wrong in one line."""
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    wrong = [f"{k} {tuple(state_dict[k].shape)} != {tuple(shape)}"
             for k, shape in expected.items() if k in state_dict and tuple(state_dict[k].shape) != tuple(shape)]
    problems = []
    if wrong:
        problems.append(f"{len(wrong)} with the wrong shape ({'; '.join(wrong[:SHOW])})")
    if missing:
        problems.append(f"{len(missing)} missing ({', '.join(missing[:SHOW])})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected ({', '.join(unexpected[:SHOW])})")
    if problems:
        raise EdgesegError(f"{path}: does not fit the model it claims to be: keys " + "; ".join(problems))


def load_model(path, variant: str | None = None):
    """(model in eval mode, Checkpoint) for an official checkpoint file. A checkpoint holding
    NaN/Inf weights is refused: its outputs would be blamed on the export."""
    ckpt = read_checkpoint(path, variant)
    if ckpt.nonfinite:
        raise EdgesegError(ckpt.nonfinite_note())
    model = ckpt.arch.build()
    check_state_dict({k: v.shape for k, v in model.state_dict().items()}, ckpt.state_dict, ckpt.path)
    model.load_state_dict(ckpt.state_dict, strict=True)
    return model.eval(), ckpt
