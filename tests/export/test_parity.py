import numpy as np
import pytest

from edgeseg.errors import EdgesegError
from edgeseg.export.parity import compare, require_ok


def test_compare_logits_and_labels():
    ref = np.zeros((1, 3, 2, 2), np.float32)
    ref[0, 1] = 5.0  # class 1 everywhere
    out = ref.copy()
    out[0, 2, 0, 0] = 6.0  # one pixel flips to class 2
    p = compare([ref], [out], "fp32")
    assert p.max_abs == 6.0 and p.agreement == 0.75 and not p.ok
    labels = np.ones((1, 2, 2), np.int32)
    p = compare([ref], [labels], "labels")
    assert p.max_abs is None and p.agreement == 1.0 and p.ok


def test_require_ok_names_the_stage():
    ref = np.random.default_rng(0).normal(size=(2, 4, 8, 8)).astype(np.float32)
    bad = compare([ref], [ref + 1.0], "fp32")
    with pytest.raises(EdgesegError, match=r"stage simplified failed verification.*max \|Δ\| 1"):
        require_ok(bad, "simplified")
    require_ok(compare([ref], [ref + 1e-6], "fp32"), "simplified")


def test_shape_mismatch_is_an_error():
    with pytest.raises(EdgesegError, match="does not match"):
        compare([np.zeros((1, 3, 4, 4))], [np.zeros((1, 3, 4, 5))], "fp32")
