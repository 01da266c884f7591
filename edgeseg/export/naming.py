"""Artifact file names: an export whose contract differs from the official one gets its own name.

The stem `{variant}_{H}x{W}` names the official contract (the dataset's mean, no std, its channel
order, opset 17, the default simplifier). An export with `--mean`, `--std`, `--channel-order`,
`--opset` or `--simplifier` makes a different model (other inputs, other graph), so its files
carry a tag: it must never replace the official-contract file and orphan that file's INT8 child.
"""

from __future__ import annotations

import hashlib
import json

from edgeseg.export.simplify import DEFAULT

OFFICIAL_OPSET = 17


def contract_tag(options, preprocess, official) -> str:
    """'' for the official contract, else '_' + what differs ('opset19', 'onnxslim', 'pre-1a2b3c4d')."""
    parts = []
    if options.opset != OFFICIAL_OPSET:
        parts.append(f"opset{options.opset}")
    if options.simplifier != DEFAULT:
        parts.append(str(options.simplifier))
    mine = (tuple(preprocess.mean_bgr), preprocess.std_bgr and tuple(preprocess.std_bgr), preprocess.channel_order)
    theirs = (tuple(official.mean_bgr), official.std_bgr and tuple(official.std_bgr), official.channel_order)
    if mine != theirs:
        blob = json.dumps([list(mine[0]), list(mine[1]) if mine[1] else None, mine[2]])
        parts.append("pre-" + hashlib.sha256(blob.encode()).hexdigest()[:8])
    return "".join(f"_{p}" for p in parts)
