"""evaluate() on hand-built ONNX models whose predictions are known exactly.

The images carry their label in the blue channel (B = 20 x class), so a model that reads B
back is a perfect segmenter, and small changes to it give drops and disagreements that can
be computed by hand.
"""

import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgeseg.artifacts import write_sidecar
from edgeseg.bench.accuracy import evaluate, feeder, predict_labels, to_labels
from edgeseg.data.contract import DatasetInfo, Preprocess
from edgeseg.data.datasets import open_dataset
from edgeseg.errors import EdgesegError
from edgeseg.runtime import open_runner

CAMVID = DatasetInfo.named("camvid")
K, VOID = CAMVID.num_classes, CAMVID.ignore_index


def _save(path, nodes, inp, out, inits, *, size=None, embedded=False, classes=K):
    graph = helper.make_graph(nodes, "m", [inp], [out], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    info = CAMVID if classes == K else DatasetInfo.generic(classes)
    pre = Preprocess(mean_bgr=(0.0, 0.0, 0.0), channel_order="BGR", input_size=size)
    write_sidecar(path, {"precision": "fp32", "preprocess": pre.to_dict(), "dataset": info.to_dict(),
                         "embedded_preprocess": embedded})
    return path


def label_model(path, *, clip=False, logits=False, embedded=False, size=None, batch=None):
    """Reads the class back from B: labels (N, H, W) int64, or one-hot logits (N, K, H, W).

    clip: void (11) comes out as 10; one-hot logits turn void into class 0.
    """
    h, w = size or (None, None)
    axis = 3 if embedded else 1
    shape = [batch, h, w, 3] if embedded else [batch, 3, h, w]
    nodes = [helper.make_node("Cast", ["input"], ["f"], to=TensorProto.FLOAT),
             helper.make_node("Slice", ["f", "zero", "one", "axis"], ["b"]),
             helper.make_node("Div", ["b", "twenty"], ["q"]),
             helper.make_node("Min" if clip else "Identity", ["q", "ten"] if clip else ["q"], ["c"]),
             helper.make_node("Cast", ["c"], ["i"], to=TensorProto.INT64),
             helper.make_node("Squeeze", ["i", "axis"], ["labels"])]
    out = helper.make_tensor_value_info("labels", TensorProto.INT64, [batch, h, w])
    inits = [numpy_helper.from_array(np.array(v, dtype=d), n) for n, v, d in
             (("zero", [0], np.int64), ("one", [1], np.int64), ("axis", [axis], np.int64),
              ("twenty", 20.0, np.float32), ("ten", 10.0, np.float32), ("depth", [K], np.int64),
              ("onoff", [0.0, 1.0], np.float32))]
    if logits:
        nodes.append(helper.make_node("OneHot", ["labels", "depth", "onoff"], ["logits"], axis=1))
        out = helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch, K, h, w])
    dtype = TensorProto.UINT8 if embedded else TensorProto.FLOAT
    return _save(path, nodes, helper.make_tensor_value_info("input", dtype, shape), out, inits,
                 size=size, embedded=embedded)


def const_model(path, cls, classes=K):
    """Predicts `cls` everywhere (zero 1x1 conv, one-hot bias)."""
    w = numpy_helper.from_array(np.zeros((classes, 3, 1, 1), np.float32), "w")
    b = numpy_helper.from_array(np.eye(classes, dtype=np.float32)[cls], "b")
    return _save(path, [helper.make_node("Conv", ["input", "w", "b"], ["logits"])],
                 helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, 3, None, None]),
                 helper.make_tensor_value_info("logits", TensorProto.FLOAT, [None, classes, None, None]), [w, b],
                 classes=classes)


def camvid_tree(root, sizes, seed=0):
    """CamVid layout whose images encode their labels in B; about 10% of the pixels are void."""
    rng = np.random.default_rng(seed)
    for i, (h, w) in enumerate(sizes):
        label = rng.integers(0, K, (h, w), dtype=np.uint8)
        label[rng.random((h, w)) < 0.1] = VOID
        image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        image[:, :, 0] = label * 20
        for sub, arr in (("val", image), ("valannot", label)):
            (root / sub).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / sub / f"im{i}.png"), arr)
    return root


def run(paths, root, **kw):
    runners = [open_runner(p).activate() for p in paths]
    try:
        return evaluate(runners, open_dataset(root, "camvid", "val"), **kw).to_dict()
    finally:
        for r in runners:
            r.deactivate()


def labels_of(root):
    return [cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in sorted((root / "valannot").glob("*.png"))]


def test_perfect_model_void_ignored_and_agreement_counts_every_pixel(tmp_path):
    root = camvid_tree(tmp_path / "cv", [(12, 16)] * 3)
    perfect, clipped = label_model(tmp_path / "p.onnx"), label_model(tmp_path / "c.onnx", clip=True)
    report = run([perfect, clipped, label_model(tmp_path / "oh.onnx", logits=True)], root)
    ref, clip, onehot = report["artifacts"]
    assert report["images"] == 3 and ref["miou"] == 100.0 and ref["pixel_acc"] == 100.0
    assert ref["miou_drop"] is None and ref["agreement"] is None
    # clip and one-hot differ from the reference only on void pixels: no drop, yet less agreement
    void = np.mean([(lab == VOID).mean() for lab in labels_of(root)])
    for row in (clip, onehot):
        assert row["miou"] == 100.0 and row["miou_drop"] == 0.0
        assert row["agreement"] == pytest.approx(100 * (1 - void), abs=1e-3)
    assert set(ref["per_class_iou"]) == set(CAMVID.classes)
    assert {"path", "backend", "precision", "miou", "pixel_acc", "per_class_iou", "miou_drop", "agreement",
            "seconds"} <= set(ref)


