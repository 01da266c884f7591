"""Every architecture as data: its state_dict's shapes and its FLOPs as a formula of the input size.

`edgeseg inspect` answers from this table without torch (importing torch alone takes longer
than the rest of the command). The table is generated from the models themselves
(`python -m edgeseg.models.archspec`) and a test regenerates it, so it cannot drift from them.

A FLOP term is a constant times sizes: `classes`, or `h8` = ceil(H/8), `w32` = ceil(W/32).
Those (and twice those: a pixel shuffle) are the only sizes our nets make, as every stride-2
conv and pool of theirs rounds up; the generator traces each model at two probe sizes where
every such size has a value of its own, and refuses a model whose terms the probes disagree on.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from itertools import product
from math import prod
from pathlib import Path

from edgeseg.models.complexity import products
from edgeseg.models.registry import Arch

SPEC = Path(__file__).with_name("architectures.json")
SIZE = re.compile(r"([hw])(\d+)$")
# Probe sizes: H = a·2^14 + 1 keeps every ceil(H/2^l) and 2·ceil(H/2^l) distinct from each
# other, from W's, from their products, and far above any channel count; classes likewise.
PROBES = (((2**14 + 1, 3 * 2**14 + 1), 1009), ((5 * 2**14 + 1, 7 * 2**14 + 1), 1013))
LEVELS = range(8)


@lru_cache(maxsize=1)
def _table() -> dict:
    return json.loads(SPEC.read_text())


def spec(arch) -> dict:
    """The table's entry for an `Arch`: {"parameters": {key: shape}, "buffers": ..., "flops": [[c, sizes]...]}."""
    return _table()[arch.variant]


def _shape(shape: list, classes: int) -> tuple[int, ...]:
    return tuple(classes if d == "classes" else d for d in shape)


def state_shapes(arch) -> dict[str, tuple[int, ...]]:
    """What `arch.build().state_dict()` holds: key -> shape, parameters and buffers."""
    entry = spec(arch)
    return {k: _shape(v, arch.classes) for part in ("parameters", "buffers") for k, v in entry[part].items()}


def count_params(arch) -> int:
    return sum(prod(_shape(v, arch.classes)) for v in spec(arch)["parameters"].values())


def _value(symbol: str, size: tuple[int, int], classes: int) -> int:
    if symbol == "classes":
        return classes
    axis, div = SIZE.match(symbol).groups()
    return -(-size["hw".index(axis)] // int(div))


def count_flops(arch, size: tuple[int, int]) -> int:
    """FLOPs of one forward at `size` (H, W), batch 1, as `complexity.count_flops` counts them."""
    return sum(c * prod(_value(s, size, arch.classes) for s in symbols) for c, symbols in spec(arch)["flops"])


# --- generation (imports torch) -------------------------------------------------------

def _names(size: tuple[int, int], classes: int) -> dict[int, tuple[tuple[str, ...], int]]:
    """Value at this probe -> (the sizes it is the value or product of, a factor 1 or 2)."""
    axes = [{(f"{axis}{2 ** level}", m): m * -(-n // 2 ** level) for level, m in product(LEVELS, (1, 2))}
            for axis, n in zip("hw", size)]
    named = {((k,), m): v for sizes in axes for (k, m), v in sizes.items()}
    for ((h, hm), hv), ((w, wm), wv) in product(*(sizes.items() for sizes in axes)):
        named[((h, w), hm * wm)] = hv * wv
    named[(("classes",), 1)] = classes
    names = {v: k for k, v in named.items()}
    if len(names) != len(named):
        raise ValueError(f"probe {size}: two sizes share a value")
    return names


def _terms(model, size: tuple[int, int], classes: int) -> list:
    names = _names(size, classes)
    terms: dict[tuple[str, ...], int] = {}
    for shape, inner in products(model, size):
        const, symbols = 2, []
        for factor in (*shape, inner):
            if factor == 0:  # the empty batch
                continue
            if factor in names:
                symbols += names[factor][0]
                const *= names[factor][1]
            else:  # a channel count or kernel size; a size of another form differs between probes
                const *= factor
        key = tuple(sorted(symbols))
        terms[key] = terms.get(key, 0) + const
    return sorted([c, list(k)] for k, c in terms.items())


def _entry(arch, size: tuple[int, int], classes: int) -> dict:
    """The table's entry for `arch`, from its model built for `classes` and traced at `size`."""
    from dataclasses import replace

    model = replace(arch, classes=classes).build()
    params = {k for k, _ in model.named_parameters()}
    shapes = {k: ["classes" if d == classes else d for d in v.shape] for k, v in model.state_dict().items()}
    return {"parameters": {k: v for k, v in shapes.items() if k in params},
            "buffers": {k: v for k, v in shapes.items() if k not in params},
            "flops": _terms(model, size, classes)}


def generate() -> dict:
    """The table, from the models: the two probes must agree on every shape and every term,
    or a size of a form the table cannot name was taken for a constant."""
    import torch


    encoders = {"current": ((18, False), (34, False), (34, True)), "v1": ((18, False), (34, False), (34, True)),
                "spfnet": ((18, False), (34, False))}
    table = {}
    with torch.no_grad():
        for arch in (Arch(g, depth, 0, m) for g, pairs in encoders.items() for depth, m in pairs):
            seen = [_entry(arch, size, classes) for size, classes in PROBES]
            if seen[0] != seen[1]:
                raise ValueError(f"{arch.variant}: the two probes disagree; a size the table cannot name")
            table[arch.variant] = seen[0]
    return table


def dumps(table: dict) -> str:
    """JSON with one line per key and per term, so a change to a model reads as a short diff."""
    variants = []
    for variant, entry in table.items():
        parts = [f' "{part}": {{\n' + ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in entry[part].items())
                 + "\n }" for part in ("parameters", "buffers")]
        parts.append(' "flops": [\n' + ",\n".join(f"  {json.dumps(term)}" for term in entry["flops"]) + "\n ]")
        variants.append(f"{json.dumps(variant)}: {{\n" + ",\n".join(parts) + "\n}")
    return "{\n" + ",\n".join(variants) + "\n}\n"


if __name__ == "__main__":
    SPEC.write_text(dumps(generate()))
    print(f"wrote {SPEC}")
