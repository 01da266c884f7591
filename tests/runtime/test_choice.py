"""One default backend per profile (predict, eval, run, bench), and where an artifact's verification holds."""

import json

import onnx

from edgeseg.artifacts import set_onnx_metadata, write_sidecar
from edgeseg.platform import hardware
from edgeseg.platform.devices import backends_for, load_profile
from edgeseg.runtime import installed
from edgeseg.runtime.choice import default_backend, unverified
from tiny import tiny_onnx


def labelled(path, **fields):
    model = onnx.load(str(path))
    meta = {**json.loads(path.with_name(path.name + ".json").read_text()), **fields}
    set_onnx_metadata(model, meta)
    onnx.save(model, str(path))
    write_sidecar(path, meta)
    return path


def test_every_command_gets_the_profiles_first_installed_backend(tmp_path):
    int8 = labelled(tiny_onnx(tmp_path / "q.onnx"), precision="int8")
    want = next(b for b in backends_for(load_profile("cpu"), "int8") if installed(b))
    assert default_backend(int8) == want
    assert default_backend(int8, provider="cuda") is None  # an ONNX Runtime GPU provider keeps ONNX Runtime
    ckpt = tmp_path / "c.pth"
    ckpt.write_bytes(b"x")
    assert default_backend(ckpt) is None  # its suffix's own


def test_a_quantized_artifact_says_where_its_verification_does_not_hold():
    here = list(hardware.this_isa())
    meta = {"precision": "int8", "verification": {"checks": {"runtimes": {
        "onnxruntime": {"isa": here, "ok": True}, "openvino": {"isa": ["AVX2", "made-up"], "ok": True}}}}}
    assert unverified(meta, "onnxruntime") is None
    assert "another CPU kind" in unverified(meta, "openvino")
    meta["verification"]["checks"]["runtimes"]["openvino"] = {"isa": here, "ok": False, "mismatch": True}
    assert unverified(meta, "openvino") == "MISMATCH on openvino at export"
    assert unverified({"precision": "int8"}, "openvino") == "not verified on openvino"  # older exports
    assert unverified({"precision": "fp32"}, "openvino") is None
