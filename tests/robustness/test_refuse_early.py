"""Memory and time: what cannot fit or cannot be used is refused before the work (issue 22 E)."""

from __future__ import annotations

import os
import struct
import zipfile

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


@pytest.mark.slow
def test_inspect_refuses_a_zip_bomb_before_decompressing(zip_bomb):
    """E1: the zip directory's sizes are checked before any storage is read (it peaked at 2.35 GB)."""
    assert zip_bomb.stat().st_size < 2_000_000
    p = _cli_peak("inspect", zip_bomb)
    refused(p, "zip bomb", "data/0")
    assert _peak_kb(p) < 150_000, _peak_kb(p)  # the 200 MB storage was never decompressed


def _peak_kb(p) -> int:
    return int(p.stderr.split("peak_kb")[1].split()[0])


def _cli_peak(*args, timeout=120):
    """The CLI in a subprocess, reporting its peak resident memory since exec (VmHWM) on stderr."""
    import subprocess
    import sys

    from cliproc import REPO

    code = "\n".join([
        "import re, sys", "from edgeseg.cli.main import main", "try:", "    rc = main(sys.argv[1:])", "finally:",
        "    hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1]",
        "    print('peak_kb', hwm, file=sys.stderr)", "sys.exit(rc)"])
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=timeout)


@pytest.mark.slow
def test_predict_refuses_a_huge_image_from_its_header(tmp_path):
    """E2: a small PNG of 12000x12000 pixels is refused from its header, never decoded (432 MB as BGR)."""
    from PIL import Image

    from tiny import tiny_onnx

    big = tmp_path / "big.png"
    Image.new("1", (12000, 12000)).save(big)
    assert big.stat().st_size < 1_000_000
    p = _cli_peak("predict", tiny_onnx(tmp_path / "m.onnx"), big, "-o", tmp_path / "out", "--max-memory-gb", "1")
    refused(p, "1 of 1 images could not be read")  # each image is refused alone; the others would be predicted
    assert "big.png is 12000x12000" in p.stderr and "--max-memory-gb" in p.stderr
    assert _peak_kb(p) < 400_000, _peak_kb(p)


def test_eval_input_size_respects_the_memory_limit(tmp_path):
    """E4: --input-size too large for --max-memory-gb is refused before the checkpoint loads (junk here)."""
    from cliproc import DEMO

    ckpt = tmp_path / "junk.pth"
    ckpt.write_bytes(b"\x00not a checkpoint" * 10)
    p = cli("eval", ckpt, "--val", f"{DEMO}:camvid_val_list.txt", "--input-size", "8000x8000",
            "--max-memory-gb", "1")
    refused(p, "inference at 8000x8000 needs about", "--max-memory-gb limit (1.0 GB)")


@pytest.mark.slow
def test_ray_local_workers_capped_at_the_cpus(tmp_path):
    """E4: --workers 64 on this machine starts no more workers than it has CPUs, and says so."""
    pytest.importorskip("ray")
    from cliproc import DEMO
    from edgeseg.platform.hardware import logical_cpus
    from tiny import tiny_onnx

    if logical_cpus() >= 64:
        pytest.skip("this machine has 64 CPUs or more")
    p = cli("eval", tiny_onnx(tmp_path / "m.onnx"), "--val", f"{DEMO}:camvid_val_list.txt", "--limit", "4",
            "--ray", "local", "--workers", "64", timeout=240)
    assert p.returncode == 0, p.stderr[-2000:]
    assert f"64 workers x 1 threads on a {logical_cpus()}-CPU machine: running {logical_cpus()}" in p.stderr


@pytest.mark.parametrize("where", ["folder", "unwritable"])
def test_build_output_refused_before_the_build(tmp_path, where):
    """E5: -o onto a folder or into an unwritable place fails before TensorRT is touched."""
    from tiny import tiny_onnx

    out = tmp_path / "x.engine"
    if where == "folder":
        out.mkdir()
    else:
        out = "/proc/nowhere/x.engine"
    p = cli("build", tiny_onnx(tmp_path / "m.onnx"), "-o", out, "--shapes", "1x3x8x8:1x3x8x8:1x3x8x8")
    refused(p, "-o", "is a folder" if where == "folder" else "cannot write")
    assert "building" not in p.stderr


