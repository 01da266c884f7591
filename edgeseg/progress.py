"""Progress of long library work (calibration), drawn by whoever calls it.

Library code takes an optional `progress` factory: `progress(total, what)` returns a context
manager whose value is `advance()`, called once per item done. The CLI passes one that drives a
Rich progress bar; the default draws nothing.
"""

from __future__ import annotations

import contextlib


@contextlib.contextmanager
def silent(total: int | None, what: str):
    yield lambda: None
