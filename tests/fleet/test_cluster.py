"""Reaching a cluster: Ray missing, a head that does not answer, versions that differ (no cluster started)."""

import socket
import sys
import time

import pytest

from edgeseg.cli.main import main
from edgeseg.errors import EdgesegError
from edgeseg.fleet.cluster import check_reachable, connected, split_address, use_token_like_ray_start
from edgeseg.fleet.tasks import check_version, reason_of
from tiny import tiny_onnx

DEMO = "edgeseg/assets/camvid-demo"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_no_ray_names_the_extra(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    assert main(["fleet", "ls", "--ray", "local"]) == 1
    err = capsys.readouterr().err
    assert "pip install 'edgeseg[fleet]'" in err and err.count("\n") == 1
    a = tiny_onnx(tmp_path / "a.onnx")
    assert main(["eval", str(a), "--val", f"{DEMO}:camvid_val_list.txt", "--ray", "local"]) == 1
    assert "pip install 'edgeseg[fleet]'" in capsys.readouterr().err


def test_unreachable_head_fails_in_seconds(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        pytest.skip("a Ray session is open in this process")
    port = _closed_port()
    t0 = time.monotonic()
    with pytest.raises(EdgesegError, match=f"cannot reach a Ray head at 127.0.0.1:{port}"):
        with connected(f"127.0.0.1:{port}"):
            pass
    a = tiny_onnx(tmp_path / "a.onnx")
    assert main(["eval", str(a), "--val", f"{DEMO}:camvid_val_list.txt", "--ray", f"127.0.0.1:{port}"]) == 1
    err = capsys.readouterr().err
    assert "cannot reach a Ray head" in err and err.count("\n") == 1
    assert time.monotonic() - t0 < 15 and not ray.is_initialized()


def test_address_parsing():
    assert split_address("10.0.0.1") == ("10.0.0.1", 6379)
    assert split_address("ray://head:10001") == ("head", 10001)
    with pytest.raises(EdgesegError, match="HOST:PORT"):
        split_address("head:abc")
    with pytest.raises(EdgesegError, match="HOST:PORT"):
        check_reachable(":6379")


def test_version_mismatch_names_both():
    import edgeseg

    check_version(edgeseg.__version__)
    with pytest.raises(EdgesegError, match=rf"head 9\.9\.9, worker .* {edgeseg.__version__}"):
        check_version("9.9.9")


def test_reasons_are_one_line():
    class RayTaskError(Exception):
        def __init__(self, cause):
            super().__init__("Traceback ...\n  lots\nValueError: bad")
            self.cause = cause

    assert reason_of(RayTaskError(EdgesegError("needs a\n Jetson"))) == "needs a Jetson"
    assert reason_of(RayTaskError(ValueError("first\nlast line"))) == "ValueError: last line"
    crashed = type("WorkerCrashedError", (Exception,), {})("The worker died unexpectedly ...")
    assert reason_of(crashed) == "the worker process died (WorkerCrashedError)"


def test_token_authentication_follows_ray_start(monkeypatch, tmp_path):
    import os

    monkeypatch.setenv("RAY_AUTH_MODE", "x")
    monkeypatch.delenv("RAY_AUTH_MODE")  # restored to what it was after the test
    monkeypatch.delenv("RAY_AUTH_TOKEN", raising=False)
    monkeypatch.delenv("RAY_AUTH_TOKEN_PATH", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    use_token_like_ray_start()
    assert "RAY_AUTH_MODE" not in os.environ  # no token anywhere: Ray's default
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text("t")
    use_token_like_ray_start()
    assert os.environ["RAY_AUTH_MODE"] == "token"
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    use_token_like_ray_start()
    assert os.environ["RAY_AUTH_MODE"] == "disabled"  # an explicit choice stands


def test_engines_and_gpu_providers_are_not_sharded(tmp_path, capsys):
    engine = tmp_path / "m.engine"
    engine.write_bytes(b"plan")
    assert main(["eval", str(engine), "--val", f"{DEMO}:camvid_val_list.txt", "--ray", "local"]) == 1
    assert "m.engine: an engine runs only on the GPU it was built for" in capsys.readouterr().err
    a = tiny_onnx(tmp_path / "a.onnx")
    assert main(["eval", str(a), "--val", DEMO, "--ray", "local", "--provider", "cuda"]) == 1
    assert "use --provider cpu" in capsys.readouterr().err
