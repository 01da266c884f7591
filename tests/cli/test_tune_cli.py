"""`edgeseg tune` on the command line: bad input refused in one line before any build, `--plan`,
`--check` of a file that is no record (the re-run whose last stdout line is the pick is in
tests/tune/test_search.py, on the shared run)."""

from __future__ import annotations

import sys

import pytest

from paths import CAMVID, REPO, TRAINED

sys.path.insert(0, str(REPO / "tests" / "robustness"))
from cliproc import cli, refused  # noqa: E402

pytestmark = pytest.mark.slow  # exports or builds real models: the full run, not the fast tier

needs_shared = pytest.mark.skipif(not TRAINED.exists() or not CAMVID.exists(), reason="../shared is absent")


@needs_shared
@pytest.mark.parametrize("args,words", [
    ([], ["--val"]),
    (["--val", "/nonexistent/camvid"], ["--val", "no such"]),
    (["--val", f"{CAMVID}:nosuchsplit"], ["nosuchsplit"]),
    (["--val", str(CAMVID), "--max-miou-drop", "-0.1"], ["--max-miou-drop", ">= 0"]),
    (["--val", str(CAMVID), "--max-miou-drop", "nan"], ["--max-miou-drop", "finite"]),
    (["--val", str(CAMVID), "--max-miou-drop", "inf"], ["--max-miou-drop", "finite"]),
    (["--val", str(CAMVID), "--max-class-drop", "nan"], ["--max-class-drop", "finite"]),
    (["--val", str(CAMVID), "--min-fps", "0"], ["--min-fps"]),
    (["--val", str(CAMVID), "--tails", "logits,bogus"], ["--tails"]),
    (["--val", str(CAMVID), "--variant", "bogus"], ["--variant", "bogus"]),
    (["--val", str(CAMVID), "--device", "jetson-orin"], ["jetson-orin"]),
    (["--val", str(CAMVID), "--device", "nosuch"], ["unknown device profile"]),
    (["--val", str(CAMVID), "--calib", "/nonexistent/calib.txt"], ["--calib", "no such"]),
    (["--val", str(CAMVID), "--threads", "0"], ["--threads"]),
    (["--val", str(CAMVID), "--input-size", "180by240"], ["HxW"]),
    (["--val", str(CAMVID), "--objective", "fps"], ["--objective must be one of latency, throughput"]),
    (["--val", str(CAMVID), "--streams", "2"], ["--streams only applies with --objective throughput"]),
    (["--val", str(CAMVID), "--objective", "throughput", "--streams", "two"], ["--streams must be a comma list"]),
    (["--val", str(CAMVID), "--rounds", "0"], ["--rounds must be at least 1"]),
])
def test_bad_input_is_one_line_before_any_build(tmp_path, args, words):
    out = tmp_path / "out"
    p = cli("tune", TRAINED, "-o", out, *args, timeout=120)
    refused(p, *words)
    assert not (out / "candidates").exists()  # nothing built


@needs_shared
def test_cuda_device_without_a_gpu_is_refused(tmp_path):
    from edgeseg.platform.hardware import detect

    if detect().has_gpu:
        pytest.skip("this machine has an NVIDIA GPU")
    refused(cli("tune", TRAINED, "--val", CAMVID, "--device", "cuda", "-o", tmp_path / "o", timeout=120),
            "--device cuda", "GPU")


def test_missing_checkpoint(tmp_path):
    refused(cli("tune", tmp_path / "none.pth", "--val", tmp_path, "-o", tmp_path / "o", timeout=120), "no such file")


@needs_shared
def test_plan_prints_candidates_and_an_estimate_and_builds_nothing(tmp_path):
    out = tmp_path / "out"
    p = cli("tune", TRAINED, "--val", CAMVID, "--plan", "--input-sizes", "360x480,288x384", "--threads", "2", "-o", out,
            timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "nncf-int8 openvino" in p.stdout and "estimate (rough" in p.stdout and "288x384" in p.stdout
    assert not (out / "candidates").exists()


@pytest.mark.parametrize("content", [b"\xff\xfe", b"[1]", b'{"candidates": []}'])
def test_check_of_a_file_that_is_no_tune_record_is_one_line(tmp_path, content):
    record = tmp_path / "tune.json"
    record.write_bytes(content)
    refused(cli("tune", "--check", record, timeout=120), "--check")
    refused(cli("tune", "--check", tmp_path / "none.json", timeout=120), "--check", "cannot read")
    refused(cli("tune", TRAINED, "--check", record, timeout=120), "no checkpoint")
