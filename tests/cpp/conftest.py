"""edgeseg-cpp built once per session (incrementally, into one folder per checkout) and the artifacts
its tests compare with Python: the README's install plus `.ci/run`'s apt line is all it needs."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "edgeseg" / "assets" / "camvid-demo"


def _missing(reason: str):
    """CI (EDGESEG_REQUIRE_CPP=1, set by .ci/run) fails here; a developer without the packages skips."""
    if os.environ.get("EDGESEG_REQUIRE_CPP") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def edgeseg_cpp() -> Path:
    """The edgeseg-cpp program, built with the one line cpp/README.md gives users."""
    if not (shutil.which("cmake") and (shutil.which("c++") or shutil.which("g++"))):
        _missing("cmake and a C++ compiler are needed to build cpp/ (apt-get install cmake g++)")
    spec = importlib.util.find_spec("openvino")
    if spec is None or spec.origin is None:
        _missing("the openvino wheel is needed to build cpp/ (pip install -e '.[openvino]')")
    ov_cmake = Path(spec.origin).parent / "cmake"
    build = Path(tempfile.gettempdir()) / f"edgeseg-cpp-build-{hashlib.sha256(str(REPO).encode()).hexdigest()[:10]}"
    configure = ["cmake", "-S", str(REPO / "cpp"), "-B", str(build), f"-DOpenVINO_DIR={ov_cmake}"]
    for cmd in (configure, ["cmake", "--build", str(build), "-j2"]):
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        if proc.returncode:
            text = proc.stdout[-3000:] + proc.stderr[-3000:]
            if "OpenCV" in text or "nlohmann_json" in text:
                _missing("cpp/ needs OpenCV and nlohmann/json: apt-get install libopencv-dev nlohmann-json3-dev\n" + text)
            pytest.fail(f"{' '.join(cmd)} failed:\n{text}")
    return build / "edgeseg-cpp"


def run_cpp(program: Path, *args, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(program), *map(str, args)], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory) -> dict[str, Path]:
    """The demo checkpoint at 180x240 as FP32 ONNX, INT8 ONNX (this machine's default placement), an
    `--embed-preprocess --argmax uint8` ONNX, a `--tail argmax-lowres` ONNX, and the OpenVINO IRs `edgeseg tune` writes for a CPU
    (the FP32 IR with its BF16 hint, NNCF INT8)."""
    from edgeseg.cli.main import main
    from edgeseg.data.calibset import load_calibset
    from edgeseg.tune.build import ir_for, nncf_ir

    root = tmp_path_factory.mktemp("cpp-artifacts")
    ckpt, val = DEMO / "s2fpn18_camvid_half.pth", DEMO / "val"
    common = ["--input-size", "180x240", "-q"]
    assert main(["export", str(ckpt), "-o", str(root), "--precision", "int8", "--calib", str(val),
                 "--calib-limit", "8", *common]) == 0
    # the same work folder: the FP32 stages are reused, not exported twice
    assert main(["export", str(ckpt), "-o", str(root), "--embed-preprocess", "--argmax", "uint8", *common]) == 0
    assert main(["export", str(ckpt), "-o", str(root), "--tail", "argmax-lowres", *common]) == 0
    fp32 = root / "s2fpn18_180x240.fp32.onnx"
    return {"fp32": fp32, "int8": root / "s2fpn18_180x240.int8.onnx",
            "embed-argmax-uint8": root / "s2fpn18_180x240.fp32.bgr8in-labels-uint8.onnx",
            "argmax-lowres": root / "s2fpn18_180x240.fp32.labels-uint8-lowres.onnx",
            "ir-bf16-hint": ir_for(fp32, "bf16"),
            "ir-nncf-int8": nncf_ir(fp32, load_calibset(str(val), limit=8))}
