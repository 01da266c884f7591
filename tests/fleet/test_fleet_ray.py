"""Sharded eval and fleet bench on one local Ray cluster, shared by every test of this module.

The local node simulates three targets as custom resources: two CPU targets (`edgeseg/cpu#a`,
`edgeseg/cpu#b`) and a Jetson AGX Orin that this x86 machine is not, so its work raises.
"""

import json
import os
from pathlib import Path

import numpy as np
import pytest

import edgeseg
from edgeseg.bench import report
from edgeseg.cli.main import main
from edgeseg.fleet.bench import FleetBenchSettings, bench_fleet
from edgeseg.fleet.targets import LABEL, Target, label_value, list_targets, select
from edgeseg.fleet.tasks import gather
from tiny import tiny_onnx

pytestmark = pytest.mark.slow  # exports or builds real models: the full run, not the fast tier

DEMO = Path(edgeseg.__file__).parent / "assets" / "camvid-demo"
DATA = ["--val", f"{DEMO}:camvid_val_list.txt"]
QUICK = ["--iters", "3", "--warmup", "1", "--threads", "1", "--input-size", "36x48"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        pytest.skip("a Ray session is already open in this process")
    saved = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("target-cache"))  # workers inherit it
    ray.init(address="local", num_cpus=2, resources={"edgeseg/cpu#a": 1, "edgeseg/cpu#b": 1, "edgeseg/jetson-orin#sim": 1},
             labels={LABEL + "version": label_value(edgeseg.__version__)}, include_dashboard=False,
             log_to_driver=False, configure_logging=False)
    try:
        yield ray
    finally:
        ray.shutdown()
        if saved is None:
            os.environ.pop("XDG_CACHE_HOME", None)
        else:
            os.environ["XDG_CACHE_HOME"] = saved


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    return tiny_onnx(folder / "a.onnx"), tiny_onnx(folder / "b.onnx", seed=1)


@pytest.fixture(scope="module")
def fp16_model(tmp_path_factory):
    """The tiny model labelled fp16: the precision a Jetson profile runs."""
    return tiny_onnx(tmp_path_factory.mktemp("fp16") / "a16.onnx", precision="fp16")


def test_sharded_eval_equals_plain_eval(cluster, models, tmp_path, capsys):
    a, b = map(str, models)
    assert main(["eval", a, b, *DATA, "--threads", "1", "--json", str(tmp_path / "plain.json")]) == 0
    assert main(["eval", a, b, *DATA, "--ray", "local", "--workers", "2",
                 "--json", str(tmp_path / "ray.json")]) == 0, capsys.readouterr().err
    plain, sharded = (json.loads((tmp_path / f).read_text()) for f in ("plain.json", "ray.json"))
    assert sharded["images"] == plain["images"] == 26
    for p, s in zip(plain["artifacts"], sharded["artifacts"]):
        assert s["confusion"] == p["confusion"]  # exact: sums of integer counts
        assert (s["miou"], s["agreement"], s["per_class_iou"]) == (p["miou"], p["agreement"], p["per_class_iou"])
        assert s["path"] == p["path"]


def test_fleet_bench_two_targets_one_table(cluster, models, tmp_path, capsys):
    out = tmp_path / "fleet.json"
    code = main(["fleet", "bench", *map(str, models), "--ray", "local", "--targets", "cpu#a,cpu#b", *QUICK,
                 *DATA, "--limit", "3", "--json", str(out), "--md", str(tmp_path / "fleet.md"),
                 "--plot", str(tmp_path / "fleet.png")])
    stdout, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out.read_text())
    assert result["format"] == "edgeseg-fleet/1"
    assert [t["device"]["target"].split("@")[0] for t in result["targets"]] == ["cpu#a", "cpu#b"]
    rows = report.load_rows_from(result)
    # b is another random model: its drop against a is past the budget, and the row says so
    assert len(rows) == 4 and all(r["status"].split(":")[0] in ("ok", "over budget") and r["fps"]
                                  and r["miou"] is not None for r in rows)
    assert rows[0]["drop"] is None and rows[1]["drop"] > 0  # b against a, on each target
    assert {r["artifact"] for r in rows} == {"a.onnx", "b.onnx"}
    md = (tmp_path / "fleet.md").read_text()
    assert md.count("| a.onnx |") == 2 and "cpu#a@" in md and "cpu#b@" in md
    assert (tmp_path / "fleet.png").stat().st_size > 0
    assert main(["compare", str(out)]) == 0 and "cpu#b@" in capsys.readouterr().out  # compare reads it too


