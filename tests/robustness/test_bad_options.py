"""Options that cannot work are refused before the checkpoint loads (issue 14 items 4, 8, 10).

The checkpoint given is random bytes: had the export got as far as loading it, the message
would be "not a PyTorch checkpoint"; the option's own message proves the order.
"""

import pytest

from cliproc import DEMO, REPO, cli, refused
from tiny import tiny_onnx

CALIB = REPO / "calib" / "camvid-demo.txt"
INT8 = ("--precision", "int8", "--calib", CALIB)
CASES = [
    (INT8[:2], "int8 needs --calib"),
    ((*INT8, "--max-miou-drop", "0.5"), "--max-miou-drop needs --val"),
    ((*INT8, "--calib-limit", "-3"), "--calib-limit must be at least 1"),
    ((*INT8, "--val", DEMO, "--val-limit", "0"), "--val-limit must be at least 1"),
    ((*INT8, "--calib-percentile", "150"), "--calib-percentile must be within"),
    ((*INT8, "--calib-method", "minmax", "--calib-percentile", "99.9"), "only applies to --calib-method percentile"),
    (("--calib", CALIB), "--calib only applies to --precision int8"),
    (("--precision", "fp16", "--max-miou-drop", "1"), "--max-miou-drop only applies to --precision int8"),
    (("--workspace", "2"), "--workspace only applies to --format engine"),
    (("--verify-size", "90x120"), "--verify-size only applies to --dynamic"),
    (("--fp16-io",), "--fp16-io only applies to --precision fp16"),
    (("--num-samples", "-1"), "--num-samples must be at least 1"),
    (("--precision", "int8", "--calib", "nowhere.txt"), "--calib nowhere.txt: no such file"),
    (("--input-size", "10000x10000"), "export at 10000x10000 needs about"),
    (("--input-size", "360x480", "--max-memory-gb", "0.5"), "more than the --max-memory-gb limit (0.5 GB)"),
]


@pytest.fixture
def junk_ckpt(tmp_path):
    path = tmp_path / "junk.pth"
    path.write_bytes(b"\x00not a checkpoint" * 10)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("args,words", CASES, ids=[c[1][:40] for c in CASES])
def test_export_refuses_before_loading_the_checkpoint(junk_ckpt, tmp_path, args, words):
    refused(cli("export", junk_ckpt, "-o", tmp_path / "out", *args), words)
    assert not (tmp_path / "out").exists()


def test_engine_format_without_tensorrt(junk_ckpt, tmp_path):
    import importlib.util

    if importlib.util.find_spec("tensorrt") is not None:
        pytest.skip("TensorRT is installed here")
    refused(cli("export", junk_ckpt, "-o", tmp_path / "out", "--format", "engine"), "--format engine: TensorRT is not installed")


@pytest.mark.slow
def test_export_to_a_file_or_under_one(junk_ckpt, tmp_path):
    afile = tmp_path / "f"
    afile.write_text("x")
    refused(cli("export", junk_ckpt, "-o", afile), "-o", "is a file, not a folder")
    refused(cli("export", junk_ckpt, "-o", afile / "sub"), "cannot create it", "is a file, not a folder")


@pytest.mark.slow
def test_bench_refuses_a_size_that_does_not_fit_and_blames_what_was_given(tmp_path):
    a = tiny_onnx(tmp_path / "a.onnx")
    refused(cli("bench", a, "--input-size", "10000x10000", "--iters", "1", "--max-memory-gb", "2"),
            "inference at 10000x10000 needs about", "--max-memory-gb limit (2.0 GB)")


def test_calib_make_says_when_n_exceeds_the_split(tmp_path):
    p = cli("calib", "make", "--data", DEMO, "--split", "camvid_val_list.txt", "-n", "1000", "-o", tmp_path / "m.txt")
    assert p.returncode == 0, p.stderr
    assert "-n 1000 asked, but the camvid_val_list.txt split has only 26 images" in " ".join(p.stderr.split())


def test_calib_limit_still_checks_the_manifest(tmp_path):
    import shutil

    from edgeseg.data.calibset import MAGIC, content_hash, load_calibset
    from edgeseg.errors import EdgesegError

    images = sorted(shutil.copy(p, tmp_path) for p in sorted((DEMO / "val").glob("*.png"))[:4])
    names = [str(p).rsplit("/", 1)[-1] for p in images]
    header = [MAGIC, f"# sha256: {content_hash(images)}"]
    (tmp_path / "m.txt").write_text("\n".join(header + names) + "\n")
    assert len(load_calibset(tmp_path / "m.txt", limit=1)) == 1
    with open(images[3], "ab") as f:  # an image the --calib-limit 1 subset does not use
        f.write(b"\0")
    with pytest.raises(EdgesegError, match="the images changed since the manifest was made"):
        load_calibset(tmp_path / "m.txt", limit=1)
