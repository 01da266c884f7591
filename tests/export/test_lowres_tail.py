"""The argmax-lowres tail (export --tail, tune's axis): one ONNX edit, one option spelled as tune
spells it, and every consumer reading its class map as the contract says.

The model: a 1x1 conv at half resolution and a final bilinear Resize x2, the shape of S²-FPN's
head. The tail takes the argmax before that Resize and upsamples it nearest: its class map is the
head's argmax repeated 2x2, which the tests compute in numpy and ask every consumer to give back."""

import json

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgeseg.artifacts import set_onnx_metadata, write_sidecar
from edgeseg.data.contract import DatasetInfo, Preprocess
from edgeseg.errors import EdgesegError, OptionError
from edgeseg.export.io_wrap import embed_lowres_argmax
from edgeseg.export.metadata import onnx_io
from edgeseg.export.options import ContractOptions, ExportOptions, check
from tiny import tiny_camvid

H, W = 12, 16  # tiny_camvid's images


def headed(path=None, size=(H, W), dynamic=False):
    """Conv 3 -> 11 classes on a 2x average-pooled input, then Resize x2 bilinear to the input size."""
    w = np.random.default_rng(0).normal(size=(11, 3, 1, 1)).astype(np.float32)
    dims = ["h", "w"] if dynamic else list(size)
    graph = helper.make_graph(
        [helper.make_node("AveragePool", ["input"], ["pooled"], kernel_shape=[2, 2], strides=[2, 2]),
         helper.make_node("Conv", ["pooled", "w"], ["head"]),
         helper.make_node("Resize", ["head", "", "scales"], ["logits"], mode="linear")], "headed",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, *dims])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 11, *dims])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    if path is None:
        return model
    info = DatasetInfo.named("camvid")
    meta = {"kind": "onnx", "stage": "simplified", "precision": "fp32", "io": onnx_io(model),
            "preprocess": Preprocess(mean_bgr=info.mean_bgr, input_size=size).to_dict(),
            "dataset": info.to_dict(), "embedded_preprocess": False}
    set_onnx_metadata(model, meta)
    onnx.save(model, str(path))
    write_sidecar(path, meta)
    return path


def run(model, x):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"input": x})[0]


def expected(x):
    """The head's argmax, each cell repeated 2x2 (nearest upsample)."""
    model = headed()
    model.graph.output[0].name = "head"
    del model.graph.node[2]
    model.graph.output[0].type.tensor_type.shape.dim[2].dim_value = H // 2
    model.graph.output[0].type.tensor_type.shape.dim[3].dim_value = W // 2
    head = run(model, x)
    return head.argmax(1).repeat(2, axis=1).repeat(2, axis=2)


@pytest.mark.parametrize("label_type,dtype", [("uint8", np.uint8), ("int32", np.int32)])
def test_the_class_map_is_the_heads_argmax_upsampled_nearest(label_type, dtype):
    x = np.random.default_rng(1).normal(size=(1, 3, H, W)).astype(np.float32)
    model = headed()
    shape = embed_lowres_argmax(model, label_type)
    onnx.checker.check_model(model)
    labels = run(model, x)
    assert shape == [1, H, W] and labels.dtype == dtype and labels.shape == (1, H, W)
    np.testing.assert_array_equal(labels, expected(x))
    assert "Resize" in {n.op_type for n in model.graph.node} and len([n for n in model.graph.node
                                                                      if n.op_type == "ArgMax"]) == 1


def test_a_model_without_a_final_resize_or_size_is_refused(tmp_path):
    from tiny import tiny_onnx  # a 1x1 conv: no head resolution

    with pytest.raises(EdgesegError, match="not made by a final Resize"):
        embed_lowres_argmax(onnx.load(str(tiny_onnx(tmp_path / "t.onnx"))), "uint8", "t.onnx")
    with pytest.raises(OptionError, match="needs a static output size"):
        embed_lowres_argmax(headed(dynamic=True), "uint8")


@pytest.mark.parametrize("contract,tail,argmax", [({"argmax": "int32"}, "argmax", "int32"),
                                                  ({"tail": "argmax-lowres"}, "argmax-lowres", "uint8"),
                                                  ({"tail": "argmax"}, "argmax", "uint8"),
                                                  ({"tail": "logits"}, "logits", None),
                                                  ({}, None, None)])
def test_tail_and_argmax_say_one_thing(contract, tail, argmax):
    """--argmax alone is the argmax tail (as before); a class-map --tail alone is a uint8 class map."""
    c = ContractOptions(**contract)
    assert (c.tail, c.argmax) == (tail, argmax)
    check(ExportOptions(contract=c))


