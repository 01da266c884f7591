"""DLA reports read from build logs, in the formats TensorRT and trtexec print them."""

from edgeseg.engine.dla import gpu_layer_type, parse_log, strip_prefix

# trtexec --verbose on a Jetson (TensorRT 10.3), S²-FPN18 INT8, --useDLACore=0 --allowGPUFallback
TRTEXEC_10 = """\
[11/02/2024-10:15:01] [I] [TRT] Local timing cache in use. Profiling results in this builder pass will not be stored.
[11/02/2024-10:15:02] [W] [TRT] /apf1/sa/MatMul: MatMul is unsupported on DLA, relax constraints or use Convolution layer instead.
[11/02/2024-10:15:02] [W] [TRT] Layer '/apf1/sa/MatMul' (MATRIX_MULTIPLY): Unsupported on DLA. Switching this layer's device type to GPU.
[11/02/2024-10:15:02] [W] [TRT] Layer '/apf1/sa/Softmax' (SOFTMAX): Unsupported on DLA. Switching this layer's device type to GPU.
[11/02/2024-10:15:02] [W] [TRT] /gfu4/Slice_1: DLA only supports slicing 4 dimensional tensors.
[11/02/2024-10:15:02] [W] [TRT] Layer '/gfu4/Slice_1' (SLICE): Unsupported on DLA. Switching this layer's device type to GPU.
[11/02/2024-10:15:03] [I] [TRT] ---------- Layers Running on DLA ----------
[11/02/2024-10:15:03] [I] [TRT] [DlaLayer] {ForeignNode[/conv1_x/Conv.../conv5_x/conv5_x.1/relu_1/Relu]}
[11/02/2024-10:15:03] [I] [TRT] [DlaLayer] {ForeignNode[/apf1/conv_low/Conv.../apf1/Mul]}
[11/02/2024-10:15:03] [I] [TRT] ---------- Layers Running on GPU ----------
[11/02/2024-10:15:03] [I] [TRT] [GpuLayer] MATRIX_MULTIPLY: /apf1/sa/MatMul
[11/02/2024-10:15:03] [I] [TRT] [GpuLayer] SOFTMAX: /apf1/sa/Softmax
[11/02/2024-10:15:03] [I] [TRT] [GpuLayer] SLICE: /gfu4/Slice_1
[11/02/2024-10:15:03] [I] [TRT] [GpuLayer] RESIZE: /Resize
[11/02/2024-10:15:05] [I] [TRT] Detected 1 inputs and 1 output network tensors.
"""

# What edgeseg's own logger receives: bare messages, no timestamps; a dynamic profile moves all to the GPU.
BARE_DYNAMIC = [
    "DLA requests all profiles have same min, max, and opt value. All dla layers are falling back to GPU",
    "---------- Layers Running on DLA ----------",
    "---------- Layers Running on GPU ----------",
    "[GpuLayer] CONVOLUTION: /conv1_x/Conv + /conv1_x/Relu",
    "[GpuLayer] RESIZE: /Resize",
]

# TensorRT 8.x python logger: GPU entries without a type, older fallback wording
TRT8 = """\
[TRT] [W] Default DLA is enabled but layer /ssam/Transpose is not supported on DLA, falling back to GPU.
[TRT] [W] DLA only supports FP16 and Int8 precision type. Switching (Unnamed Layer* 275) [Gather] device type to GPU.
[TRT] [I] ---------- Layers Running on DLA ----------
[TRT] [I] [DlaLayer] {ForeignNode[/conv1_x/Conv.../apf4/Add]}
[TRT] [I] ---------- Layers Running on GPU ----------
[TRT] [I] [GpuLayer] /ssam/Transpose
[TRT] [I] [GpuLayer] (Unnamed Layer* 275) [Gather]
"""

# DeepStream / TensorRT 7 (nvinfer plugin): one comma-separated line per section
DEEPSTREAM = """\
INFO: [TRT]: --------------- Layers running on DLA:
INFO: [TRT]: {conv1_x,bn1,relu}, {layer1.0.conv1,layer1.0.bn1}, {head,Resize_1},
INFO: [TRT]: --------------- Layers running on GPU:
INFO: [TRT]: Softmax_12, (Unnamed Layer* 5) [Constant] + (Unnamed Layer* 6) [Shuffle], Transpose_7,
INFO: [TRT]: Some tactics do not have sufficient workspace memory to run.
"""


def test_trtexec_log_sections_and_reasons():
    report = parse_log(TRTEXEC_10)
    assert report.dla == ["{ForeignNode[/conv1_x/Conv.../conv5_x/conv5_x.1/relu_1/Relu]}",
                          "{ForeignNode[/apf1/conv_low/Conv.../apf1/Mul]}"]
    assert report.gpu == ["MATRIX_MULTIPLY: /apf1/sa/MatMul", "SOFTMAX: /apf1/sa/Softmax", "SLICE: /gfu4/Slice_1",
                          "RESIZE: /Resize"]
    assert [(f.layer, f.type, f.reason) for f in report.fallbacks] == [
        ("/apf1/sa/MatMul", "MATRIX_MULTIPLY", "MatMul is unsupported on DLA, relax constraints or use Convolution layer instead"),
        ("/apf1/sa/Softmax", "SOFTMAX", None),
        ("/gfu4/Slice_1", "SLICE", "DLA only supports slicing 4 dimensional tensors"),
    ]
    assert report.notes == []
    assert report.summary == "2 DLA subgraph(s), 4 layer(s) on the GPU (3 moved off the DLA: unsupported there)"


def test_all_layers_falling_back_is_reported():
    report = parse_log(BARE_DYNAMIC)
    assert report.dla == [] and len(report.gpu) == 2
    assert report.notes == [BARE_DYNAMIC[0]]
    assert report.summary.endswith("nothing runs on the DLA")
    d = report.to_dict()
    assert d["notes"] == [BARE_DYNAMIC[0]] and d["gpu_layers"][1] == "RESIZE: /Resize"


def test_tensorrt_8_wording():
    report = parse_log(TRT8.splitlines())
    assert report.dla == ["{ForeignNode[/conv1_x/Conv.../apf4/Add]}"]
    assert report.gpu == ["/ssam/Transpose", "(Unnamed Layer* 275) [Gather]"]
    assert [(f.layer, f.reason) for f in report.fallbacks] == [
        ("/ssam/Transpose", None), ("(Unnamed Layer* 275) [Gather]", "DLA only supports FP16 and Int8 precision type")]


def test_deepstream_comma_lists():
    report = parse_log(DEEPSTREAM)
    assert report.dla == ["{conv1_x,bn1,relu}", "{layer1.0.conv1,layer1.0.bn1}", "{head,Resize_1}"]
    assert report.gpu == ["Softmax_12", "(Unnamed Layer* 5) [Constant] + (Unnamed Layer* 6) [Shuffle]", "Transpose_7"]


def test_helpers():
    assert strip_prefix("[11/02/2024-10:15:03] [I] [TRT] [DlaLayer] {ForeignNode[a...b]}") == "[DlaLayer] {ForeignNode[a...b]}"
    assert strip_prefix("INFO: [TRT]: hello") == "hello" and strip_prefix("[TRT] [W] x") == "x"
    assert gpu_layer_type("RESIZE: /Resize") == ("RESIZE", "/Resize")
    assert gpu_layer_type("/model/conv1/Conv + /model/relu/Relu") == (None, "/model/conv1/Conv + /model/relu/Relu")
    assert parse_log([]).summary == "0 DLA subgraph(s), 0 layer(s) on the GPU; nothing runs on the DLA"
