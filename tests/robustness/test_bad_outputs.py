"""Where results go (issue 14 items 3, 9): bad -o, read-only and full disks, failed bench rows."""

import json

import pytest

from cliproc import DEMO, cli, refused
from tiny import tiny_onnx

BENCH = ("--input-size", "8x8", "--iters", "2", "--warmup", "0", "--threads", "1")


@pytest.mark.slow
def test_bench_exits_1_when_a_row_failed_and_still_prints_the_table(tmp_path):
    a = tiny_onnx(tmp_path / "a.onnx")
    p = cli("bench", a, tmp_path / "gone.onnx", *BENCH, "--json", tmp_path / "r.json")
    refused(p, "1 of 2 benchmark rows failed", "gone.onnx")
    assert "a.onnx" in p.stdout and "failed" in p.stdout
    assert [r["status"] for r in json.loads((tmp_path / "r.json").read_text())["rows"]] == ["ok", "failed"]
    p = cli("bench", a, *BENCH, "--batch", "2")  # tiny_onnx has a fixed batch of 1
    refused(p, "1 of 1 benchmark rows failed", "--batch 2")


def test_demo_with_no_iterations_is_refused_first(tmp_path):
    refused(cli("demo", "-o", tmp_path / "d", "--iters", "0"), "--iters")
    assert not (tmp_path / "d").exists()


@pytest.mark.slow
def test_output_paths_that_cannot_be_written(tmp_path):
    a = tiny_onnx(tmp_path / "a.onnx")
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    refused(cli("bench", a, *BENCH, "--json", afile / "r.json"), "--json", "file.txt is a file, not a folder")
    refused(cli("bench", a, *BENCH, "--md", tmp_path), "--md", "is a folder")
    refused(cli("predict", a, DEMO / "val", "-o", afile), "-o", "file.txt is a file, not a folder")
    refused(cli("calib", "make", "--data", DEMO, "--split", "camvid_val_list.txt", "-n", "2", "-o", afile / "m.txt"),
            "is a file, not a folder")
    (tmp_path / "r.json").write_text(json.dumps({"rows": [{"path": str(a), "status": "ok"}]}))
    refused(cli("compare", tmp_path / "r.json", "--plot", afile / "p.png"), "--plot", "is a file, not a folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.onnx", "a.onnx.json", "file.txt", "r.json"]


def test_read_only_file_system(tmp_path, tmpfs):
    a = tiny_onnx(tmp_path / "a.onnx")
    ro = tmpfs("ro", "size=1m,ro")
    refused(cli("bench", a, *BENCH, "--json", ro / "r.json"), "--json", "read-only file system")
    refused(cli("export", a.with_suffix(".pth"), "-o", ro / "out"), "no such file")


@pytest.mark.slow
def test_disk_full_prints_the_table_then_fails(tmp_path, tmpfs):
    a = tiny_onnx(tmp_path / "a.onnx")
    full = tmpfs("full", "size=64k")
    (full / "filler").write_bytes(b"\0" * 60_000)
    try:
        while True:
            with open(full / "filler", "ab") as f:
                f.write(b"\0" * 4096)
    except OSError:
        pass
    p = cli("bench", a, *BENCH, "--json", full / "r.json")
    refused(p, "r.json", "no space left on device")
    assert "a.onnx" in p.stdout  # the measured table is not lost
    assert sorted(x.name for x in full.iterdir()) == ["filler"]  # no temporary file left behind


@pytest.mark.slow
def test_disk_full_during_export(trained_ckpt, tmp_path, tmpfs):
    full = tmpfs("full", "size=1m")
    refused(cli("export", trained_ckpt, "-o", full / "out", "--input-size", "64x96", "--num-samples", "1"),
            "no space left on device")
    assert list((full / "out").iterdir()) == []


@pytest.mark.slow
def test_malformed_rows_given_to_compare(tmp_path):
    for content, words in ((["x"], "neither bench nor eval"), ({"rows": [1]}, "rows[0] is a JSON int"),
                           ({"rows": [{"path": "a", "end_to_end": {"fps": "fast"}}]}, "end_to_end.fps must be a number"),
                           ({"artifacts": [{"miou": 3}]}, "artifacts[0] has no 'path'")):
        (tmp_path / "r.json").write_text(json.dumps(content))
        refused(cli("compare", tmp_path / "r.json"), "r.json", words)
