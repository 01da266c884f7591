"""The preprocessing contract's one-pass `apply` gives exactly the official recipe's tensor
(convert to float32, subtract the mean, divide by std, BGR->RGB, HWC->CHW), for every option."""

import numpy as np
import pytest

from edgeseg.data.contract import Preprocess


@pytest.mark.parametrize("order", ["RGB", "BGR"])
@pytest.mark.parametrize("std", [None, (58.4, 57.1, 57.4)])
def test_apply_is_the_official_recipe_bit_for_bit(order, std):
    image = np.random.default_rng(0).integers(0, 256, (37, 41, 3), dtype=np.uint8)
    pre = Preprocess(mean_bgr=(72.39, 82.91, 73.16), std_bgr=std, channel_order=order)
    ref = image.astype(np.float32) - np.asarray(pre.mean_bgr, np.float32)
    if std is not None:
        ref /= np.asarray(std, np.float32)
    if order == "RGB":
        ref = ref[:, :, ::-1]
    out = pre.apply(image)
    assert out.dtype == np.float32 and out.flags.c_contiguous
    assert np.array_equal(out, ref.transpose(2, 0, 1))
