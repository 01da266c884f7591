"""Loading official S²-FPN / SPFNet checkpoints safely and with clear errors.

Accepts `{"epoch", "model": sd}` (official), `{"state_dict": sd}`, a bare state_dict,
`module.` prefixes (DataParallel) and half-precision tensors. `weights_only=True`: a
checkpoint must never be able to run code.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from edgeseg.errors import EdgesegError
from edgeseg.models.registry import Arch, detect, unused_keys

SHOW = 3  # offending keys named in an error


@dataclass
class Checkpoint:
    path: str
    arch: Arch
    state_dict: dict  # float32 (as stored with float32=False), prefix-free, without unused keys
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


def _torch_load(path: Path):
    import torch

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
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # untrusted bytes: any failure is classified, never a traceback
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        first = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        if "Weights only load failed" in str(exc):
            raise EdgesegError(f"{path}: refused, the checkpoint holds objects other than tensors "
                               "(loading it could run code)") from None
        if head.startswith(b"PK"):
            raise EdgesegError(f"{path}: truncated or corrupt checkpoint ({size} bytes; {first[:120]})") from None
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
    """The checkpoint's architecture and state_dict; `float32=False` keeps tensors as stored (a
    half-precision copy's conversion is the slowest step of reading it, needless for shapes)."""
    import torch

    path = Path(path)
    sd, layout, epoch = _unwrap(_torch_load(path), path)
    tensors = {k: v for k, v in sd.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise EdgesegError(f"{path}: holds no tensors, not a state_dict")
    prefixed = all(k.startswith("module.") for k in tensors)
    if prefixed:
        tensors = {k[len("module."):]: v for k, v in tensors.items()}
    dtypes = tuple(sorted({str(v.dtype).replace("torch.", "") for v in tensors.values()}))
    if float32:
        tensors = {k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}
    try:
        arch = detect(tensors, variant)
    except EdgesegError as exc:
        raise EdgesegError(f"{path}: {exc}") from None
    nonfinite = sorted(k for k, v in tensors.items() if v.is_floating_point() and not torch.isfinite(v).all())
    unused = unused_keys(arch, tensors)
    unused_params = sum(tensors[k].numel() for k in unused if not k.endswith(("running_mean", "running_var", "num_batches_tracked")))
    for k in unused:
        del tensors[k]
    return Checkpoint(str(path), arch, tensors, epoch, layout, prefixed, dtypes, unused, unused_params,
                      [k for k in nonfinite if k not in unused])


def check_state_dict(model, state_dict: dict, path: str) -> None:
    """Compare keys and shapes before loading, to name what is wrong in one line."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    wrong = [f"{k} {tuple(state_dict[k].shape)} != {tuple(v.shape)}"
             for k, v in expected.items() if k in state_dict and state_dict[k].shape != v.shape]
    problems = []
    if wrong:
        problems.append(f"{len(wrong)} with the wrong shape ({'; '.join(wrong[:SHOW])})")
    if missing:
        problems.append(f"{len(missing)} missing ({', '.join(missing[:SHOW])})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected ({', '.join(unexpected[:SHOW])})")
    if problems:
        raise EdgesegError(f"{path}: does not fit the model it claims to be: keys " + "; ".join(problems))


def load_model(path, variant: str | None = None, weights: bool = True, allow_nonfinite: bool = False):
    """(model in eval mode, Checkpoint) for an official checkpoint file.

    `weights=False` checks the checkpoint against the model but leaves the weights unset
    (uninitialised memory): enough to count parameters and FLOPs, without initialising,
    converting and copying millions of values. (A model on the meta device would do too, but
    its first op imports torch._dynamo, slower than all of that.) A checkpoint holding NaN/Inf
    weights is refused (its outputs would be blamed on the export), unless `allow_nonfinite`
    (for `inspect`, which reports it).
    """
    ckpt = read_checkpoint(path, variant, float32=weights)
    if ckpt.nonfinite and not allow_nonfinite:
        raise EdgesegError(ckpt.nonfinite_note())
    with contextlib.nullcontext() if weights else _skip_init():
        model = ckpt.arch.build()
    check_state_dict(model, ckpt.state_dict, ckpt.path)
    if weights:
        model.load_state_dict(ckpt.state_dict, strict=True)
    return model.eval(), ckpt


def _skip_init():
    """A mode in which torch.nn.init's functions leave their tensor as it is."""
    from torch.overrides import TorchFunctionMode

    class SkipInit(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            if getattr(func, "__module__", None) == "torch.nn.init":
                return args[0] if args else kwargs["tensor"]
            return func(*args, **(kwargs or {}))

    return SkipInit()