def test_target_that_raises_gets_a_failed_row(cluster, models, fp16_model, tmp_path, capsys):
    out = tmp_path / "fleet.json"
    code = main(["fleet", "bench", str(models[0]), str(fp16_model), "--ray", "local", "--targets", "cpu#a,jetson-orin",
                 *QUICK, "--json", str(out)])
    assert code == 1, capsys.readouterr().err  # a failed row fails the run, after the table and JSON
    rows = {(r["device"].split("@")[0], r["artifact"]): r for r in report.load_rows_from(json.loads(out.read_text()))}
    assert rows["cpu#a", "a.onnx"]["status"] == "ok"
    # this x86 machine is no AGX Orin: the target's worker raises, its row says why, the table stands
    assert "needs a Jetson AGX Orin" in rows["jetson-orin#sim", "a16.onnx"]["reason"]
    # each target runs the precisions its profile lists; the others are listed, not sent
    assert "cpu profile runs fp32, int8" in rows["cpu#a", "a16.onnx"]["reason"]
    assert "jetson-orin profile runs fp16, int8" in rows["jetson-orin#sim", "a.onnx"]["reason"]


def _targets(ray, *names):
    return select(list_targets(ray), list(names), "local")


def test_versions_that_differ_are_refused(cluster, models):
    settings = FleetBenchSettings(iters=2, warmup=0, threads=1, input_size=(36, 48), timeout=120)
    # head and target labels disagree: refused before anything is sent, both versions named
    cpu_a, = _targets(cluster, "cpu#a")
    row, = bench_fleet([str(models[0])], [cpu_a], settings, cluster, head_version="0.0.0-fake")["targets"][0]["rows"]
    assert row["status"] == "failed" and "head 0.0.0-fake" in row["reason"] and edgeseg.__version__ in row["reason"]
    # a target that advertises no version: the worker itself refuses
    unlabelled = Target(cpu_a.resource, cpu_a.node_id, cpu_a.host, {})
    row, = bench_fleet([str(models[0])], [unlabelled], settings, cluster,
                       head_version="0.0.0-fake")["targets"][0]["rows"]
    assert "head 0.0.0-fake, worker" in row["reason"] and row["reason"].endswith("install the same edgeseg on both")


def test_dead_worker_is_retried_or_reported_and_hangs_time_out(cluster, tmp_path):
    import time

    marker = tmp_path / "crashed-once"

    def crash_once():
        if not marker.exists():
            marker.write_text("x")
            os._exit(1)
        return "second try"

    def crash():
        os._exit(1)

    def hang():
        time.sleep(600)

    remote = cluster.remote(num_cpus=0)
    t0 = time.monotonic()
    done = gather(cluster, {"retried": remote(crash_once).options(max_retries=1).remote(),
                            "dead": remote(crash).options(max_retries=0).remote(),
                            "hung": remote(hang).options(max_retries=0).remote()}, timeout=20)
    assert done["retried"] == (True, "second try")
    assert done["dead"] == (False, "the worker process died (WorkerCrashedError)")
    assert done["hung"] == (False, "timed out after 20 s") and time.monotonic() - t0 < 40


