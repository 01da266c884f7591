from __future__ import annotations

import pytest

import tuned
from paths import CAMVID, TRAINED


@pytest.fixture(scope="session")
def tuned_run(tmp_path_factory):
    if not TRAINED.exists() or not (CAMVID / "camvid_val_list.txt").exists():
        pytest.skip("../shared (trained checkpoint, CamVid) is absent")
    pytest.importorskip("openvino", reason="the CPU candidates need OpenVINO")
    pytest.importorskip("nncf", reason="the NNCF candidate needs nncf (pip install 'edgeseg[openvino]')")
    return tuned.run_once(tmp_path_factory)
