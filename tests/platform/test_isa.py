"""ISA features read from /proc/cpuinfo text (x86 flags, Arm Features)."""

from pathlib import Path

from edgeseg.platform.hardware import cpu_flags, has_bf16, isa_summary

SAMPLES = Path(__file__).parent / "samples"


def test_x86_sample_without_vector_flags():
    flags = cpu_flags((SAMPLES / "cpuinfo_x86_ht.txt").read_text())
    assert flags == ("de", "fpu", "pse", "vme")
    assert isa_summary(flags, "x86_64") == () and not has_bf16(flags, "x86_64")


def test_amx_line():
    flags = cpu_flags("processor : 0\nflags\t\t: fpu avx2 avx512f avx512_vnni avx512_bf16 amx_bf16 amx_int8 amx_tile\n")
    assert isa_summary(flags, "x86_64") == ("AMX", "VNNI", "BF16", "AVX-512", "AVX2")
    assert has_bf16(flags, "x86_64")


def test_arm_features():
    flags = cpu_flags((SAMPLES / "cpuinfo_orin.txt").read_text())
    assert isa_summary(flags, "aarch64")[0] == "NEON"
    assert not has_bf16(flags, "aarch64")
    assert has_bf16(cpu_flags("Features\t: fp asimd sve bf16 i8mm\n"), "aarch64")
