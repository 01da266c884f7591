"""`tune` end to end on the trained checkpoint at 180x240 (one shared run, tests/tuned.py)."""

import json
from pathlib import Path

import pytest

import tuned
from edgeseg.artifacts import metadata_dict
from paths import CAMVID, TRAINED

pytestmark = pytest.mark.slow


def test_every_candidate_has_latency_and_miou(tuned_run):
    result, _, out = tuned_run
    rows = result.report["candidates"]
    names = [r["name"] for r in rows]
    assert {"fp32 onnxruntime", "fp32 openvino", "int8-tensorrt openvino", "int8-cpu openvino",
            "nncf-int8 openvino"} <= set(names)
    for r in rows:
        assert not r.get("error"), r
        assert r["median_ms"] > 0 and 40 < r["miou"] < 80 and r["agreement"] > 90, r
    fp32 = next(r for r in rows if r["name"] == "fp32 onnxruntime")
    assert fp32["miou_drop"] == 0.0
    for name in ("tune.json", "tune.md", "tune.png"):
        assert (out / name).is_file()
    assert json.loads((out / "tune.json").read_text())["chosen"]["name"] == result.report["chosen"]["name"]


def test_pick_carries_the_tuned_record(tuned_run):
    result, opts, _ = tuned_run
    meta = metadata_dict(result.path)
    tuned_rec = meta["tuned"]
    assert tuned_rec["chosen"] == result.report["chosen"]["name"]
    assert tuned_rec["budget"] == opts.max_miou_drop and tuned_rec["machine"]["threads"] == 2
    assert tuned_rec["machine"]["flags"] and tuned_rec["machine"]["versions"]["openvino"]
    assert len(tuned_rec["candidates"]) == len(result.report["candidates"])
    assert meta["preprocess"]["input_size"] == list(tuned.SIZE)


def test_eval_of_the_pick_gives_the_recorded_miou(tuned_run, tmp_path):
    from edgeseg.cli.main import main

    result, opts, _ = tuned_run
    winner = next(r for r in result.report["candidates"] if r["name"] == result.report["chosen"]["name"])
    report = tmp_path / "eval.json"
    split = opts.val.partition(":")[2]
    assert main(["eval", str(result.path), "--val", f"{CAMVID}:{split}", "--threads", "2",
                 "--json", str(report)]) == 0
    assert json.loads(report.read_text())["artifacts"][0]["miou"] == winner["miou"]


def test_nncf_ir_round_trip(tuned_run):
    """The NNCF IR keeps the FP32 model's contract; our OpenVINO runner equals plain OpenVINO on it."""
    import numpy as np
    import openvino as ov

    from edgeseg.bench.accuracy import predict_labels
    from edgeseg.data.datasets import open_dataset
    from edgeseg.runtime import open_runner

    result, opts, _ = tuned_run
    row = next(r for r in result.report["candidates"] if r["name"] == "nncf-int8 openvino")
    meta = metadata_dict(row["path"])
    fp32 = metadata_dict(next(r["path"] for r in result.report["candidates"] if r["name"] == "fp32 onnxruntime"))
    for key in ("preprocess", "dataset", "io", "embedded_preprocess", "model"):
        assert meta[key] == fp32[key], key
    assert meta["precision"] == "int8" and meta["stage"] == "nncf"
    ds = open_dataset(CAMVID, "camvid", opts.val.partition(":")[2], 2)
    image, _ = ds.load(ds.samples[0])
    with open_runner(row["path"], threads=2) as runner:
        ours = predict_labels(runner, image)
        batch = runner.io_spec and __import__("edgeseg.bench.accuracy", fromlist=["feeder"]).feeder(runner)[1](image)
    compiled = ov.Core().compile_model(row["path"], "CPU", {"INFERENCE_NUM_THREADS": 2, "INFERENCE_PRECISION_HINT": "f32"})
    from edgeseg.bench.accuracy import to_labels

    direct = to_labels(compiled(batch[None])[0][0], image.shape[:2])
    assert np.array_equal(ours, direct)


def test_bf16_pick_runs_bf16_from_the_file(tuned_run):
    result, _, _ = tuned_run
    row = next((r for r in result.report["candidates"] if r["name"] == "bf16 openvino"), None)
    if row is None:
        pytest.skip("this CPU has no BF16 candidate")
    from edgeseg.runtime import open_runner

    runner = open_runner(row["path"])
    assert runner.properties()["INFERENCE_PRECISION_HINT"] == "bf16"
    assert open_runner(row["path"], precision_hint="f32").properties()["INFERENCE_PRECISION_HINT"] == "f32"