def _three_convs():
    """conv -> relu -> conv -> relu -> classifier: two quantized activations, both named."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weights = {"w1": (8, 3, 3, 3), "wm": (8, 8, 3, 3), "w2": (11, 8, 1, 1)}
    nodes = [helper.make_node("Conv", ["input", "w1"], ["h"], name="conv1", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["h"], ["r"], name="relu1"),
             helper.make_node("Conv", ["r", "wm"], ["m"], name="conv_mid", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["m"], ["rm"], name="relu2"),
             helper.make_node("Conv", ["rm", "w2"], ["logits"], name="classifier")]
    graph = helper.make_graph(nodes, "three", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 24, 32])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 11, 24, 32])],
                              [numpy_helper.from_array(rng.normal(size=s).astype(np.float32), n) for n, s in weights.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_int8_fallback_decides_the_same_on_ray(cluster):
    from edgeseg.fleet.shard import ShardedScore
    from edgeseg.quant.calibrate import collect
    from edgeseg.quant.config import QuantConfig
    from edgeseg.quant.placement import plan
    from edgeseg.quant.qdq import quantize_model
    from edgeseg.quant.sensitivity import Validation, fall_back, run

    model = _three_convs()
    rng = np.random.default_rng(1)
    batches = [rng.normal(0, 50, (1, 3, 24, 32)).astype(np.float32) for _ in range(6)]
    cfg = QuantConfig(method="minmax", max_miou_drop=0.3)
    amax = collect(model, plan(model, cfg).tensors, iter(batches), "minmax")
    amax["r"] *= 0.03  # a badly calibrated activation: the fallback has to find it
    fp32 = run(model, batches)
    val = Validation(batches, [o[0].argmax(0) for o in fp32], 11, 255)

    def build(keep):
        return quantize_model(model, plan(model, cfg, keep), amax)

    _, local = fall_back(model, cfg, amax, build, val, fp32, 0.3)
    with ShardedScore("local", workers=2) as score:
        _, sharded = fall_back(model, cfg, amax, build, val, fp32, 0.3, score)
        assert score._ray is not None and len(score._shards) == 1  # one cluster, the images put there once
    assert score._ray is None and not score._shards  # the cluster is left at the end of the block
    assert local.drop_before > 10 and local.kept_float[0] == "conv_mid"
    assert (sharded.kept_float, sharded.drop_before, sharded.drop_after, sharded.int8_miou) == \
        (local.kept_float, local.drop_before, local.drop_after, local.int8_miou)


def test_fleet_ls_lists_the_simulated_targets(cluster, capsys):
    assert main(["fleet", "ls", "--ray", "local", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["targets"]
    assert sorted(t["name"].split("@")[0] for t in listed) == ["cpu#a", "cpu#b", "jetson-orin#sim"]
    assert {t["profile"] for t in listed} == {"cpu", "jetson-orin"}
    assert all(t["version"] == label_value(edgeseg.__version__) for t in listed)


@pytest.mark.slow
def test_a_checkpoint_exported_as_fp8_with_calib(cluster, trained_ckpt, camvid_root, tmp_path, capsys):
    """--precisions fp8 exports with --calib as int8 does (it once failed with 'needs --calib');
    the CPU target lists the FP8 row as one its profile does not run."""
    from edgeseg.data.calibset import make_manifest

    make_manifest(camvid_root, "camvid", "train", 16, 0, tmp_path / "calib.txt")
    out, work = tmp_path / "fleet.json", tmp_path / "work"
    code = main(["fleet", "bench", str(trained_ckpt), "--ray", "local", "--targets", "cpu#a", "--precisions", "fp32,fp8",
                 "--calib", str(tmp_path / "calib.txt"), "--calib-data", str(camvid_root), "--work-dir", str(work),
                 "--iters", "2", "--warmup", "0", "--threads", "1", "--input-size", "180x240", "--json", str(out)])
    assert code == 0, capsys.readouterr().err
    assert (work / "s2fpn18_180x240.fp8.onnx").is_file()
    rows = {r["artifact"]: r for r in report.load_rows_from(json.loads(out.read_text()))}
    assert rows["s2fpn18_180x240.fp32.onnx"]["status"] == "ok"
    assert "cpu profile runs fp32, int8" in rows["s2fpn18_180x240.fp8.onnx"]["reason"]
