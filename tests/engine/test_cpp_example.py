"""The C++ example's sidecar reader and preprocessing, built and compared with the Python contract.

examples/cpp/edgeseg_infer needs TensorRT to build; its TensorRT-free half (the JSON reader,
PPM input, mean/std/channel order) is built here as edgeseg_contract_check and must produce
exactly the input `Preprocess.apply` produces.
"""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgeseg.data.contract import Preprocess
from edgeseg.engine import sidecar

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "edgeseg" / "assets" / "camvid-demo" / "val"
TENSORS = [{"name": "input", "mode": "input", "dtype": "float32", "shape": [1, 3, 180, 240]},
           {"name": "logits", "mode": "output", "dtype": "float32", "shape": [1, 11, 180, 240]}]


@pytest.fixture(scope="module")
def contract_check(tmp_path_factory):
    if not (shutil.which("cmake") and (shutil.which("c++") or shutil.which("g++"))):
        pytest.skip("cmake and a C++ compiler are needed to build examples/cpp")
    build = tmp_path_factory.mktemp("cpp")
    for cmd in (["cmake", "-S", str(REPO / "examples" / "cpp"), "-B", str(build), "-DEDGESEG_CONTRACT_ONLY=ON",
                 "-DCMAKE_BUILD_TYPE=Release"], ["cmake", "--build", str(build), "-j2"]):
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if "nlohmann/json not found" in proc.stderr:
            pytest.skip("nlohmann/json is needed to build examples/cpp (apt-get install nlohmann-json3-dev)")
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return build / "edgeseg_contract_check"


def _sidecar(tmp_path, tagged_onnx, **preprocess):
    engine = tmp_path / "model.engine"
    engine.write_bytes(b"plan")
    meta = sidecar.build_sidecar(onnx_path=tagged_onnx, plan=b"plan",
                                 target=sidecar.BuildTarget("10.3.0.30", "Orin", "8.7"), precision="fp16",
                                 tensors=TENSORS, build={}, build_seconds=1.0)
    meta = meta.with_(preprocess={**meta.preprocess, **preprocess})
    sidecar.write(engine, meta)
    return sidecar.sidecar_path(engine), meta.to_dict()


@pytest.mark.parametrize("preprocess", [{}, {"std_bgr": [57.4, 57.1, 58.4], "channel_order": "BGR"}],
                         ids=["official", "std-bgr"])
@pytest.mark.slow
def test_cpp_preprocessing_matches_python(contract_check, tmp_path, tagged_onnx, preprocess):
    import cv2

    side, meta = _sidecar(tmp_path, tagged_onnx, **preprocess)
    contract = Preprocess.from_dict(meta["preprocess"])
    for png in sorted(DEMO.glob("*.png"))[:3]:
        image = cv2.imread(str(png), cv2.IMREAD_COLOR)
        ppm = tmp_path / (png.stem + ".ppm")
        cv2.imwrite(str(ppm), image)
        out = tmp_path / (png.stem + ".f32")
        proc = subprocess.run([str(contract_check), str(side), str(ppm), str(out)], capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 0, proc.stderr
        order = meta["preprocess"]["channel_order"]
        assert proc.stdout.split() == ["3x180x240", order, "classes=11", "target=10.3.0.30/Orin/sm_87"]
        cpp = np.fromfile(out, dtype=np.float32).reshape(3, 180, 240)
        np.testing.assert_array_equal(cpp, contract.apply(image))


def test_cpp_refuses_wrong_size_and_bad_sidecar(contract_check, tmp_path, tagged_onnx):
    import cv2

    side, _ = _sidecar(tmp_path, tagged_onnx)
    small = tmp_path / "small.ppm"
    cv2.imwrite(str(small), np.zeros((90, 120, 3), np.uint8))
    proc = subprocess.run([str(contract_check), str(side), str(small), str(tmp_path / "o.f32")], capture_output=True,
                          text=True, timeout=60)
    if proc.returncode == 0:
        pytest.skip("built with OpenCV: images are resized, not refused")
    assert proc.returncode == 1 and "the model takes 180x240" in proc.stderr
    broken = tmp_path / "broken.json"
    broken.write_text('{"preprocess": {"mean_bgr": [1, 2, 3]')
    proc = subprocess.run([str(contract_check), str(broken), str(small), str(tmp_path / "o.f32")], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 1 and proc.stderr.startswith("error: sidecar JSON: ")
    assert "parse error at line 1, column 38" in proc.stderr and "unexpected end of input" in proc.stderr
    assert proc.stderr.count("\n") == 1
    no_contract = tmp_path / "no_contract.json"
    no_contract.write_text('{"target": {"gpu": "Orin"}}')
    proc = subprocess.run([str(contract_check), str(no_contract), str(small), str(tmp_path / "o.f32")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and proc.stderr == ("error: sidecar has no preprocess block: rebuild the engine "
                                                    "with `edgeseg build`\n")


def test_cpp_video_summary_matches_python(contract_check):
    """edgeseg_video's summary (video_summary.hpp) says what `edgeseg run` says for the same timings."""
    from edgeseg.video.summary import RunSummary, e2e_line, stage_rows

    s = RunSummary("clip.mp4", "m.engine", "tensorrt", frames_out=30, unreadable=1, wall_s=1.5, model_fps=25.0)
    s.latency_ms = [10.0, 20.0, 30.0, 40.0]
    s.stage_ms.update(decode=[1.0, 2.0, 4.0], infer=[30.0, 31.5, 29.0], write=[0.5, 0.75])
    stdin = "30 1.5 25 1\nlatency 10 20 30 40\ndecode 1 2 4\ninfer 30 31.5 29\nwrite 0.5 0.75\n"
    proc = subprocess.run([str(contract_check.parent / "edgeseg_summary_check")], input=stdin, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    expected = s.to_dict()
    assert lines[-1] == e2e_line(expected)
    assert [tuple(row.split()) for row in lines[1:-1]] == stage_rows(expected)