def test_tails_on_candidates_in_the_running(tuned_run):
    """In-graph argmax gives the logits model's class maps (same mIoU and agreement over the val
    set); argmax at the head's resolution is scored on its own."""
    result, opts, _ = tuned_run
    rows = {r["name"]: r for r in result.report["candidates"]}
    tailed = [r for r in rows.values() if r.get("tail") and r.get("miou") is not None]
    assert {r["tail"] for r in tailed} == {"argmax", "argmax-lowres"}
    for r in tailed:
        base = rows[r["name"].rsplit(" ", 1)[0]]
        assert base.get("miou_drop") is not None and base["miou_drop"] <= opts.max_miou_drop or base["precision"] == "fp32"
        output = metadata_dict(r["path"])["io"]["output"]
        assert output["kind"] == "labels" and output["tail"] == r["tail"]
        if r["tail"] == "argmax":
            assert (r["miou"], r["agreement"]) == (base["miou"], base["agreement"]), r["name"]
        assert r["pipeline_ms"] >= r["median_ms"] > 0


def test_a_cli_rerun_scores_only_what_is_new_and_prints_the_pick_last(tuned_run, monkeypatch, capsys):
    """One re-run through the command line, lean (logits only) with one smaller --input-sizes size:
    - latencies compare only within one interleaved run: it re-times every candidate, and re-scores
      none of those scored before (accuracy reused by key); only the new size's candidates are scored;
    - the last stdout line is the pick, the only `*.tuned.*` left in the folder (re-timed: it may differ);
    - a smaller input is built only for candidates in the running, and its mIoU is the one of its
      class maps at the labels' size (logits resized bilinearly, as eval does), recomputed here."""
    from edgeseg.bench.accuracy import predict_labels
    from edgeseg.cli.main import main
    from edgeseg.data.metrics import ConfusionMatrix
    from edgeseg.runtime import open_runner
    from edgeseg.tune import measure
    from edgeseg.tune.search import open_val

    result, opts, out = tuned_run
    scored, real = [], measure.accuracy

    def counted(runners, ds):
        scored.extend(str(r.path) for r in runners[1:])  # the first is the FP32 reference
        return real(runners, ds)

    monkeypatch.setattr(measure, "accuracy", counted)
    small = (144, 192)
    split = opts.val.partition(":")[2]
    capsys.readouterr()
    assert main(["tune", str(TRAINED), "--val", f"{CAMVID}:{split}", "--calib", opts.calib, "--input-size", "180x240",
                 "--threads", "2", "--rounds", "2", "--iters", "2", "--tails", "logits",
                 "--input-sizes", f"180x240,{small[0]}x{small[1]}", "-o", str(out)]) == 0
    pick = Path(capsys.readouterr().out.strip().splitlines()[-1])
    again = tuned.refresh_from_record(out)
    assert pick.is_file() and pick == again.path
    assert [x for x in out.glob("*.tuned.*") if x.suffix in (".onnx", ".xml")] == [pick]
    rows = {r["name"]: r for r in again.report["candidates"]}
    base = [r for r in rows.values() if r.get("miou") is not None and not r.get("size")]
    sized = [r for r in rows.values() if r.get("size") == list(small)]
    assert base and all(r["cached"] for r in base) and sized and not any(r["cached"] for r in sized)
    assert sorted(scored) == sorted(r["path"] for r in sized)  # nothing scored before is scored again
    assert all(r["load"]["before"] and r["pipeline_ms"] >= r["median_ms"] > 0 for r in base + sized)
    before = {r["name"]: r["miou"] for r in result.report["candidates"] if r.get("miou") is not None}
    assert {r["name"]: r["miou"] for r in base}.items() <= before.items()
    assert all(rows[r["name"].rsplit(" @", 1)[0]]["miou_drop"] <= opts.max_miou_drop
               or r["precision"] == "fp32" for r in sized)
    row = next(r for r in sized if r["backend"] == "onnxruntime" and r["precision"] == "fp32")
    assert metadata_dict(row["path"])["preprocess"]["input_size"] == list(small)
    ds = open_val(opts)
    cm = ConfusionMatrix(ds.info.num_classes, ds.info.ignore_index)
    with open_runner(row["path"], threads=2) as runner:
        for s in ds.samples:
            image, label = ds.load(s)
            labels = predict_labels(runner, image)
            assert labels.shape == label.shape  # the labels' resolution, not the model's
            cm.update(label, labels)
    assert cm.miou() == pytest.approx(row["miou"], abs=1e-3)


def test_other_threads_measure_again(tuned_run):
    from edgeseg.tune.candidates import Candidate
    from edgeseg.tune.measure import key, machine

    result, _, _ = tuned_run
    row = result.report["candidates"][0]
    cand = Candidate(row["name"], row["graph"], row["backend"], row["precision"], row["order"])
    keys = {key(row["sha256"], cand, machine(t), "val", tuned.SIZE) for t in (1, 2)}
    assert len(keys) == 2
