"""Run the real CLI in a subprocess, as a user runs it, and check that a failure is one line with no traceback."""

from __future__ import annotations

import os
import subprocess
import sys

from paths import REPO

DEMO = REPO / "edgeseg" / "assets" / "camvid-demo"


def cli(*args, cwd=None, timeout=300, env_extra=None, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200", **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "edgeseg.cli.main", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=timeout, **kw)


def refused(p: subprocess.CompletedProcess, *words: str, code: int = 1) -> str:
    """Exit `code`, exactly one `error:` line holding every word, never a traceback; returns that line."""
    assert "Traceback" not in p.stderr and "Traceback" not in p.stdout, p.stderr[-3000:]
    assert p.returncode == code, (p.returncode, p.stderr[-2000:])
    errors = [line for line in p.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, p.stderr[-2000:]
    for w in words:
        assert w in errors[0], errors[0]
    return errors[0]


