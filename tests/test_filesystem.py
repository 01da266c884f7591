"""Output paths checked up front; OS errors told in one line naming the user's path."""

import errno
import os

import pytest

from edgeseg.artifacts import atomic_path, write_json
from edgeseg.errors import EdgesegError
from edgeseg.filesystem import check_out_dir, check_out_file, os_reason


def test_disk_full_while_writing_names_the_target_and_leaves_nothing(tmp_path, monkeypatch):
    """Simulated (no tmpfs needed): the OS says ENOSPC when the temporary file is renamed into place."""
    def full(*a):
        raise OSError(errno.ENOSPC, "No space left on device", a[0])

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(EdgesegError, match=r"^cannot write .*r\.json: no space left on device$"):
        write_json(tmp_path / "r.json", {"a": 1})
    assert list(tmp_path.iterdir()) == []


def test_wrapped_disk_full_is_recognised():
    """Writers such as protobuf or torch wrap the OS error in their own types."""
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as exc:
            raise RuntimeError("serialization failed") from exc
    except RuntimeError as wrapped:
        assert os_reason(wrapped) == "no space left on device"
    assert os_reason(RuntimeError("write: No space left on device (28)")) == "no space left on device"


def test_atomic_write_into_a_file_path(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(EdgesegError, match="cannot write .*f/out.json"):
        with atomic_path(tmp_path / "f" / "out.json") as tmp:
            tmp.write_text("{}")


def test_checks_before_work(tmp_path):
    (tmp_path / "f").write_text("x")
    assert check_out_dir(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # checking creates nothing
    with pytest.raises(EdgesegError, match="is a file, not a folder"):
        check_out_dir(tmp_path / "f")
    with pytest.raises(EdgesegError, match="cannot create it"):
        check_out_dir(tmp_path / "f" / "sub")
    with pytest.raises(EdgesegError, match="--json .*: is a folder"):
        check_out_file(tmp_path, "--json")
    assert check_out_file(None, "--json") is None
    assert [p.name for p in tmp_path.iterdir()] == ["f"]  # the write probe is removed
