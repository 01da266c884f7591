"""The search stays bounded as axes multiply: tails and thread counts only on the candidates still
in the running (recorded rows, no model needed)."""

from edgeseg.tune import TuneOptions
from edgeseg.tune.candidates import Candidate
from edgeseg.tune.search import tail_candidates, threaded


def row(name, drop, precision="int8", **kw):
    c = Candidate(name, "g", "openvino", precision, 0, **kw)
    return {**c.to_dict(), "miou": 61.0 - drop, "miou_drop": drop}


ROWS = [row("fp32 openvino", 0.0, "fp32"), row("nncf-int8 openvino", 0.2), row("int8-cpu onnxruntime", 0.9)]


def test_tails_only_on_candidates_within_the_budget():
    cands, skipped = tail_candidates(ROWS, TuneOptions(val="v"), len(ROWS))
    assert [c.name for c in cands] == ["fp32 openvino argmax", "fp32 openvino argmax-lowres",
                                       "nncf-int8 openvino argmax", "nncf-int8 openvino argmax-lowres"]
    assert [s["name"] for s in skipped] == ["int8-cpu onnxruntime + tails"]
    assert len({c.order for c in cands}) == 4 and min(c.order for c in cands) >= len(ROWS)  # base first on ties
    assert tail_candidates(ROWS, TuneOptions(val="v", tails=("logits",)), 3) == ([], [])


def test_with_min_fps_every_measured_candidate_is_in_the_running():
    cands, _ = tail_candidates(ROWS, TuneOptions(val="v", min_fps=10.0, tails=("argmax",)), 3)
    assert len(cands) == 3


def test_thread_counts_on_candidates_in_the_running_only():
    got = threaded(ROWS, TuneOptions(val="v", thread_counts=(2, 1)), threads=2)
    assert [(c.name, c.threads) for c in got] == [("fp32 openvino 1t", 1), ("nncf-int8 openvino 1t", 1)]
    again = threaded(ROWS + [{**ROWS[1], "name": "x 1t", "threads": 1}], TuneOptions(val="v", thread_counts=(1,)), 2)
    assert "x 1t 1t" not in [c.name for c in again]  # no axis on top of itself


def test_a_row_gives_back_its_candidate():
    c = Candidate("n", "nncf", "openvino", "int8", 3, tail="argmax", size=(288, 384), threads=1)
    assert Candidate.from_row({**c.to_dict(), "miou": 60.0, "pipeline_ms": 20.0}) == c


def test_a_candidate_the_runtime_cannot_compile_is_a_row_with_its_reason(monkeypatch, tmp_path):
    from pathlib import Path

    import edgeseg.tune.build as build
    import edgeseg.tune.measure as measure
    from edgeseg.errors import EdgesegError
    from edgeseg.tune.search import Measuring

    def open_runners(items, threads, size=None, dataset=None):
        if items[0][0].name == "bad":
            raise EdgesegError("bad.xml: OpenVINO cannot compile it for CPU")
        return [object() for _ in items]

    monkeypatch.setattr(measure, "open_runners", open_runners)
    monkeypatch.setattr(measure, "close", lambda runners: None)
    monkeypatch.setattr(measure, "artifact_sha", lambda p: "sha")
    monkeypatch.setattr(measure, "accuracy", lambda runners, ds: [{"miou": 60.0}] * len(runners))
    monkeypatch.setattr(build, "artifact", lambda c, built: Path(c.name))
    state = Measuring.__new__(Measuring)
    state.machine, state.val, state.size, state.built = {"threads": 2, "cpu": "c", "flags": [], "versions": {}}, "v", \
        (4, 4), {"fp32": Path("fp32")}
    state.builts, state.cache, state.o = {(4, 4): state.built}, measure.Cache(tmp_path / "m.json"), TuneOptions(val="v")
    state.ds, state.progress = [], None
    rows = state.score([Candidate("good", "g", "openvino", "int8", 0), Candidate("bad", "g", "openvino", "bf16", 1)])
    assert rows[0]["miou"] == 60.0 and "cannot compile" in rows[1]["error"] and "miou" not in rows[1]
