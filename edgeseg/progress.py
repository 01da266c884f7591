"""Progress of long library work (calibration, fallback ranking, evaluation, tune phases), drawn by
whoever calls it.

Library code takes an optional `progress` factory: `progress(total, what)` returns a context
manager whose value is `advance(n=1)`, called once per item done (`total` None: a phase without a
count). `phase(progress, total, what)` is how library code opens one, given a factory or None. The
CLI passes one that draws a bar with counts and an ETA on a terminal and one line per phase
elsewhere (edgeseg.cli.common.progress); the default draws nothing.
"""

from __future__ import annotations

import contextlib


@contextlib.contextmanager
def silent(total: int | None, what: str):
    yield lambda n=1: None


def phase(progress, total: int | None, what: str):
    """`progress(total, what)`, or a silent phase when the caller gave no factory."""
    return (progress or silent)(total, what)
