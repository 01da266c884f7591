"""Targets as Ray resources and labels: naming, selection, the `ray start` line, profile detection."""

import json

import pytest

from edgeseg.cli.main import main
from edgeseg.errors import EdgesegError
from edgeseg.fleet.packing import pack_file
from edgeseg.fleet.shard import shard_bounds
from edgeseg.fleet.targets import detect_profile, label_value, list_targets, select, start_argv
from edgeseg.platform.hardware import Hardware


class FakeRay:
    def __init__(self, nodes):
        self._nodes = nodes

    def nodes(self):
        return self._nodes


def _node(node_id, host, resources, labels=None, alive=True):
    return {"NodeID": node_id, "NodeManagerHostname": host, "Alive": alive, "Resources": resources,
            "Labels": labels or {}}


def test_targets_from_nodes_and_selection():
    ray = FakeRay([
        _node("n1", "orin1", {"CPU": 12.0, "edgeseg/jetson-orin": 1.0}, {"edgeseg/version": "0.1.0"}),
        _node("n2", "box", {"CPU": 8.0, "edgeseg/cuda#0": 1.0, "edgeseg/cuda#1": 1.0}),
        _node("n3", "gone", {"edgeseg/cpu": 1.0}, alive=False),
        _node("n4", "plain", {"CPU": 4.0}),
    ])
    targets = list_targets(ray)
    assert [t.name for t in targets] == ["cuda#0@box", "cuda#1@box", "jetson-orin@orin1"]
    assert [t.profile for t in targets] == ["cuda", "cuda", "jetson-orin"]
    assert targets[2].version == "0.1.0" and targets[0].version is None
    assert select(targets, ["cuda"], "h:1") == targets[:2]  # a profile names every target of it
    assert select(targets, ["orin1", "cuda#1"], "h:1") == [targets[2], targets[1]]
    with pytest.raises(EdgesegError, match="no such target.*cuda#0@box"):
        select(targets, ["xavier"], "h:1")
    with pytest.raises(EdgesegError, match="edgeseg fleet join h:1"):
        select([], None, "h:1")


def test_label_values_follow_ray_syntax():
    assert label_value("10.3.0") == "10.3.0"
    assert label_value("0.1.0+g1f066c8") == "0.1.0-g1f066c8"
    assert label_value(None) == "none" and label_value("AMD EPYC 7B13 64-Core") == "AMD-EPYC-7B13-64-Core"
    assert len(label_value("x" * 100)) == 63


def test_start_argv_for_join_and_head():
    argv = start_argv(["ray"], {"edgeseg/jetson-orin": 1}, {"edgeseg/version": "0.1.0", "edgeseg/tensorrt": "10.3.0"},
                      head="10.0.0.1:6379")
    assert argv[:3] == ["ray", "start", "--address=10.0.0.1:6379"]
    assert json.loads(argv[3].split("=", 1)[1]) == {"edgeseg/jetson-orin": 1}
    assert argv[4] == "--labels=edgeseg/tensorrt=10.3.0,edgeseg/version=0.1.0"
    head = start_argv(["ray"], {}, {}, port=6380, block=True)
    assert head == ["ray", "start", "--head", "--port=6380", "--include-dashboard=false", "--block"]


def test_profile_detection():
    assert detect_profile(Hardware("x86_64", "Xeon", 4)) == "cpu"
    assert detect_profile(Hardware("x86_64", "Xeon", 4, [{"name": "RTX 4090"}])) == "cuda"
    orin = Hardware("aarch64", "ARM", 12, jetson_model="NVIDIA Jetson AGX Orin Developer Kit", l4t="36.4.0")
    assert detect_profile(orin) == "jetson-orin"
    with pytest.raises(EdgesegError, match="--profile"):
        detect_profile(Hardware("aarch64", "ARM", 4, jetson_model="NVIDIA Jetson Mystery", l4t="36.4.0"))


def test_join_dry_run_prints_ray_start(capsys):
    pytest.importorskip("ray")
    code = main(["fleet", "join", "10.0.0.1:6379", "--profile", "cpu", "--tag", "b", "--dry-run"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "start --address=10.0.0.1:6379" in err and "edgeseg/cpu#b" in err and "edgeseg/version=" in err
    assert main(["fleet", "join", "10.0.0.1:6379", "--profile", "jetson-orin", "--dry-run"]) == 1
    assert "needs a Jetson AGX Orin" in capsys.readouterr().err


def test_shards_are_contiguous_and_cover_everything():
    assert shard_bounds(101, 2) == [(0, 50), (50, 101)]
    assert shard_bounds(3, 8) == [(0, 1), (1, 2), (2, 3)]
    bounds = shard_bounds(26, 4)
    assert bounds[0][0] == 0 and bounds[-1][1] == 26 and all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))


def test_packed_file_round_trip(tmp_path):
    src = tmp_path / "m.onnx"
    src.write_bytes(b"model")
    (tmp_path / "m.onnx.json").write_text("{}")
    out = pack_file(src).write(tmp_path / "there")
    assert out.read_bytes() == b"model" and (tmp_path / "there" / "m.onnx.json").read_text() == "{}"
    assert pack_file(src).write(tmp_path / "there") == out  # same bytes: kept
