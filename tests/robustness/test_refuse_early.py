"""Memory and time: what cannot fit or cannot be used is refused before the work (issue 22 E)."""

from __future__ import annotations

import os
import struct
import zipfile

import numpy as np
import pytest

from cliproc import cli, refused

SMALL, HUGE = 123457, 50_000_000  # elements: the saved tensor's, and what the crafted file declares


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory):
    """A torch zip checkpoint whose one storage declares 200 MB, deflated to ~200 KB."""
    torch = pytest.importorskip("torch")
    folder = tmp_path_factory.mktemp("bomb")
    plain = folder / "plain.pth"
    torch.save({"w": torch.zeros(SMALL)}, plain)
    bomb = folder / "bomb.pth"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(bomb, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("data.pkl"):
                data = data.replace(struct.pack("<i", SMALL), struct.pack("<i", HUGE))
                dst.writestr(info.filename, data)
            elif info.filename.endswith("/data/0"):
                deflated = zipfile.ZipInfo(info.filename)
                deflated.compress_type = zipfile.ZIP_DEFLATED
                with dst.open(deflated, "w", force_zip64=True) as out:
                    left = HUGE * 4
                    while left:
                        out.write(bytes(min(left, 1 << 22)))
                        left -= min(left, 1 << 22)
            else:
                dst.writestr(info, data)
    return bomb


def test_inspect_refuses_a_zip_bomb_before_decompressing(zip_bomb):
    """E1: the zip directory's sizes are checked before any storage is read (it peaked at 2.35 GB)."""
    import subprocess
    import sys

    from cliproc import REPO

    assert zip_bomb.stat().st_size < 2_000_000
    code = ("import re, sys; from edgeseg.cli.main import main; rc = main(['inspect', sys.argv[1]]); "  # VmHWM: since exec
            "print('peak_kb', re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1], file=sys.stderr); "
            "sys.exit(rc)")
    p = subprocess.run([sys.executable, "-c", code, str(zip_bomb)], capture_output=True, text=True, cwd=REPO,
                       env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    refused(p, "zip bomb", "data/0")
    peak_kb = int(p.stderr.split("peak_kb")[1].split()[0])
    assert peak_kb < 150_000, peak_kb  # the 200 MB storage was never decompressed
