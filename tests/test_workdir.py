"""The work directory: temporaries of SIGKILLed runs swept, the umask respected, one writer at a time."""

import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from edgeseg.artifacts import atomic_path, scratch_path, write_json
from edgeseg.errors import EdgesegError
from edgeseg.workdir import LOCK_NAME, locked, sweep_stale

REPO = Path(__file__).resolve().parents[1]


def python(code: str, *args) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *map(str, args)], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_temporaries_of_a_sigkilled_run_are_swept(tmp_path):
    child = python("""
        import sys, time
        from edgeseg.artifacts import atomic_path, scratch_path
        with scratch_path(sys.argv[1], ".onnx"), atomic_path(sys.argv[1] + "/m.onnx") as tmp:
            tmp.write_bytes(b"partial")
            print("ready", flush=True)
            time.sleep(60)
    """, tmp_path)
    assert child.stdout.readline().strip() == "ready"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    left = sorted(p.name for p in tmp_path.iterdir())
    assert len(left) == 2 and all(f".edgeseg-{child.pid}-" in n for n in left)  # the owner is named
    with scratch_path(tmp_path, ".onnx") as mine:  # a live owner's file stays
        assert sweep_stale(tmp_path) and list(tmp_path.iterdir()) == [mine]
    assert not (tmp_path / "m.onnx").exists()


def test_files_that_are_not_temporaries_are_kept(tmp_path):
    # a dead pid and a 12-hex token, but not a name edgeseg writes; old mkstemp-like names too
    keep = [".hidden", "a.onnx", ".a.onnx.json", ".scratch.notes", ".notes.999999.0123456789ab.txt",
            ".m.onnx.999999.0123456789ab.tmp", ".m.onnx.k3j_x9ab.tmp", ".m.edgeseg-999999-0123456789ab.txt"]
    for name in keep:
        (tmp_path / name).write_text("x")
        os.utime(tmp_path / name, (time.time() - 2 * 86400,) * 2)
    sweep_stale(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(keep)


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_outputs_get_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        write_json(tmp_path / "a.json", {"a": 1})
        with atomic_path(tmp_path / "b.onnx") as tmp:
            tmp.write_bytes(b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == mode
    assert stat.S_IMODE((tmp_path / "b.onnx").stat().st_mode) == mode


def hold_lock(directory):
    """Another process holding the work directory's lock until it is killed."""
    holder = python("""
        import sys
        from edgeseg.workdir import locked
        with locked(sys.argv[1]):
            print("locked", flush=True)
            sys.stdin.readline()
    """, directory)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_a_second_writer_is_refused_in_one_line(tmp_path):
    holder = hold_lock(tmp_path)
    try:
        with pytest.raises(EdgesegError) as err:
            with locked(tmp_path):
                pass
        assert str(err.value).startswith(f"another edgeseg export is writing to {tmp_path} (pid {holder.pid})")
        assert "\n" not in str(err.value)
    finally:
        holder.kill()
        holder.wait()
    with locked(tmp_path):  # the holder is gone (even killed): the lock is free
        assert (tmp_path / LOCK_NAME).read_text() == str(os.getpid())
    assert not (tmp_path / LOCK_NAME).exists()  # nothing left behind


@pytest.mark.slow
def test_two_exports_into_one_directory(tmp_path):
    """Through the CLI: the second export into the same -o stops at once with the message."""
    holder = hold_lock(tmp_path / "out")
    try:
        from golden import save_checkpoint

        save_checkpoint("s2fpn18", tmp_path / "c.pth")
        run = subprocess.run([sys.executable, "-m", "edgeseg.cli.main", "export", str(tmp_path / "c.pth"), "-o",
                              str(tmp_path / "out"), "--input-size", "96x128"], capture_output=True, text=True,
                             env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300)
    finally:
        holder.kill()
        holder.wait()
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert f"another edgeseg export is writing to {tmp_path / 'out'} (pid {holder.pid})" in run.stderr
    assert {p.name for p in (tmp_path / "out").iterdir()} <= {LOCK_NAME}  # the killed holder's, reused next time


def test_taking_the_lock_sweeps_dead_owners_files(tmp_path):
    dead = tmp_path / ".scratch.edgeseg-999999999-0123456789ab.onnx"  # above any pid_max: no such process
    dead.write_bytes(b"84 MB once")
    live = tmp_path / f".m.onnx.{os.getpid()}.0123456789ab.tmp"
    live.write_bytes(b"mine")
    with locked(tmp_path):
        assert not dead.exists() and live.exists()