@pytest.mark.parametrize("contract,words,fields", [
    ({"tail": "logits", "argmax": "uint8"}, "logits outputs logits", ["contract.tail", "contract.argmax"]),
    ({"tail": "argmax-lowres", "dynamic": True}, "needs a static output size", ["contract.tail", "contract.dynamic"]),
    ({"tail": "bogus"}, "must be one of logits, argmax, argmax-lowres", ["contract.tail"]),
])
def test_what_cannot_work_is_refused_by_field(contract, words, fields):
    with pytest.raises(OptionError, match=words) as caught:
        check(ExportOptions(contract=ContractOptions(**contract)))
    assert caught.value.fields == fields


def test_export_and_tune_spell_the_tails_alike():
    from edgeseg.cli.common import flags_of
    from edgeseg.cli.export import export_cmd
    from edgeseg.export.io_wrap import TAILS
    from edgeseg.tune.options import TuneOptions
    from edgeseg.tune.tails import TAILS as TUNE_TAILS

    assert TUNE_TAILS is TAILS and TuneOptions().tails == TAILS and flags_of(export_cmd)["tail"] == "--tail"


@pytest.fixture(scope="module")
def lowres(tmp_path_factory):
    """A contract-carrying artifact with the lowres tail (as tune writes it), its CamVid tree, and
    the class maps every consumer must give back."""
    from edgeseg.tune.tails import with_tail

    root = tmp_path_factory.mktemp("lowres")
    model = with_tail(headed(root / "headed.onnx"), "argmax-lowres")
    tree = tiny_camvid(root / "cv")
    pre = Preprocess(mean_bgr=DatasetInfo.named("camvid").mean_bgr, input_size=(H, W))
    maps = {p.stem: expected(pre.apply(cv2.imread(str(p)))[None])[0] for p in sorted((tree / "val").glob("*.png"))}
    return model, tree, maps


def test_the_contract_names_the_tail(lowres):
    from edgeseg.artifacts import read_artifact

    out = read_artifact(lowres[0]).io["output"]
    assert (out["kind"], out["tail"], out["dtype"], out["shape"]) == ("labels", "argmax-lowres", "uint8", [1, H, W])


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_predict_and_eval_read_the_class_map(lowres, backend, tmp_path):
    from edgeseg.bench.visualize import colorize
    from edgeseg.cli.main import main
    from edgeseg.data.metrics import ConfusionMatrix

    model, tree, maps = lowres
    assert main(["predict", str(model), str(tree / "val"), "-o", str(tmp_path / "p"), "--backend", backend]) == 0
    palette = DatasetInfo.named("camvid").palette
    for stem, want in maps.items():
        assert np.array_equal(cv2.imread(str(tmp_path / "p" / f"{stem}_mask.png")), colorize(want, palette)), stem
    assert main(["eval", str(model), "--data", str(tree), "--backend", backend, "--json", str(tmp_path / "e.json")]) == 0
    info = DatasetInfo.named("camvid")
    cm = ConfusionMatrix(info.num_classes, info.ignore_index)
    for stem, want in maps.items():
        cm.update(cv2.imread(str(tree / "valannot" / f"{stem}.png"), cv2.IMREAD_UNCHANGED), want)
    got = json.loads((tmp_path / "e.json").read_text())
    assert got["artifacts"][0]["miou"] == pytest.approx(cm.miou(), abs=0.01)


def test_bench_runs_it_and_deepstream_refuses_it(lowres, tmp_path, capsys):
    from edgeseg.cli.main import main

    model = lowres[0]
    assert main(["bench", str(model), "--iters", "2", "--warmup", "0", "--backend", "onnxruntime"]) == 0
    capsys.readouterr()
    assert main(["deepstream", str(model), "-o", str(tmp_path / "c.txt")]) == 1
    assert "own argmax" in capsys.readouterr().err



def test_run_gives_predicts_class_maps_frame_for_frame(lowres, tmp_path):
    from edgeseg.bench.visualize import colorize
    from edgeseg.cli.main import main
    from videos import make_video

    model = lowres[0]
    frames = make_video(tmp_path / "clip.avi", count=3)
    assert main(["run", str(model), str(tmp_path / "clip.avi"), "-o", str(tmp_path / "out"), "--both", "--backend",
                 "openvino", "--model-seconds", "0.1"]) == 0
    (tmp_path / "frames").mkdir()
    for i, frame in enumerate(frames):
        cv2.imwrite(str(tmp_path / "frames" / f"f{i}.png"), frame)
    assert main(["predict", str(model), str(tmp_path / "frames"), "-o", str(tmp_path / "pred"),
                 "--backend", "openvino"]) == 0
    palette = DatasetInfo.named("camvid").palette
    for i in range(len(frames)):
        labels = cv2.imread(str(tmp_path / "out" / "masks" / f"{i:06d}.png"), cv2.IMREAD_UNCHANGED)
        assert labels.shape == frames[i].shape[:2]
        assert np.array_equal(colorize(labels, palette), cv2.imread(str(tmp_path / "pred" / f"f{i}_mask.png")))
