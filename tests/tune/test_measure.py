"""Interleaved timing over several runners, and what a measurement's key depends on."""


from edgeseg.runtime.base import IOSpec, Runner
from edgeseg.tune.measure import Cache, Protocol, latency


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
        return batch

    @property
    def io_spec(self):
        return IOSpec("float32", "NCHW", (1, 3, 4, 4), "logits")


def test_rounds_interleave_every_runner():
    Fake.calls = []
    rows = latency([Fake("a"), Fake("b")], (4, 4), Protocol(rounds=3, iters=2, warmup=0))
    assert len(rows) == 2 and all(r["median_ms"] >= 0 for r in rows)
    timed = Fake.calls[2:]  # after one untimed call each
    blocks = [timed[i:i + 3] for i in range(0, len(timed), 3)]  # 1 warm-up + 2 timed per runner per round
    assert [b[0] for b in blocks] == ["a", "b"] * 3


def test_cache_round_trip(tmp_path):
    c = Cache(tmp_path / "m.json")
    c.put("k", {"median_ms": 1.5})
    assert Cache(tmp_path / "m.json").get("k") == {"median_ms": 1.5} and c.get("other") is None