@pytest.mark.slow
def test_build_sweeps_temporaries_of_killed_builds(tmp_path):
    """F: a build killed mid-write leaves `.NAME.edgeseg-PID-TOKEN.tmp`; the next build there removes it
    (owner dead), and a user's file that merely looks alike stays."""
    import subprocess
    import sys

    from tiny import tiny_onnx

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".x.engine.edgeseg-{dead.pid}-0123456789ab.tmp"
    stale.write_bytes(b"half a plan")
    mine = tmp_path / f".x.engine.{dead.pid}.0123456789ab.tmp"  # a user's file in the old pattern: kept
    mine.write_text("keep")
    cli("build", tiny_onnx(tmp_path / "m.onnx"), "-o", tmp_path / "x.engine")
    assert not stale.exists() and mine.exists()


def test_deepstream_with_the_cpu_target_refused_before_the_export(tmp_path):
    """E5: --placement cpu --deepstream was refused only after a 43 s INT8 export."""
    from cliproc import REPO

    ckpt = tmp_path / "junk.pth"
    ckpt.write_bytes(b"\x00not a checkpoint" * 10)
    p = cli("export", ckpt, "-o", tmp_path / "out", "--precision", "int8", "--calib", REPO / "calib" / "camvid-demo.txt",
            "--placement", "cpu", "--deepstream")
    refused(p, "--deepstream with the CPU placement")
    assert not (tmp_path / "out").exists()


def test_demo_without_matplotlib_says_what_the_plot_needs(tmp_path, monkeypatch):
    """E5: the demo's plot step, with matplotlib unimportable, gives one line instead of failing the demo
    at its very end (the table and the pictures do not depend on it)."""
    import sys

    from edgeseg.demo import draw_plot

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    for name in [m for m in sys.modules if m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    line = draw_plot([{"artifact": "a", "fps": 10.0, "miou": 50.0}], tmp_path / "p.png")
    assert line == "no plot (the plot needs matplotlib: pip install 'edgeseg[plot]')"
    assert not (tmp_path / "p.png").exists()


@pytest.mark.slow
def test_openvino_compile_cache_is_trimmed(tmp_path):
    """E6: the cache grew ~80 MB per model, never trimmed; now LRU under EDGESEG_CACHE_MAX_GB."""
    import subprocess
    import sys
    import time

    pytest.importorskip("openvino")
    from cliproc import REPO
    from tiny import tiny_onnx

    cache = tmp_path / "cache" / "openvino"
    cache.mkdir(parents=True)
    old = cache / "old-model.blob"
    old.write_bytes(bytes(2_000_000))
    week_ago = time.time() - 7 * 86400
    os.utime(old, (week_ago, week_ago))
    env = {**os.environ, "PYTHONPATH": str(REPO), "EDGESEG_CACHE_DIR": str(tmp_path / "cache"),
           "EDGESEG_CACHE_MAX_GB": "0.001"}
    p = subprocess.run([sys.executable, "-m", "edgeseg.cli.main", "bench", tiny_onnx(tmp_path / "m.onnx"),
                        "--backend", "openvino", "--iters", "2", "--warmup", "0", "--input-size", "8x8"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    assert not old.exists()
    assert any(f.is_file() for f in cache.rglob("*"))  # what this run compiled stays


@pytest.mark.slow
def test_int8_val_counted_in_the_memory_check(tmp_path):
    """E3: --val inputs, labels and FP32 logits are in the estimate: a limit the export alone fits but the
    export plus its validation data does not is refused before calibration (it peaked at 8.8 GB past a 3 GB check)."""
    pytest.importorskip("torch")
    from cliproc import DEMO, REPO
    from edgeseg.memory import estimate_bytes, validation_bytes

    export_alone = estimate_bytes("s2fpn18", (48, 64), export=True)
    limit_gb = (export_alone + validation_bytes(26, (48, 64), 11) / 2) / 1e9
    p = cli("export", DEMO / "s2fpn18_camvid_half.pth", "-o", tmp_path / "out", "--input-size", "48x64",
            "--precision", "int8", "--calib", REPO / "calib" / "camvid-demo.txt", "--val", f"{DEMO}:camvid_val_list.txt",
            "--max-memory-gb", f"{limit_gb:.6f}", "--num-samples", "1", cwd=REPO, timeout=300)
    refused(p, "int8 export at 48x64 with 26 --val images needs about")
    assert "calibrating" not in p.stderr
    assert not list((tmp_path / "out").glob("*int8*.onnx"))