def test_constant_model_matches_hand_computed_miou(tmp_path):
    root = camvid_tree(tmp_path / "cv", [(10, 14)] * 2, seed=3)
    report = run([label_model(tmp_path / "p.onnx"), const_model(tmp_path / "k.onnx", 3)], root)
    labels = np.concatenate([lab.ravel() for lab in labels_of(root)])
    valid = labels[labels != VOID]
    present = set(valid.tolist()) | {3}
    expected = (valid == 3).sum() / valid.size / len(present) * 100  # only Road has IoU > 0
    row = report["artifacts"][1]
    assert row["miou"] == pytest.approx(expected, abs=1e-4)
    assert row["miou_drop"] == pytest.approx(100 - expected, abs=1e-4)
    assert row["pixel_acc"] == pytest.approx((valid == 3).mean() * 100, abs=1e-4)
    assert row["per_class_iou"]["Sky"] == 0.0


def test_class_absent_from_split_has_no_iou(tmp_path):
    root = camvid_tree(tmp_path / "cv", [(8, 8)])
    label = cv2.imread(str(root / "valannot" / "im0.png"), cv2.IMREAD_UNCHANGED)
    label[label == 10] = 9  # no Bicyclist in ground truth (nor, through B, in the prediction)
    image = cv2.imread(str(root / "val" / "im0.png"))
    image[:, :, 0] = label * 20
    cv2.imwrite(str(root / "valannot" / "im0.png"), label)
    cv2.imwrite(str(root / "val" / "im0.png"), image)
    row = run([label_model(tmp_path / "p.onnx")], root)["artifacts"][0]
    assert row["per_class_iou"]["Bicyclist"] is None and row["miou"] == 100.0


def test_batches_give_the_same_confusion_as_single_images(tmp_path):
    root = camvid_tree(tmp_path / "cv", [(12, 16), (12, 16), (8, 10), (12, 16), (12, 16)])  # sizes mixed
    paths = [label_model(tmp_path / "p.onnx"), const_model(tmp_path / "k.onnx", 5),
             label_model(tmp_path / "b1.onnx", logits=True, batch=1)]  # fixed batch 1: split up
    one, four = run(paths, root), run(paths, root, batch=4)
    assert four["batch"] == 4
    for a, b in zip(one["artifacts"], four["artifacts"]):
        assert a["confusion"] == b["confusion"] and a["agreement"] == b["agreement"]


def test_fixed_size_model_in_both_resize_modes(tmp_path):
    root = tmp_path / "cv"
    for sub, arr in (("val", np.dstack([np.full((12, 16), 60, np.uint8)] * 3)), ("valannot", np.full((12, 16), 3, np.uint8))):
        (root / sub).mkdir(parents=True)
        cv2.imwrite(str(root / sub / "a.png"), arr)
    for embedded in (False, True):
        model = label_model(tmp_path / f"s{embedded}.onnx", size=(6, 8), batch=1, embedded=embedded)
        logits_mode = run([model], root)["artifacts"][0]
        labels_mode = run([model], root, resize="labels")["artifacts"][0]
        assert np.array(logits_mode["confusion"])[3, 3] == 12 * 16
        assert np.array(labels_mode["confusion"])[3, 3] == 6 * 8
        assert logits_mode["miou"] == labels_mode["miou"] == 100.0


def test_logits_resize_is_bilinear_per_class_then_argmax():
    logits = np.random.default_rng(0).normal(size=(19, 5, 7)).astype(np.float32)
    per_class = np.stack([cv2.resize(c, (20, 13), interpolation=cv2.INTER_LINEAR) for c in logits])
    np.testing.assert_array_equal(to_labels(logits, (13, 20)), per_class.argmax(0))
    np.testing.assert_array_equal(to_labels(logits, (13, 20), "labels"), logits.argmax(0))
    labels = np.array([[1, 2], [3, 4]], np.int64)
    np.testing.assert_array_equal(to_labels(labels, (4, 4)), labels.repeat(2, 0).repeat(2, 1))


def test_predict_labels_at_image_size(tmp_path):
    image = np.zeros((9, 11, 3), np.uint8)
    image[:, :, 0] = 60
    with open_runner(label_model(tmp_path / "s.onnx", size=(4, 4), batch=1)) as runner:
        out = predict_labels(runner, image)
    assert out.shape == (9, 11) and (out == 3).all()


def test_preprocessing_shared_by_runners_with_one_contract(tmp_path):
    a, b = (open_runner(label_model(tmp_path / f"{n}.onnx")) for n in "ab")
    c = open_runner(label_model(tmp_path / "c.onnx", embedded=True))
    assert feeder(a)[0] == feeder(b)[0] != feeder(c)[0]


def test_errors(tmp_path):
    root = camvid_tree(tmp_path / "cv", [(8, 8)])
    with pytest.raises(EdgesegError, match="predicts 5 classes; the camvid dataset has 11"):
        run([const_model(tmp_path / "k5.onnx", 0, classes=5)], root)
    plain = label_model(tmp_path / "plain.onnx")
    plain.with_name("plain.onnx.json").unlink()
    with pytest.raises(EdgesegError, match="no preprocessing contract"):
        run([plain], root)
    with pytest.raises(EdgesegError, match="--resize"):
        run([label_model(tmp_path / "p.onnx")], root, resize="nearest")
    (root / "valannot" / "im0.png").unlink()
    with pytest.raises(EdgesegError, match="has no label"):
        run([label_model(tmp_path / "p.onnx")], root)
