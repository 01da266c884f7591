"""Engine sidecars: round trip, the mismatch line, L4T release parsing and the JetPack table."""

import json
import re

import pytest

from edgeseg.artifacts import metadata_dict
from edgeseg.platform import hardware
from edgeseg.engine import sidecar
from edgeseg.engine.sidecar import BuiltFor
from edgeseg.errors import EdgesegError

ORIN = BuiltFor("10.3.0.30", "Orin", "8.7", "36.4.0", "NVIDIA Jetson AGX Orin Developer Kit")
H100 = BuiltFor("11.0.0.8", "NVIDIA H100 80GB HBM3", "9.0")
TENSORS = [{"name": "input", "mode": "input", "dtype": "float32", "shape": [1, 3, 180, 240]},
           {"name": "logits", "mode": "output", "dtype": "float32", "shape": [1, 11, 180, 240]}]

# /etc/nv_tegra_release as JetPack 6.1, 6.2, 5.1.2 and 4.6.1 write it
RELEASES = {
    "36.4.0": "# R36 (release), REVISION: 4.0, GCID: 37537400, BOARD: generic, EABI: aarch64, DATE: Fri Sep 13 "
              "04:36:44 UTC 2024\n# KERNEL_VARIANT: oot\nTARGET_USERSPACE_LIB_DIR=nvidia\n"
              "TARGET_USERSPACE_LIB_DIR_PATH=usr/lib/aarch64-linux-gnu/nvidia\n",
    "36.4.3": "# R36 (release), REVISION: 4.3, GCID: 38968081, BOARD: generic, EABI: aarch64, DATE: Wed Jan  8 "
              "01:49:37 UTC 2025\n# KERNEL_VARIANT: oot\n",
    "35.4.1": "# R35 (release), REVISION: 4.1, GCID: 33958178, BOARD: t186ref, EABI: aarch64, DATE: Tue Aug  1 "
              "19:57:35 UTC 2023\n",
    "32.7.1": "# R32 (release), REVISION: 7.1, GCID: 29818004, BOARD: t210ref, EABI: aarch64, DATE: Sat Feb 19 "
              "17:05:08 UTC 2022\n",
}


@pytest.fixture
def engine(tmp_path, tagged_onnx):
    """A plan file (opaque bytes here) with the sidecar edgeseg writes beside a real build."""
    path = tmp_path / "model.engine"
    path.write_bytes(b"plan bytes")
    meta = sidecar.build_sidecar(onnx_path=tagged_onnx, plan=path.read_bytes(),
                                 built_for=ORIN, precision="int8", tensors=TENSORS,
                                 build={"mode": "weakly typed + INT8/FP16", "options": {"opt_level": 3}},
                                 build_seconds=312.456)
    sidecar.write(path, meta)
    return path


def test_round_trip_carries_contract_target_and_io(engine, tagged_onnx):
    meta = sidecar.read(engine)
    assert meta["kind"] == "engine" and meta["format"] == "edgeseg-artifact/1" and meta["precision"] == "int8"
    onnx_meta = metadata_dict(tagged_onnx)
    assert meta["preprocess"] == onnx_meta["preprocess"] and meta["dataset"]["name"] == "camvid"
    assert meta["model"]["variant"] == "s2fpn18" and meta["embedded_preprocess"] is False
    assert meta["target"] == {"runtime": "tensorrt", "tensorrt": "10.3.0.30", "gpu": "Orin", "compute_capability": "8.7", "l4t": "36.4.0",
                              "jetpack": "6.1", "board": "NVIDIA Jetson AGX Orin Developer Kit"}
    assert meta["io"]["input"] == {"name": "input", "dtype": "float32", "layout": "NCHW", "shape": [1, 3, 180, 240]}
    assert meta["io"]["output"]["kind"] == "logits" and meta["engine"]["tensors"] == TENSORS
    assert meta["provenance"]["parent"]["path"] == tagged_onnx.name and len(meta["provenance"]["parent"]["sha256"]) == 64  # relative to the engine
    assert meta["provenance"]["build_seconds"] == 312.46
    assert engine.read_bytes() == b"plan bytes"  # the plan stays plain; metadata lives beside it
    assert BuiltFor.from_dict(meta["target"]) == ORIN


def test_same_machine_passes(engine):
    sidecar.check_compatible(engine, sidecar.read(engine), BuiltFor("10.3.0.30", "Orin", "8.7", "36.4.0",
                                                                  "NVIDIA Jetson AGX Orin Developer Kit"))
    sidecar.check_compatible(engine, sidecar.read(engine), BuiltFor("10.3.0", "Orin", "8.7"))  # fewer facts known


def test_other_tensorrt_and_gpu_give_one_line_with_the_rebuild_command(engine, tagged_onnx):
    with pytest.raises(EdgesegError) as info:
        sidecar.check_compatible(engine, sidecar.read(engine), H100)
    assert str(info.value) == (
        "engine model.engine was built with TensorRT 10.3.0.30 on Orin (sm_87) [NVIDIA Jetson AGX Orin Developer Kit], "
        "L4T 36.4.0; this machine has TensorRT 11.0.0.8 on NVIDIA H100 80GB HBM3 (sm_90): "
        f"rebuild it here with `edgeseg build {tagged_onnx} -o {engine}`")


