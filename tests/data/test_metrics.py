"""Metrics against hand-computed confusion matrices."""

import numpy as np
import pytest

from edgeseg.data.metrics import ConfusionMatrix, iou_from_confusion, miou_from_confusion

from paths import SHARED


def test_hand_computed_with_ignore():
    cm = ConfusionMatrix(3, ignore_index=255)
    label = np.array([[0, 0, 1, 255], [1, 2, 2, 255]])
    pred = np.array([[0, 1, 1, 2], [1, 2, 0, 0]])
    cm.update(label, pred)
    expected = np.array([[1, 1, 0], [0, 2, 0], [1, 0, 1]])
    np.testing.assert_array_equal(cm.matrix, expected)
    # IoU: c0 = 1/(2+2-1) = 1/3, c1 = 2/(2+3-2) = 2/3, c2 = 1/(2+1-1) = 1/2
    np.testing.assert_allclose(cm.per_class_iou(), [1 / 3, 2 / 3, 1 / 2])
    assert cm.miou() == pytest.approx((1 / 3 + 2 / 3 + 1 / 2) / 3 * 100)
    assert cm.pixel_accuracy() == pytest.approx(4 / 6)


def test_class_absent_from_both_is_left_out_of_the_mean():
    m = np.array([[5, 0, 0], [0, 0, 0], [1, 0, 4]])  # class 1 never in GT nor prediction
    iou = iou_from_confusion(m)
    assert np.isnan(iou[1])
    assert miou_from_confusion(m) == pytest.approx((5 / 6 + 4 / 5) / 2 * 100)


def test_class_only_predicted_counts_as_zero():
    m = np.array([[3, 1], [0, 0]])  # class 1 predicted once, never in GT: IoU 0, kept
    assert miou_from_confusion(m) == pytest.approx((3 / 4 + 0) / 2 * 100)


def test_void_label_beyond_classes_ignored():
    cm = ConfusionMatrix(11, ignore_index=11)
    cm.update(np.array([11, 11, 3]), np.array([0, 5, 3]))
    assert cm.matrix.sum() == 1 and cm.matrix[3, 3] == 1


def test_official_confusion_gives_official_miou():
    path = SHARED / "fixtures" / "s2fpn18_camvid_half.val_confusion.npy"
    if not path.exists():
        pytest.skip("../shared is absent")
    assert miou_from_confusion(np.load(path)) == pytest.approx(61.433, abs=5e-4)


def test_accumulates_over_updates_like_one_big_update():
    rng = np.random.default_rng(0)
    labels, preds = rng.integers(0, 5, (3, 7, 9)), rng.integers(0, 4, (3, 7, 9))
    labels[0, 0, :] = 255
    one, many = ConfusionMatrix(4), ConfusionMatrix(4)
    one.update(labels, preds)
    for lab, pred in zip(labels, preds):
        many.update(lab, pred)
    np.testing.assert_array_equal(one.matrix, many.matrix)
    # label 4 is beyond the 4 classes: skipped like the ignore index
    assert one.matrix.sum() == ((labels != 255) & (labels < 4)).sum()


def test_prediction_out_of_range_is_refused():
    cm = ConfusionMatrix(3)
    with pytest.raises(ValueError, match="outside 0..2"):
        cm.update(np.array([0, 1]), np.array([0, 3]))
    cm.update(np.array([255, 1]), np.array([7, 1]))  # under an ignored pixel it does not matter
    assert cm.matrix[1, 1] == 1 and cm.matrix.sum() == 1


def test_agreement_counts_all_pixels():
    from edgeseg.data.metrics import agreement

    assert agreement(np.array([[1, 2], [3, 4]]), np.array([[1, 2], [0, 4]])) == (3, 4)


def test_empty_matrix_has_no_miou():
    cm = ConfusionMatrix(3)
    assert np.isnan(cm.miou()) and np.isnan(cm.pixel_accuracy())
