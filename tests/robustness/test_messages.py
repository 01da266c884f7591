"""Messages and small breakages (issue 22 F): what a user types works, and what fails says so in one line."""

from __future__ import annotations

import numpy as np
import pytest

from cliproc import cli, refused


def _png(path, array):
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), array)
    return path


def test_calib_manifest_names_with_spaces_round_trip_and_v_after_the_group(tmp_path):
    """`edgeseg calib -v make` (verbosity after the group name, as the README says) writes a manifest whose
    names hold spaces; --calib reads them back whole instead of splitting them."""
    from edgeseg.data.calibset import load_calibset

    for name in ("street view 1.png", "street view 2.png"):
        _png(tmp_path / "data" / "images" / name, np.full((8, 8, 3), 7, np.uint8))
    manifest = tmp_path / "m.txt"
    p = cli("calib", "-v", "make", "--data", tmp_path / "data", "--dataset", "folder", "-n", "2", "-o", manifest)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "images/street view 1.png" in manifest.read_text()
    calib = load_calibset(manifest, tmp_path / "data")
    assert sorted(c.name for c in calib.paths) == ["street view 1.png", "street view 2.png"]
    assert cli("fleet", "-q", "ls", "--help").returncode == 0


def test_export_summary_keeps_square_brackets():
    """Rich markup ate `[tensorrt]` in the install hint (`pip install 'edgeseg'`): text prints as it is."""
    import io
    from pathlib import Path
    from types import SimpleNamespace

    from rich.console import Console

    from edgeseg.export.report import print_summary

    hint = "skipped: TensorRT is not installed; install it with: pip install 'edgeseg[tensorrt]'"
    stage = SimpleNamespace(name="fp16", path=Path("m [v2].onnx"), nodes=3, size_bytes=10, reused=False, check=None,
                            extra={"checks": {"tensorrt parse": hint}, "budget": "see [red]x[/red]"})
    out = io.StringIO()
    print_summary(SimpleNamespace(stages=[stage]), Console(file=out, width=200))
    text = out.getvalue()
    assert "pip install 'edgeseg[tensorrt]'" in text and "m [v2].onnx" in text and "[red]x[/red]" in text


CONTRACT_CHANGES = [({}, ""), ({"opset": 18}, "_opset18"), ({"simplifier": "none"}, "_none"),
                    ({"mean_bgr": (1.0, 2.0, 3.0)}, "_pre-"), ({"channel_order": "BGR"}, "_pre-"),
                    ({"std_bgr": (58.0, 57.0, 57.0)}, "_pre-")]


@pytest.mark.slow
def test_contract_changing_options_get_their_own_file_names(tmp_path, monkeypatch):
    """An export with --mean/--std/--channel-order/--opset/--simplifier silently replaced the official
    s2fpn18_48x64.fp32.onnx (and orphaned its INT8 child); it now gets a tagged stem. (A real export
    takes a minute here: the stem is checked where the pipeline makes it, the checkpoint loaded once.)"""
    pytest.importorskip("torch")
    import functools

    from cliproc import DEMO
    from edgeseg.export.pipeline import _context
    from edgeseg.export.options import export_options as flat
    from edgeseg.models import checkpoint

    monkeypatch.setattr(checkpoint, "load_model", functools.lru_cache(checkpoint.load_model))
    stems = set()
    for changes, tag in CONTRACT_CHANGES:
        options = flat(input_size=(48, 64), num_samples=1, **changes)
        ctx = _context(DEMO / "s2fpn18_camvid_half.pth", tmp_path, options)
        assert ctx.stem.startswith("s2fpn18_48x64" + tag), (changes, ctx.stem)
        stems.add(ctx.stem)
    assert "s2fpn18_48x64" in stems and len(stems) == len(CONTRACT_CHANGES)


def test_non_utf8_output_folder_is_one_line(tmp_path):
    """`-o` with a Latin-1 byte gave "_export_onnx(): incompatible function arguments" after the checkpoint
    loaded; it is refused up front (the checkpoint here is junk: the order shows)."""
    import os
    import subprocess
    import sys

    from cliproc import REPO

    ckpt = tmp_path / "junk.pth"
    ckpt.write_bytes(b"\x00not a checkpoint" * 10)
    out = os.fsencode(tmp_path) + b"/caf\xe9"
    p = subprocess.run([sys.executable, "-m", "edgeseg.cli.main", "export", str(ckpt), b"-o", out], capture_output=True,
                       env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    p = subprocess.CompletedProcess(p.args, p.returncode, p.stdout.decode(errors="replace"),
                                    p.stderr.decode(errors="replace"))
    refused(p, "caf\\xe9", "not valid UTF-8")
    assert not os.path.exists(out)


def _ray_processes(driver: int) -> set[int]:
    """Processes of the private cluster `driver` started that outlived it: its session's (named after the
    driver's pid) and agents orphaned to init."""
    from pathlib import Path

    found = set()
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmd = (proc / "cmdline").read_bytes()
            state = (proc / "stat").read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        if state[0] == "Z":
            continue
        if f"_{driver}/".encode() in cmd or f"_{driver} ".encode() in cmd.replace(b"\0", b" ") or \
                (cmd.startswith(b"ray::") and state[1] == "1"):
            found.add(int(proc.name))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGKILL"])
def test_eval_ray_local_ends_cleanly_on_a_signal(tmp_path, sig):
    """SIGTERM during `eval --ray local` printed Ray's C++ dump; SIGKILL left Ray's processes behind.
    Now SIGTERM is one line (exit 143) and either way nothing of the private cluster remains."""
    import os
    import signal
    import subprocess
    import sys
    import time

    pytest.importorskip("ray")
    from cliproc import DEMO, REPO
    from tiny import tiny_onnx

    orphans_before = _ray_processes(-1)  # agents other runs orphaned are not this run's
    p = subprocess.Popen([sys.executable, "-m", "edgeseg.cli.main", "eval", str(tiny_onnx(tmp_path / "m.onnx")),
                          "--val", f"{DEMO}:camvid_val_list.txt", "--ray", "local", "--workers", "2"],
                         stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    lines = []
    for line in p.stderr:
        lines.append(line)
        if line.startswith("evaluating"):  # the cluster is up and the shards are running
            break
    p.send_signal(getattr(signal, sig))
    err = "".join(lines) + p.stderr.read()
    rc = p.wait(timeout=120)
    if sig == "SIGTERM":
        assert rc in (143, 130) and "Traceback" not in err and "*** " not in err, err[-2000:]
        assert err.rstrip().splitlines()[-1] == "error: terminated", err[-2000:]
    deadline = time.monotonic() + 60  # the reaper polls; a loaded CI machine is slower
    while (_ray_processes(p.pid) - orphans_before) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not (_ray_processes(p.pid) - orphans_before)
