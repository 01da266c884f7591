"""Interleaved timing (model and pipeline) over several runners, and what makes an accuracy record
trusted: its artifact's sha256 and a digest; an edited, foreign or malformed record is measured again."""

import json

import numpy as np

from edgeseg.runtime.base import IOSpec, Runner
from edgeseg.tune.measure import Cache, Protocol, latency, worst_class_drop


class Fake(Runner):
    backend = "fake"
    calls: list = []

    def __init__(self, name):
        super().__init__(name)
        self.active = True

    def _activate(self):
        pass

    def _infer(self, batch):
        Fake.calls.append(self.path)
        return np.zeros((1, 3, 4, 4), np.float32)

    @property
    def io_spec(self):
        return IOSpec("float32", "NCHW", (1, 3, 4, 4), "logits")


def test_rounds_interleave_every_runner_and_record_the_load():
    Fake.calls = []
    rows = latency([Fake("a"), Fake("b")], (4, 4), Protocol(rounds=3, iters=2, warmup=0))
    assert len(rows) == 2 and all(r["pipeline_ms"] >= r["median_ms"] >= 0 for r in rows)  # same runs
    timed = Fake.calls[2:]  # after one untimed call each
    blocks = [timed[i:i + 3] for i in range(0, len(timed), 3)]  # 1 untimed + 2 timed per runner per round
    assert [b[0] for b in blocks] == ["a", "b"] * 3 and all(len(set(b)) == 1 for b in blocks)
    assert set(rows[0]["load"]) == {"before", "after"} and len(rows[0]["load"]["before"]) == 3


def test_cache_round_trip(tmp_path):
    c = Cache(tmp_path / "m.json")
    c.put("k", "sha", {"miou": 61.5})
    assert Cache(tmp_path / "m.json").get("k", "sha") == {"miou": 61.5} and c.get("other", "sha") is None


def test_an_edited_record_is_measured_again(tmp_path):
    path = tmp_path / "m.json"
    Cache(path).put("k", "sha", {"miou": 40.0, "miou_drop": 21.0})
    data = json.loads(path.read_text())
    data["k"]["figures"]["miou_drop"] = 0.0  # the slowest or worst made to look best
    path.write_text(json.dumps(data))
    assert Cache(path).get("k", "sha") is None


def test_a_record_of_other_bytes_is_not_trusted(tmp_path):
    Cache(tmp_path / "m.json").put("k", "sha-old", {"miou": 60.0})
    assert Cache(tmp_path / "m.json").get("k", "sha-new") is None


def test_malformed_records_are_measured_again_not_a_traceback(tmp_path, caplog):
    path = tmp_path / "m.json"
    for content in (b"\xff\xfe not utf-8", b"[1, 2, 3]", b"{not json", b'{"k": [1]}', b'{"k": {"figures": 3}}'):
        path.write_bytes(content)
        c = Cache(path)
        assert c.get("k", "sha") is None
        c.put("k", "sha", {"miou": 1.0})  # and the next write repairs it
        assert Cache(path).get("k", "sha") == {"miou": 1.0}
    assert "measuring again" in caplog.text


def test_worst_class_drop():
    ref = {"road": 90.0, "pole": 20.0, "sky": None}
    assert worst_class_drop(ref, {"road": 89.5, "pole": 16.6, "sky": 80.0}) == 3.4
    assert worst_class_drop(ref, {"road": 91.0, "pole": 21.0}) == -1.0
