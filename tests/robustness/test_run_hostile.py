"""`edgeseg run` / `bench --source` against hostile inputs (issue 28 B1, B2, D, E): an output that
is the input, a planted symlink, non-UTF-8 names, malformed URLs, UDP, meaningless rates. Each is
one line and exit 1 before the model loads (the model here is not even a model), or, for the
symlink, a run that replaces the link and leaves its target alone."""

import hashlib
import os
import socket
import sys

import pytest

from cliproc import cli, refused
from edgeseg.cli.main import main
from tiny import tiny_onnx
from videos import make_video, read_video


def one_error(capsys, code: int, *words: str) -> str:
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 1 and len(lines) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def broken(tmp_path):
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"not a model")  # loading it would fail: every refusal must come first
    return path


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_output_that_is_the_input_is_refused_and_the_input_kept(tmp_path, broken, capsys):
    clip = tmp_path / "in.avi"
    make_video(clip, count=3)
    before = digest(clip)
    one_error(capsys, main(["run", str(broken), str(clip), "-o", str(clip)]), "SOURCE video", "destroy")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "overlay.avi").write_bytes(clip.read_bytes())
    one_error(capsys, main(["run", str(broken), str(tmp_path / "d" / "overlay.avi"), "-o", str(tmp_path / "d")]),
              "SOURCE video")
    one_error(capsys, main(["run", str(broken), str(tmp_path / "d" / "overlay.avi"), "-o", str(tmp_path / "d"),
                            "--both"]), "SOURCE video")
    (tmp_path / "link.avi").symlink_to(clip)
    one_error(capsys, main(["run", str(broken), str(clip), "-o", str(tmp_path / "link.avi")]), "SOURCE video")
    one_error(capsys, main(["run", str(broken), str(clip), "-o", str(tmp_path / "x.avi"), "--json",
                            str(tmp_path / "x.avi")]), "--json", "overlay video")
    one_error(capsys, main(["run", str(broken), str(clip), "--json", str(clip)]), "--json", "SOURCE")
    frames = tmp_path / "frames"
    frames.mkdir()
    (frames / "000000.png").write_bytes(b"a user's image")
    one_error(capsys, main(["run", str(broken), str(frames), "--mask", "-o", str(frames)]), "SOURCE image folder")
    one_error(capsys, main(["run", str(broken), str(frames / "000000.png"), "--mask", "-o", str(frames)]),
              "SOURCE image folder")
    assert digest(clip) == before and (frames / "000000.png").read_bytes() == b"a user's image"
    assert not (tmp_path / "x.avi").exists()


def test_a_symlink_planted_at_the_output_is_not_written_through(tmp_path):
    clip, victim = tmp_path / "in.avi", tmp_path / "photos.db"
    make_video(clip, count=3)
    victim.write_bytes(b"a user's file")
    (tmp_path / "out.avi").symlink_to(victim)
    model = tiny_onnx(tmp_path / "tiny.onnx")
    assert main(["run", str(model), str(clip), "-o", str(tmp_path / "out.avi"), "--backend", "onnxruntime",
                 "--model-seconds", "0"]) == 0
    assert victim.read_bytes() == b"a user's file" and not (tmp_path / "out.avi").is_symlink()
    assert len(read_video(tmp_path / "out.avi")) == 3
    assert sorted(os.listdir(tmp_path)) == ["in.avi", "out.avi", "photos.db", "tiny.onnx", "tiny.onnx.json"]


def test_rates_and_urls_that_mean_nothing_are_one_line(broken, capsys):
    for args, words in ((["http://[::1/x"], "not a valid URL"), (["http://127.0.0.1:99999/x"], "Port out of range"),
                        (["http://127.0.0.1/x", "--timeout", "-1"], "--timeout"),
                        (["http://127.0.0.1/x", "--timeout", "0"], "--timeout"),
                        (["http://127.0.0.1/x", "--timeout", "nan"], "--timeout"),
                        (["frames/", "--fps", "0"], "--fps"), (["frames/", "--fps", "-5"], "--fps"),
                        (["frames/", "--fps", "nan"], "--fps"), (["rtsp:///cam"], "no host")):
        one_error(capsys, main(["run", str(broken), *args]), *words)


def test_udp_is_not_probed_over_tcp(broken, capsys):
    """UDP has no connection to probe: a silent port is 'cannot be opened within', never 'unreachable'."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    line = one_error(capsys, main(["run", str(broken), f"udp://127.0.0.1:{port}", "--timeout", "1"]),
                     "cannot be opened within 1 s")
    assert "unreachable" not in line


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS file systems refuse non-UTF-8 names")
def test_non_utf8_names_are_one_line_not_a_segfault(tmp_path):
    """OpenCV crashes (SIGSEGV) on such names: as SOURCE of run, run --mask, bench --source, and as -o."""
    clip = tmp_path / "in.avi"
    make_video(clip, count=3)
    odd = os.fsdecode(bytes(tmp_path) + b"/caf\xe9.avi")
    os.link(clip, odd)
    model = tiny_onnx(tmp_path / "tiny.onnx")
    refused(cli("run", model, odd, "--backend", "onnxruntime"), "not valid UTF-8")
    refused(cli("run", model, odd, "--mask", "-o", tmp_path / "m", "--backend", "onnxruntime"), "not valid UTF-8")
    refused(cli("bench", model, "--source", odd, "--input-size", "180x240", "--iters", "2"), "not valid UTF-8")
    refused(cli("run", model, clip, "-o", odd.replace(".avi", "-out.avi")), "not valid UTF-8")
    assert not (tmp_path / "m").exists()
