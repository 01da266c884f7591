"""`fleet tune`: each target tunes for itself; one row per target with its pick or why it has none."""

import json
import os
from dataclasses import replace
from types import SimpleNamespace

import pytest

import edgeseg
import tuned
from edgeseg.tune.fleet import markdown, target_row
from paths import TRAINED

pytestmark = pytest.mark.slow  # exports or builds real models: the full run, not the fast tier

TARGET = SimpleNamespace(name="cpu@host", profile="cpu", host="host")


def report(pick="nncf-int8 openvino"):
    cands = [{"name": "fp32 openvino", "median_ms": 70.0, "pipeline_ms": 80.0, "miou": 61.9, "miou_drop": 0.0,
              "x_fp32_ov": 1.0},
             {"name": "nncf-int8 openvino", "median_ms": 20.0, "pipeline_ms": 22.0, "miou": 61.7, "miou_drop": 0.2,
              "x_fp32_ov": 0.275}]
    return {"candidates": cands, "chosen": {"name": pick}, "machine": {"cpu": "Xeon", "isa": ["AMX", "VNNI"]},
            "why": "fastest"}


def test_row_of_a_target_names_its_pick_and_ratios():
    row = target_row(TARGET, True, report())
    assert row["pick"] == "nncf-int8 openvino" and row["x_nncf"] == 1.0 and row["isa"] == ["AMX", "VNNI"]
    fp32 = target_row(TARGET, True, report("fp32 openvino"))
    assert fp32["x_nncf"] == round(80 / 22, 3)
    text = markdown([row, target_row(TARGET, False, "the node left the cluster")], "t")
    assert "Xeon (AMX, VNNI)" in text and "failed: the node left the cluster" in text


@pytest.mark.slow
def test_fleet_tune_on_a_local_ray(tmp_path_factory):
    ray = pytest.importorskip("ray")
    pytest.importorskip("nncf")
    if not TRAINED.exists() or ray.is_initialized():
        pytest.skip("../shared is absent or a Ray session is open")
    from edgeseg.fleet.targets import LABEL, label_value, list_targets
    from edgeseg.tune.fleet import check_on, tune_fleet
    from edgeseg.tune.measure import Protocol
    from edgeseg.tune.search import calibration, open_val

    folder = tmp_path_factory.mktemp("fleet-tune")
    os.environ["XDG_CACHE_HOME"] = str(folder / "cache")
    opts = tuned.options(folder / "sets", val_limit=2)
    ds = open_val(opts)
    calib = calibration(opts, folder, ds)
    ray.init(address="local", num_cpus=2, resources={"edgeseg/cpu#a": 1, "edgeseg/jetson-orin#sim": 1},
             labels={LABEL + "version": label_value(edgeseg.__version__)}, include_dashboard=False,
             log_to_driver=False, configure_logging=False)
    try:
        targets = list_targets(ray)
        options = replace(opts, threads=1, protocol=Protocol(rounds=1, iters=1, warmup=0), tails=("logits",))
        recorded = json.loads(json.dumps(tune_fleet(TRAINED, ds, calib, targets, options, ray, 1800)))  # as --json
        rows = {r["profile"]: r for r in recorded}
        said = []
        verdicts = check_on(recorded, targets, ray, 5.0, 600, said.append)  # the fleet gate, on the same targets
        lost = check_on(recorded, [t for t in targets if t.profile != "cpu"], ray, 5.0, 600)
    finally:
        ray.shutdown()
        os.environ.pop("XDG_CACHE_HOME", None)
    assert rows["cpu"]["status"] == "ok" and rows["cpu"]["pick"] and rows["cpu"]["median_ms"] > 0
    assert rows["jetson-orin"]["status"].startswith("failed") and "jetson-orin" in rows["jetson-orin"]["status"]
    by = {v["target"]: v for v in verdicts}
    cpu = by[rows["cpu"]["target"]]
    assert cpu["ok"] and "still the pick" in cpu["reason"], cpu  # re-measured there, with its own record
    assert cpu["rows"][0]["name"] == rows["cpu"]["pick"] and cpu["rows"][0]["miou"] == rows["cpu"]["miou"]
    orin = by[rows["jetson-orin"]["target"]]
    assert orin["ok"] and orin["reason"].startswith("not checked: no pick recorded")
    assert any("checking: " + rows["cpu"]["target"] in line for line in said)
    gone = {v["target"]: v for v in lost}[rows["cpu"]["target"]]
    assert not gone["ok"] and gone["reason"] == "not in the fleet now"
