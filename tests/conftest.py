"""Shared test fixtures: the repository's own golden files and, where present, ../shared."""

from __future__ import annotations

from pathlib import Path

import pytest

from paths import CAMVID, TRAINED


@pytest.fixture(scope="session")
def camvid_root() -> Path:
    if not (CAMVID / "camvid_val_list.txt").exists():
        pytest.skip(f"real CamVid data not found at {CAMVID} (../shared is absent)")
    return CAMVID


@pytest.fixture(scope="session")
def trained_ckpt() -> Path:
    if not TRAINED.exists():
        pytest.skip(f"trained checkpoint not found at {TRAINED} (../shared is absent)")
    return TRAINED