@pytest.mark.parametrize("here,what", [
    (BuiltFor("10.3.0.26", "Orin", "8.7", "36.4.0"), "TensorRT 10.3.0.26"),  # another build of the same release
    (BuiltFor("10.3.0.30", "NVIDIA RTX A6000", "8.6"), "RTX A6000 (sm_86)"),
    (BuiltFor("10.3.0.30", "Orin", "8.7", "36.4.0", "NVIDIA Jetson Orin Nano Developer Kit"), "Orin Nano"),
    (BuiltFor("10.3.0.30", "Orin", "8.7", "36.4.3", "NVIDIA Jetson AGX Orin Developer Kit"), "L4T 36.4.3"),
])
def test_each_mismatch_is_refused(engine, here, what):
    assert sidecar.mismatch(ORIN, here) is not None
    with pytest.raises(EdgesegError, match=re.escape(what)) as info:
        sidecar.check_compatible(engine, sidecar.read(engine), here)
    assert "\n" not in str(info.value) and "rebuild it here with `edgeseg build" in str(info.value)


def test_replaced_plan_is_caught(engine):
    meta = sidecar.read(engine)
    sidecar.check_plan_hash(engine, meta)
    engine.write_bytes(b"a plan built by trtexec")
    with pytest.raises(EdgesegError, match="stale sidecar, it describes another plan") as info:
        sidecar.read(engine)  # refused when the sidecar is read, before any TensorRT call
    assert "delete it and rebuild" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(EdgesegError, match="stale sidecar"):
        sidecar.check_plan_hash(engine, meta)


def test_missing_or_foreign_sidecar(tmp_path):
    plan = tmp_path / "x.engine"
    plan.write_bytes(b"plan")
    with pytest.raises(EdgesegError, match="no sidecar x.engine.json"):
        sidecar.read(plan)
    (tmp_path / "x.engine.json").write_text(json.dumps({"kind": "onnx"}))
    with pytest.raises(EdgesegError, match="not an edgeseg engine sidecar"):
        sidecar.read(plan)


def test_labels_engine_io():
    io = sidecar.io_from_tensors([{"name": "image", "mode": "input", "dtype": "uint8", "shape": [1, 360, 480, 3]},
                                  {"name": "labels", "mode": "output", "dtype": "uint8", "shape": [1, 360, 480]}])
    assert io["input"]["layout"] == "NHWC" and io["output"]["kind"] == "labels"
    with pytest.raises(EdgesegError, match="at least one input and one output"):
        sidecar.io_from_tensors(TENSORS[:1])


@pytest.mark.parametrize("version,board,jetpack", [
    ("36.4.0", "generic", "6.1"), ("36.4.3", "generic", "6.2"), ("35.4.1", "t186ref", "5.1.2"), ("32.7.1", "t210ref", None),
])
def test_nv_tegra_release_samples(version, board, jetpack):
    release = hardware.parse_nv_tegra_release(RELEASES[version])
    assert (release.version, release.board, release.arch) == (version, board, "aarch64")
    assert (sidecar.jetpack_for(release.version) or {}).get("jetpack") == jetpack


def test_release_parser_edge_cases():
    assert hardware.parse_nv_tegra_release("") is None
    assert hardware.parse_nv_tegra_release("Ubuntu 22.04.4 LTS") is None
    assert hardware.parse_nv_tegra_release("# R38 (release), REVISION: 2").version == "38.2.0"


def test_jetpack_table_lookup():
    assert sidecar.jetpack_for("36.3.0") == {"jetpack": "6.0", "tensorrt": "8.6.2"}
    assert sidecar.jetpack_for("36.4.7")["jetpack"] == "6.2.1"  # a later point release: nearest lower entry
    assert sidecar.jetpack_for("37.0.0") is None and sidecar.jetpack_for(None) is None


def test_read_jetson_off_a_jetson(tmp_path, monkeypatch):
    monkeypatch.setattr(hardware, "TEGRA_RELEASE", tmp_path / "absent")
    assert hardware.read_jetson() == (None, None)
    release = tmp_path / "nv_tegra_release"
    release.write_text(RELEASES["36.4.3"])
    model = tmp_path / "model"
    model.write_bytes(b"NVIDIA Jetson Orin NX Engineering Reference Developer Kit\0")
    monkeypatch.setattr(hardware, "TEGRA_RELEASE", release)
    monkeypatch.setattr(hardware, "DT_MODEL", model)
    assert hardware.read_jetson() == ("36.4.3", "NVIDIA Jetson Orin NX Engineering Reference Developer Kit")
    assert sidecar.this_machine("10.3.0", "Orin", "8.7").l4t == "36.4.3"
