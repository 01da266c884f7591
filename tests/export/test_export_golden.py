"""All eight official architectures export to ONNX and verify (static shape, small input)."""

import numpy as np
import pytest

from edgeseg.export.options import export_options as ExportOptions
from edgeseg.export.pipeline import run_export
from edgeseg.runtime.onnx_runner import OrtRunner
from golden import CASES, io, save_checkpoint, variant

pytestmark = pytest.mark.slow  # exports or builds real models: the full run, not the fast tier


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_architecture_exports(tmp_path, case):
    x, ref = io(case)
    save_checkpoint(case, tmp_path / "c.pth")
    np.save(tmp_path / "x.npy", x)  # the golden input: random weights overflow on arbitrary images
    dataset = "camvid" if CASES[case]["classes"] == 11 else "cityscapes"
    opts = ExportOptions(input_size=tuple(x.shape[2:]), variant=variant(case), dataset=dataset, num_samples=1,
                         samples=str(tmp_path / "x.npy"),
                         # s2fpn34's random weights reach logits of 78k: float32 noise flips near-ties
                         min_agreement=0.995 if case == "s2fpn34" else None,
                         max_rel_diff=5e-3 if case == "s2fpn34" else None)
    result = run_export(tmp_path / "c.pth", tmp_path / "out", opts)
    assert [s.name for s in result.stages] == ["deploy", "raw", "simplified"]
    assert all(s.check.ok for s in result.stages)
    with OrtRunner(result.final) as runner:
        y = runner.infer(x)
    # Same noise-floor argument as the PyTorch golden test: compare relative to the output scale.
    scale = max(1.0, float(np.abs(ref).max()))
    assert np.abs(y - ref).max() <= 1e-2 * scale
    assert (y.argmax(1) == ref.argmax(1)).mean() >= 0.995
