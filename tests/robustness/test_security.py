"""Security and data loss (issue 22 part B) through the real CLI: a lock file that is a link, a
user's file that looks like a temporary, a sidecar naming another model, keys injected into an
nvinfer config, a private Ray cluster reachable from the network."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from cliproc import cli, refused
from paths import REPO
from tiny import tiny_onnx

SHAPE_IN, SHAPE_OUT = [1, 3, 180, 240], [1, 11, 180, 240]


# -- B1, B2: the work directory --------------------------------------------------------------
@pytest.mark.slow
def test_a_lock_file_that_is_a_symlink_is_refused_and_its_target_untouched(trained_ckpt, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    (out / ".edgeseg.lock").symlink_to(victim)
    p = cli("export", trained_ckpt, "-o", out, "--input-size", "64x96")
    refused(p, ".edgeseg.lock is a symbolic link")
    assert victim.read_text() == "precious"
    assert sorted(x.name for x in out.iterdir()) == [".edgeseg.lock"]  # nothing exported through it


def test_a_lock_file_that_is_a_fifo_or_a_hard_link_is_refused(tmp_path):
    from edgeseg.errors import EdgesegError
    from edgeseg.workdir import locked

    os.mkfifo(tmp_path / ".edgeseg.lock")  # opening it for writing would block forever
    with pytest.raises(EdgesegError, match="not a regular file"):
        with locked(tmp_path):
            pass
    other = tmp_path / "other"
    other.mkdir()
    (other / "mine.txt").write_text("precious")
    os.link(other / "mine.txt", other / ".edgeseg.lock")
    with pytest.raises(EdgesegError, match="hard links"):
        with locked(other):
            pass
    assert (other / "mine.txt").read_text() == "precious"


DEAD = 999_999_999  # above any pid_max: no such process


def test_the_sweep_keeps_user_files_that_only_look_like_temporaries(tmp_path):
    """What `export` sweeps when it takes the lock (a full export is too slow for this suite):
    only names edgeseg writes, whose owner is dead."""
    from edgeseg.artifacts import atomic_path
    from edgeseg.workdir import sweep_stale

    user = [f".notes.{DEAD}.0123456789ab.txt", f".m.onnx.{DEAD}.0123456789ab.tmp", f".a.{DEAD}.0123456789ab",
            f".x.edgeseg-{DEAD}-0123456789ab.txt", f".x.edgeseg-{DEAD}-0123456789AB.tmp", ".scratch.k3j_x9ab.onnx"]
    ours = [f".m.onnx.edgeseg-{DEAD}-0123456789ab.tmp", f".scratch.edgeseg-{DEAD}-0123456789ab.onnx",
            f".m.engine.edgeseg-{DEAD}-0123456789ab.engine", f".m.engine.edgeseg-{DEAD}-0123456789ab.engine.json"]
    for name in user + ours:
        (tmp_path / name).write_text("x")
    with atomic_path(tmp_path / "m.onnx") as tmp:  # a live writer's temporary has the form swept
        assert re.fullmatch(rf"\.m\.onnx\.edgeseg-{os.getpid()}-[0-9a-f]{{12}}\.tmp", tmp.name)
        assert {p.name for p in sweep_stale(tmp_path)} == set(ours)
        assert tmp.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(user + ["m.onnx"])


# -- B3, B4: DeepStream configs ----------------------------------------------------------------
def engine_beside(onnx, name="m.engine", parent=None):
    """A plan (opaque bytes: deepstream reads only its sidecar) with the sidecar `build` writes."""
    from edgeseg.artifacts import parent_entry, metadata_dict, sha256_file, write_sidecar

    meta = metadata_dict(onnx)
    engine = onnx.with_name(name)
    engine.write_bytes(b"plan")
    write_sidecar(engine, {
        "kind": "engine", "precision": "fp16", "preprocess": meta["preprocess"], "dataset": meta["dataset"],
        "io": {"input": {"name": "input", "dtype": "float32", "layout": "NCHW", "shape": SHAPE_IN},
               "output": {"name": "logits", "dtype": "float32", "kind": "logits", "shape": SHAPE_OUT}},
        "engine": {"sha256": sha256_file(engine)},
        "provenance": {"parent": parent if parent is not None else parent_entry(onnx, engine)}})
    return engine


def prop(path) -> dict:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and line[0] != "#")


@pytest.mark.slow
def test_deepstream_from_another_folder_names_the_engines_own_onnx(tmp_path):
    models, elsewhere = tmp_path / "models", tmp_path / "elsewhere"
    models.mkdir(), elsewhere.mkdir()
    engine = engine_beside(tiny_onnx(models / "m.onnx"))
    tiny_onnx(elsewhere / "m.onnx", seed=1)  # another model of the same name, in the current directory
    config = elsewhere / "m.txt"
    p = cli("deepstream", engine, "-o", config, cwd=elsewhere)
    assert p.returncode == 0, p.stderr[-2000:]
    assert (config.parent / prop(config)["onnx-file"]).resolve() == (models / "m.onnx").resolve()
    # the engine's ONNX replaced by another model, or gone: refused, never silently another or none
    shutil.copy(elsewhere / "m.onnx", models / "m.onnx")
    refused(cli("deepstream", engine, "-o", config, cwd=elsewhere), "is not the file m.engine was made from")
    (models / "m.onnx").unlink()
    refused(cli("deepstream", engine, "-o", config, cwd=elsewhere), "names m.onnx, which is not at")


def test_engine_sidecar_records_its_onnx_relative_to_its_own_folder(tmp_path):
    from edgeseg.artifacts import parent_entry, sha256_file

    (tmp_path / "sub").mkdir()
    onnx = tiny_onnx(tmp_path / "sub" / "m.onnx")
    assert parent_entry(onnx, tmp_path / "sub" / "m.engine") == {"path": "m.onnx", "sha256": sha256_file(onnx)}
    assert parent_entry(onnx, tmp_path / "e" / "m.engine")["path"] == os.path.join("..", "sub", "m.onnx")


@pytest.mark.parametrize("name", ["m\nmodel-engine-file=evil.engine\n.engine", "m\\x.engine", "m\r.engine"])
def test_file_names_that_would_inject_nvinfer_keys_are_refused(tmp_path, name):
    onnx = tiny_onnx(tmp_path / "ok.onnx")
    engine = engine_beside(onnx)
    bad = tmp_path / name
    os.rename(engine, bad)
    os.rename(engine.with_name(engine.name + ".json"), bad.with_name(bad.name + ".json"))
    p = cli("deepstream", bad, "-o", tmp_path / "c.txt")
    refused(p, "nvinfer's config file cannot carry")
    assert not (tmp_path / "c.txt").exists()


def test_tensor_names_with_list_separators_are_refused(tmp_path):
    onnx = tiny_onnx(tmp_path / "m.onnx")
    engine = engine_beside(onnx)
    side = engine.with_name("m.engine.json")
    meta = json.loads(side.read_text())
    meta["io"]["output"]["name"] = "logits;labels"
    side.write_text(json.dumps(meta))
    refused(cli("deepstream", engine), "output-blob-names", "';'")


@pytest.mark.parametrize("args,words", [(["--threshold", "nan"], "--threshold must be a finite number"),
                                        (["--threshold", "inf"], "--threshold must be a finite number"),
                                        (["--gie-unique-id", "-1"], "--gie-unique-id must be a positive"),
                                        (["--gie-unique-id", "0"], "--gie-unique-id must be a positive")])
def test_nvinfer_numbers_it_cannot_take_are_refused(tmp_path, args, words):
    engine = engine_beside(tiny_onnx(tmp_path / "m.onnx"))
    refused(cli("deepstream", engine, *args), words)
    assert not (tmp_path / "m.engine.nvinfer.txt").exists()


# -- B5: --ray local listens on loopback only ----------------------------------------------------
def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo += children.get(pid, [])
    return found


def _listening(pids: set[int]) -> set[str]:
    """Local addresses of the TCP sockets these processes listen on (ss -ltnp)."""
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout
    return {line.split()[3] for line in out.splitlines()
            if {int(p) for p in re.findall(r"pid=(\d+)", line)} & pids}


def _is_loopback(address: str) -> bool:
    host = address.rsplit(":", 1)[0].strip("[]")
    host = host.removeprefix("::ffff:")
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"  # '*' and '0.0.0.0' are every interface


@pytest.mark.slow
def test_ray_local_listens_on_loopback_only(tmp_path):
    pytest.importorskip("ray", reason="Ray is not installed (the fleet extra)")
    if shutil.which("ss") is None:
        pytest.skip("ss (iproute2) is not installed: cannot list listening sockets")
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    env.pop("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", None)
    proc = subprocess.Popen([sys.executable, "-m", "edgeseg.cli.main", "fleet", "ls", "--ray", "local"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    seen: set[str] = set()
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        seen |= _listening(_descendants(proc.pid))
        time.sleep(0.2)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    assert seen, "saw no listening socket of the private cluster: nothing was checked"
    assert all(_is_loopback(a) for a in seen), sorted(seen)
