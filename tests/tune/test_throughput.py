"""`tune --objective throughput`: the rules on recorded measurements (frames/s with requests in
flight rank, not one frame's latency), the streams axis, the options, the gate; and one small real
run of a runner compiled for throughput on OpenVINO."""

import pytest

from edgeseg.errors import OptionError
from edgeseg.tune import TuneOptions
from edgeseg.tune.check import verdict
from edgeseg.tune.choose import Objective, choose
from edgeseg.tune.throughput import DEFAULT_STREAMS, stream_counts, streamed

THROUGHPUT = Objective(0.3, throughput=True)


def row(name, ms, fps, drop=0.2, backend="openvino", precision="int8", order=0, **more):
    return {"name": name, "graph": name.split()[0], "backend": backend, "precision": precision, "order": order,
            "pipeline_ms": ms, "median_ms": ms * 0.8, "throughput_fps": fps, "miou": 61.9 - drop, "miou_drop": drop,
            **more}


ROWS = [row("fp32 openvino", 80.0, 14.0, 0.0, precision="fp32", order=1),
        row("nncf openvino", 22.0, 50.0, order=2),  # the fastest frame
        row("nncf openvino x2s", 30.0, 75.0, order=5, streams=2),  # slower frames, more of them
        row("int8-cpu onnxruntime", 25.0, 40.0, 0.1, backend="onnxruntime", order=3),
        row("lossy openvino x4s", 40.0, 120.0, 0.9, order=6, streams=4)]  # over the budget


def test_throughput_ranks_frames_per_second_within_the_budget():
    best, why = choose(ROWS, THROUGHPUT)
    assert best["name"] == "nncf openvino x2s" and "75.0 FPS throughput" in why
    assert "faster but over the budget: lossy openvino x4s" in why
    assert choose(ROWS, Objective(0.3))[0]["name"] == "nncf openvino"  # latency: the fastest frame


def test_min_fps_counts_throughput_with_that_objective():
    best, _ = choose(ROWS, Objective(0.3, min_fps=35.0, throughput=True))
    assert best["name"] == "int8-cpu onnxruntime"  # the most accurate reaching 35 FPS throughput
    best, why = choose(ROWS, Objective(0.3, min_fps=45.0, throughput=True))
    assert best["name"] == "nncf openvino x2s" and "(tie: the faster)" in why  # equal mIoU: more frames/s
    with pytest.raises(OptionError, match="no candidate reaches it here; the fastest is lossy openvino x4s at "
                                          "120.0 FPS throughput"):
        choose(ROWS, Objective(0.3, min_fps=500.0, throughput=True))


def test_streams_axis_on_openvino_candidates_in_the_running():
    o = TuneOptions(val="v", objective="throughput")
    base = [r for r in ROWS if not r.get("streams")]
    got = streamed(base, o, threads=2)
    assert [(c.name, c.streams) for c in got] == [("fp32 openvino x2s", 2), ("nncf openvino x2s", 2)]
    assert stream_counts((), 2) == (1, 2) and stream_counts((), 16) == DEFAULT_STREAMS
    wide = streamed(base, TuneOptions(val="v", objective="throughput", streams=(1, 3)), threads=2)
    assert {c.streams for c in wide} == {3}  # given counts are taken as given; 1 is the candidate itself


@pytest.mark.parametrize("kw,words,path", [
    ({"objective": "fps"}, "--objective must be one of latency, throughput", "objective"),
    ({"objective": "throughput", "streams": (0,)}, "--streams must be whole numbers >= 1", "streams"),
    ({"streams": (2,)}, "--streams only applies with --objective throughput", "streams"),
])
def test_bad_throughput_options_are_refused(kw, words, path):
    with pytest.raises(OptionError, match=words) as caught:
        TuneOptions(val="v", **kw).check()
    assert caught.value.fields[0] == path


def test_the_gate_judges_throughput_with_that_objective():
    report = {"candidates": ROWS, "chosen": {"name": "nncf openvino x2s"},
              "objective": {"max_miou_drop": 0.3, "throughput": True}, "protocol": {}, "machine": {}, "val": "v"}
    same = {"nncf openvino x2s": {"pipeline_ms": 45.0, "throughput_fps": 72.0, "miou": 61.7, "miou_drop": 0.2},
            "nncf openvino": {"pipeline_ms": 22.0, "throughput_fps": 50.0, "miou": 61.7, "miou_drop": 0.2}}
    ok, line = verdict(report, same, 0.10)
    assert ok, line  # its frame got slower; its throughput did not fall by more than 10 %
    fell = {**same, "nncf openvino x2s": {**same["nncf openvino x2s"], "throughput_fps": 60.0}}
    ok, line = verdict(report, fell, 0.10)
    assert not ok and "throughput regressed 75.0 -> 60.0 FPS (-20%, tolerance 10%)" in line


def test_a_streams_runner_gives_the_same_class_maps_with_requests_in_flight(tmp_path):
    """One small real run: compiled for throughput (2 streams), it keeps OpenVINO's optimal number of
    requests in flight and gives what a plain runner gives; the measured rates are positive."""
    pytest.importorskip("openvino")
    import numpy as np

    from edgeseg.runtime import open_runner
    from edgeseg.tune.measure import Protocol, throughputs
    from tiny import tiny_onnx

    model = tiny_onnx(tmp_path / "t.onnx", input_size=(12, 16))
    x = np.random.default_rng(0).normal(size=(1, 3, 12, 16)).astype(np.float32)
    with open_runner(model, "openvino", threads=2) as plain, open_runner(model, "openvino", threads=2, streams=2) as streams:
        assert streams.properties()["PERFORMANCE_HINT"] == "THROUGHPUT"
        assert int(streams.compiled_property("NUM_STREAMS")) == 2 and streams.async_depth >= 2
        results = [streams.submit(x) for _ in range(streams.async_depth)]
        for result in results:
            np.testing.assert_array_equal(result(), plain.infer(x))
        rates = throughputs([plain, streams], (12, 16), Protocol(rounds=2, iters=2, warmup=1))
    assert len(rates) == 2 and min(rates) > 0


def test_a_throughput_pick_runs_with_its_recorded_streams(tmp_path):
    """`run` and `bench` open a tune pick as it was measured: the streams its sidecar's `tuned` block
    records reach the OpenVINO runner (runtime.choice.runner_for), unless the caller names others;
    ONNX Runtime, which has no streams, is not asked for them."""
    from edgeseg.artifacts import read_artifact, write_sidecar
    from edgeseg.runtime.choice import RunnerRequest, runner_for
    from tiny import tiny_onnx

    model = tiny_onnx(tmp_path / "t.onnx", input_size=(12, 16))
    write_sidecar(model, {**read_artifact(model).to_dict(), "tuned": {"chosen": "t x2s", "streams": 2}})
    assert runner_for(model, RunnerRequest(backend="openvino"))[1].streams == 2
    assert runner_for(model, RunnerRequest(backend="openvino", streams=1))[1].streams == 1
    assert runner_for(model, RunnerRequest(backend="onnxruntime"))[1].streams is None


def test_zero_streams_are_refused_by_field():
    from edgeseg.errors import OptionError
    from edgeseg.runtime.choice import RunnerRequest

    with pytest.raises(OptionError, match="must be at least 1") as err:
        RunnerRequest(streams=0)
    assert err.value.fields == ["streams"]
