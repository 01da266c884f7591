"""A PyTorch zip checkpoint read without PyTorch: key names, dtypes, shapes and finiteness.

`edgeseg inspect` needs no tensor arithmetic, and importing torch takes longer than all the
rest of the command. Only the plain format is read here (a zip holding one pickle of
containers, numbers, strings and tensors, little-endian storages); anything else raises
`NotPlain` and the caller reads the file with torch, which classifies it exactly as before.
The unpickler resolves no global but those few names, so a file cannot run code here either.
"""

from __future__ import annotations

import collections
import pickle
import zipfile
from dataclasses import dataclass
from math import prod

import numpy as np

from edgeseg.errors import EdgesegError

# storage class -> (dtype name as torch prints it, bytes per element)
STORAGES = {
    "FloatStorage": ("float32", 4), "HalfStorage": ("float16", 2), "BFloat16Storage": ("bfloat16", 2),
    "DoubleStorage": ("float64", 8), "LongStorage": ("int64", 8), "IntStorage": ("int32", 4),
    "ShortStorage": ("int16", 2), "CharStorage": ("int8", 1), "ByteStorage": ("uint8", 1),
    "BoolStorage": ("bool", 1),
}
WIDTH = dict(STORAGES.values())
# An IEEE value is Inf or NaN exactly when all its exponent bits are set.
EXPONENT = {"float16": 0x7C00, "bfloat16": 0x7F80, "float32": 0x7F800000, "float64": 0x7FF0000000000000}


MAX_EXPANSION = 20  # decompressed / compressed size of a storage; real weights deflate by < 1.2x


class NotPlain(Exception):
    """The file is not a plain zip checkpoint (or not a checkpoint at all): let torch read it."""


@dataclass(frozen=True)
class StoredTensor:
    """Where a tensor lies in the archive, with the part of torch.Tensor's interface we use."""

    dtype: str
    shape: tuple[int, ...]
    stride: tuple[int, ...]
    offset: int
    storage: str  # record name of its storage in the archive

    def numel(self) -> int:
        return prod(self.shape)

    def is_floating_point(self) -> bool:
        return self.dtype in EXPONENT


@dataclass(frozen=True)
class _Storage:
    dtype: str
    record: str
    numel: int


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, records: str):
        super().__init__(file)
        self.records = records
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module, name):
        if (module, name) not in GLOBALS:
            raise NotPlain(f"holds {module}.{name}")
        return GLOBALS[module, name]

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage" and isinstance(pid[4], int)):
            raise NotPlain(f"storage reference {pid!r}")
        _, dtype, key, _location, numel = pid
        if dtype not in WIDTH:
            raise NotPlain(f"storage type {dtype!r}")
        storage = _Storage(dtype, f"{self.records}/{key}", numel)
        return self.storages.setdefault(storage.record, storage)


def _ints(value) -> tuple[int, ...]:
    if not (isinstance(value, tuple) and all(type(v) is int and v >= 0 for v in value)):
        raise NotPlain(f"tensor geometry {value!r}")
    return value


def _rebuild_tensor(storage, offset, size, stride, requires_grad=False, hooks=None, metadata=None):
    if not isinstance(storage, _Storage) or type(offset) is not int or metadata or hooks:
        raise NotPlain("tensor with extra state")
    size, stride = _ints(size), _ints(stride)
    if len(size) != len(stride) or offset < 0 or min(size + stride, default=0) < 0:
        raise NotPlain("tensor geometry")
    last = offset + sum((n - 1) * s for n, s in zip(size, stride)) if prod(size) else offset - 1
    if last >= storage.numel:
        raise NotPlain("tensor outside its storage")
    return StoredTensor(storage.dtype, size, stride, offset, storage.record)


def _rebuild_parameter(data, requires_grad=False, hooks=None):
    if not isinstance(data, StoredTensor) or hooks:
        raise NotPlain("parameter with extra state")
    return data


# The only names a checkpoint's pickle may resolve (a storage class stands for its dtype name).
GLOBALS = {("collections", "OrderedDict"): collections.OrderedDict,
           ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
           ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
           **{("torch", name): dtype for name, (dtype, _) in STORAGES.items()}}


