"""Every shell and Python example in README.md and docs/ runs as written on a fresh clone with only
the shipped files (the checkpoint and images in edgeseg/assets/camvid-demo, calib/camvid-demo.txt).

Every document's examples run in order in one folder that starts as what a clone ships, so a later
example may use what an earlier one wrote (`out/`), and the exports the README made are reused by the
pages after it, as a reader's would be. Heavy commands get small sizes (TINY: fewer
rounds, images and iterations; never another model or other data). An example that needs what this
machine lacks starts with `# needs: WHAT` and is skipped, saying so; the set-up commands (pip, the
test suite itself) are what this run is already inside.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```(bash|python)\n(.*?)^```", re.S | re.M)
SETUP = ("pip install", "python -m pytest")
# Small sizes for the slow commands: (command, only when the command has this, flags inserted after
# the command's name, where options may precede arguments).
TINY = [("edgeseg tune ", "", "--rounds 1 --iters 2 --val-limit 6 "), ("edgeseg bench ", "", "--warmup 1 "),
        ("edgeseg export ", "--val ", "--val-limit 6 "), ("edgeseg eval ", "", "--limit 6 ")]

pytestmark = pytest.mark.slow  # exports, tunes and videos on the real checkpoint: minutes


def examples(doc: Path) -> list[tuple[str, str]]:
    return [(lang, body) for lang, body in BLOCK.findall(doc.read_text())]


def skip_reason(body: str) -> str | None:
    first = body.strip().splitlines()[0]
    if first.startswith("# needs:"):
        return first.removeprefix("# needs:").strip()
    if any(s in body for s in SETUP):
        return "the set-up step this test runs inside"
    return None


def tiny(body: str) -> str:
    commands = body.replace("\\\n", " ").splitlines()  # one line per command
    for command, needs, flags in TINY:
        commands = [c.replace(command, command + flags) if needs in c else c for c in commands]
    return "\n".join(commands)


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """What a fresh clone ships, and no output of an earlier run."""
    tmp = tmp_path_factory.mktemp("clone")
    (tmp / "edgeseg").symlink_to(ROOT / "edgeseg")  # the package and its assets, read only
    shutil.copytree(ROOT / "calib", tmp / "calib")
    return tmp


@pytest.mark.parametrize("doc", [d for d in DOCS if examples(d)], ids=lambda d: d.name)
def test_examples_run_as_written(doc, clone):
    here = clone
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    skipped, ran = [], 0
    for lang, body in examples(doc):
        reason = skip_reason(body)
        if reason:
            skipped.append(reason)
            continue
        argv = ["bash", "-euo", "pipefail", "-c", tiny(body)] if lang == "bash" else [sys.executable, "-c", body]
        proc = subprocess.run(argv, cwd=here, env=env, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, f"{doc.name}:\n{body}\n--- stdout\n{proc.stdout[-2000:]}\n--- stderr\n" \
                                     f"{proc.stderr[-3000:]}"
        ran += 1
    if not ran:
        pytest.skip("; ".join(skipped))
