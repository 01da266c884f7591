"""Which candidates a machine gets: BF16 only where the CPU and OpenVINO both have it."""

import pytest

from edgeseg.tune import candidates
from edgeseg.tune.candidates import CpuFacts, cpu_candidates

AMX = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8", "amx_tile")
AVX2 = ("avx2", "fma", "sse4_2")


def facts(flags, caps=("FP32", "BF16", "INT8"), machine="x86_64", nncf=True):
    return CpuFacts(machine, flags, caps, True, True, nncf)


def names(f):
    return [c.name for c in cpu_candidates(f)[0]]


def test_amx_cpu_gets_every_candidate():
    assert names(facts(AMX)) == ["fp32 onnxruntime", "fp32 openvino", "bf16 openvino", "int8-tensorrt onnxruntime",
                                 "int8-tensorrt openvino", "int8-cpu onnxruntime", "int8-cpu openvino",
                                 "nncf-int8 openvino"]


@pytest.mark.parametrize("flags,caps,machine", [
    (AVX2, ("FP32", "INT8"), "x86_64"),  # neither has it
    (AVX2, ("FP32", "BF16", "INT8"), "x86_64"),  # OpenVINO would emulate: the CPU has no bf16 instructions
    (AMX, ("FP32", "INT8"), "x86_64"),  # an OpenVINO that will not use it
    (("fp", "asimd", "asimddp"), ("FP32", "FP16", "BF16"), "aarch64"),  # Arm without the bf16 feature
])
def test_bf16_not_offered_without_support(flags, caps, machine):
    cands, skipped = cpu_candidates(facts(flags, caps, machine))
    assert "bf16 openvino" not in [c.name for c in cands]
    assert skipped[0]["name"] == "bf16 openvino" and skipped[0]["reason"]


def test_bf16_offered_on_arm_with_bf16():
    assert "bf16 openvino" in names(facts(("fp", "asimd", "sve", "bf16", "i8mm"), ("FP32", "BF16"), "aarch64"))


def test_cpu_facts_read_openvino_and_cpuinfo(monkeypatch):
    """The facts come from OpenVINO's OPTIMIZATION_CAPABILITIES and /proc/cpuinfo (both monkeypatched)."""
    from edgeseg.platform import hardware

    monkeypatch.setattr(hardware, "openvino_capabilities", lambda device="CPU": ("FP32", "INT8"))
    monkeypatch.setattr(hardware, "this_cpu_flags", lambda: AMX)
    monkeypatch.setattr(candidates, "_found", lambda m: True)
    f = candidates.cpu_facts()
    assert f.flags == AMX and not f.bf16
    monkeypatch.setattr(hardware, "openvino_capabilities", lambda device="CPU": ("FP32", "BF16", "INT8"))
    assert candidates.cpu_facts().bf16 == (f.machine in ("x86_64", "AMD64"))


def test_without_nncf_the_nncf_candidate_is_skipped_with_the_reason():
    cands, skipped = cpu_candidates(facts(AMX, nncf=False))
    assert "nncf-int8 openvino" not in [c.name for c in cands]
    assert any("nncf is not installed" in s["reason"] for s in skipped)


def test_orders_are_unique_tie_breaks():
    cands = cpu_candidates(facts(AMX))[0]
    assert len({c.order for c in cands}) == len(cands)


def test_bf16_not_offered_when_onednn_is_capped_below_it():
    capped = CpuFacts("x86_64", AMX, ("FP32", "BF16", "INT8"), True, True, True, "AVX2")
    cands, skipped = cpu_candidates(capped)
    assert "bf16 openvino" not in [c.name for c in cands] and "ONEDNN_MAX_CPU_ISA=AVX2" in skipped[0]["reason"]
    assert cpu_candidates(CpuFacts("x86_64", AMX, ("FP32", "BF16"), True, True, True, "AVX512_CORE_AMX"))[0][2].name \
        == "bf16 openvino"