class Archive:
    """An opened checkpoint: `obj` as torch.load would return it, tensors as StoredTensor."""

    def __init__(self, path):
        self.zip = None
        try:
            self.zip = zipfile.ZipFile(path)
            names = self.zip.namelist()
            pickles = [n for n in names if n.count("/") == 1 and n.endswith("/data.pkl")]
            if len(pickles) != 1:
                raise NotPlain("no single data.pkl")
            root = pickles[0].rsplit("/", 1)[0]
            if f"{root}/byteorder" in names and self.zip.read(f"{root}/byteorder") != b"little":
                raise NotPlain("big-endian storages")
            with self.zip.open(pickles[0]) as f:
                unpickler = _Unpickler(f, f"{root}/data")
                self.obj = unpickler.load()
            self.storages = unpickler.storages
            self._check_sizes()
        except (NotPlain, EdgesegError):
            self.close()
            raise
        except Exception as exc:  # a damaged file: torch's reader words the error
            self.close()
            raise NotPlain(f"{type(exc).__name__}: {exc}") from None

    def _check_sizes(self) -> None:
        """From the zip directory, before any storage is decompressed: each holds the bytes its tensors
        declare, and none expands far past its compressed size (torch.save stores storages
        uncompressed; a 1 MB archive must not become gigabytes in memory)."""
        for record, storage in self.storages.items():
            try:
                info = self.zip.getinfo(record)
            except KeyError:
                raise NotPlain(f"{record} is missing") from None
            if info.file_size != storage.numel * WIDTH[storage.dtype]:
                raise NotPlain(f"{record} holds {info.file_size} bytes for {storage.numel} {storage.dtype} values")
            if info.file_size > max(MAX_EXPANSION * info.compress_size, 1 << 20):
                raise EdgesegError(f"{self.zip.filename}: storage {record} expands from {info.compress_size} to "
                                   f"{info.file_size} bytes when decompressed: refused as a zip bomb (torch.save "
                                   "stores tensors uncompressed)")

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def nonfinite(self, tensors: dict) -> list[str]:
        """Keys of the floating-point tensors holding a NaN or an Inf."""
        flags = self._read_storages()
        found = []
        for key, t in tensors.items():
            if t.is_floating_point() and t.numel() and _any_touched(flags[t.storage], t):
                found.append(key)
        return sorted(found)

    def _read_storages(self) -> dict[str, np.ndarray]:
        """Every storage read and its length checked, as torch.load does; Inf/NaN flags of the floating ones."""
        flags = {}
        for record, storage in self.storages.items():
            try:
                raw = self.zip.read(record)
            except Exception as exc:
                raise NotPlain(f"{type(exc).__name__}: {exc}") from None
            if len(raw) != storage.numel * WIDTH[storage.dtype]:
                raise NotPlain(f"{record} holds {len(raw)} bytes for {storage.numel} {storage.dtype} values")
            if storage.dtype in EXPONENT:
                mask = EXPONENT[storage.dtype]
                flags[record] = (np.frombuffer(raw, f"<u{WIDTH[storage.dtype]}") & mask) == mask
        return flags


def _any_touched(flags: np.ndarray, t: StoredTensor) -> bool:
    """Whether a storage element the tensor refers to is flagged, at a cost bounded by the span of
    storage it covers, never by its shape: a crafted (10^13,) view of stride 0 is one element."""
    dims = [(n, s) for n, s in zip(t.shape, t.stride) if n > 1 and s > 0]
    last = t.offset + sum((n - 1) * s for n, s in dims)
    span = flags[t.offset:last + 1]
    if prod(n for n, _ in dims) <= span.size:  # each element once at most: walk the view
        return bool(np.lib.stride_tricks.as_strided(span, [n for n, _ in dims], [s * span.itemsize for _, s in dims]).any())
    reach = np.zeros(span.size, bool)  # overlapping strides: mark the elements reached, dimension by dimension
    reach[0] = True
    for n, s in dims:
        have = 1  # reach holds offsets k * s for k < have; doubling reaches n in log2(n) shifts
        while have < n:
            k = min(have, n - have)
            if k * s < reach.size:
                reach[k * s:] |= reach[:reach.size - k * s].copy()
            have += k
    return bool((span & reach).any())
