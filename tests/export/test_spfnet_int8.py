"""SPFNet goes through INT8 export like S²-FPN (global pooling branches, subspace split)."""

import cv2
import numpy as np
import pytest

from edgeseg.artifacts import metadata_dict
from edgeseg.cli.main import main
from golden import CASES, save_checkpoint

pytestmark = pytest.mark.slow  # exports or builds real models: the full run, not the fast tier


@pytest.mark.parametrize("case", ["spfnet18"])
def test_spfnet_int8_export(tmp_path, capsys, case):
    save_checkpoint(case, tmp_path / "c.pth")
    calib = tmp_path / "calib"
    calib.mkdir()
    rng = np.random.default_rng(0)
    for i in range(8):  # smooth images around the dataset mean: in range for random weights
        img = cv2.resize(rng.integers(60, 140, (6, 8, 3), dtype=np.uint8), (128, 96), interpolation=cv2.INTER_CUBIC)
        cv2.imwrite(str(calib / f"{i}.png"), img)
    dataset = "camvid" if CASES[case]["classes"] == 11 else "cityscapes"
    code = main(["export", str(tmp_path / "c.pth"), "-o", str(tmp_path / "out"), "--input-size", "96x128",
                 "--dataset", dataset, "--precision", "int8", "--calib", str(calib),
                 # random fixture weights are far more fragile than trained ones: a looser gate
                 "--min-agreement", "0.8"])
    out, err = capsys.readouterr()
    assert code == 0, err
    meta = metadata_dict(out.strip().splitlines()[-1])
    assert meta["precision"] == "int8" and meta["model"]["generation"] == "spfnet"
    assert meta["verification"]["agreement"] >= 0.8
    assert any(n.op_type == "QuantizeLinear" for n in __import__("onnx").load(out.strip().splitlines()[-1]).graph.node)
