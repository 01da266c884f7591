"""The graph OpenVINO is handed for a Q/DQ ONNX file: int8 activations as uint8 on the same grid,
and on CPUs without VNNI int8 weights in float.

Our TensorRT-preset INT8 graph quantizes activations to int8 with zero point 0, as TensorRT
requires. OpenVINO 2026.4's CPU plugin runs that graph less faithfully than ONNX Runtime
(argmax agreement with FP32 96.8 % against 99.6 % on camvid-half val); the same graph with
every such activation quantized to uint8 with zero point 128 — exactly the same 256 values,
scale for scale, q_u8 = q_s8 + 128 — runs at 99.3 % (benchmarks/README.md, "OpenVINO on CPU").
Bisected to activations quantized after a Concat: Concat -> int8 Q/DQ -> Conv alone is wrong on
OpenVINO's CPU plugin (benchmarks/openvino_int8_concat.py); all are converted (a few % of latency).
So the runner compiles that copy, and one INT8 artifact serves TensorRT and OpenVINO alike.

On x86 CPUs without VNNI (AVX2 only: Zen 3, Skylake client, or any CPU under
ONEDNN_MAX_CPU_ISA=AVX2) a second fault: OpenVINO's int8 convolutions saturate their u8 x s8 pair
sums, so even Q/DQ -> Conv alone is wrong once weights use the full int8 range
(benchmarks/openvino_int8_isa.py). Re-quantizing weights to 7 bits avoids the overflow but changes
the model; the copy instead carries the weights dequantized to float, which OpenVINO runs as
float convolutions over the same quantized activations: ONNX Runtime's answer, at float speed.
The copy is written once into the compile cache, named by the source file's sha256 and the kind of copy.
"""

from __future__ import annotations

import logging
from pathlib import Path

from edgeseg.artifacts import sha256_file

logger = logging.getLogger(__name__)

QDQ = ("QuantizeLinear", "DequantizeLinear")


def signed_activation_zero_points(model) -> list[str]:
    """Names of the scalar int8 zero-point-0 initializers used only by activation Q/DQ nodes."""
    import numpy as np
    from onnx import TensorProto, numpy_helper

    init = {i.name: i for i in model.graph.initializer}
    users: dict[str, list] = {}
    for node in model.graph.node:
        for name in node.input:
            if name in init:
                users.setdefault(name, []).append(node)
    found = []
    for name, tensor in init.items():
        if tensor.data_type != TensorProto.INT8 or tuple(tensor.dims) not in ((), (1,)):
            continue
        if not np.all(numpy_helper.to_array(tensor) == 0):
            continue
        nodes = users.get(name, [])
        if nodes and all(n.op_type in QDQ and len(n.input) > 2 and n.input[2] == name and n.input[0] not in init
                         for n in nodes):
            found.append(name)
    return found


def openvino_copy(path: str | Path, cache: Path, float_weights: bool = False) -> Path | None:
    """Path of the copy of `path` OpenVINO compiles (made once), or None when the file needs none:
    int8 zero-point-0 activations as uint8 zero point 128, and with `float_weights` every int8
    weight dequantized to a float constant (CPUs without VNNI, see weights_saturate)."""
    import onnx

    kind = "u8act-fw" if float_weights else "u8act"
    key = sha256_file(path)[:32]  # by content: the export's scratch candidate and the file it becomes share one
    target, marker = cache / f"{key}.{kind}.onnx", cache / f"{key}.{kind}.no-int8-activations"
    if target.is_file():
        return target
    if marker.is_file():
        return None
    model = onnx.load(str(path))
    names = uint8_activations(model)
    weights = len(_weight_dequantizers(model)) if float_weights else 0
    if weights:
        model = dequantized_weights(model)
    if not names and not weights:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
        return None
    onnx.checker.check_model(model, full_check=True)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".tmp{id(model)}")
    onnx.save(model, str(tmp))
    tmp.replace(target)
    logger.debug("%s: %d int8 activation zero points as uint8 128, %d weights in float for OpenVINO -> %s",
                path, len(names), weights, target)
    return target


def uint8_activations(model) -> set[str]:
    """`model` changed in place: its int8 zero-point-0 activations as uint8 zero point 128; their names."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    names = set(signed_activation_zero_points(model))
    for tensor in model.graph.initializer:
        if tensor.name in names:
            tensor.CopyFrom(numpy_helper.from_array(np.full(tuple(tensor.dims), 128, np.uint8), tensor.name))
    retyped = {n.output[0] for n in model.graph.node if n.op_type == "QuantizeLinear" and n.input[2] in names}
    for info in model.graph.value_info:  # the exporter's recorded int8 types of those Q outputs are now uint8
        if info.name in retyped:
            info.type.tensor_type.elem_type = onnx.TensorProto.UINT8
    return names


def weights_saturate(isa: tuple[str, ...]) -> bool:
    """Whether OpenVINO's int8 convolutions saturate on an x86 CPU with these features: without
    VNNI (or AMX) oneDNN multiplies u8 x s8 pairs with vpmaddubsw, whose int16 sum clips above
    32767 (2 x 255 x 127 = 64770); ONNX Runtime computes them exactly."""
    return "AVX2" in isa and not {"VNNI", "AMX"} & set(isa)


def _weight_dequantizers(model):
    """(node, initializer) of every DequantizeLinear whose input is a constant int8 tensor (a weight)."""
    from onnx import TensorProto

    init = {i.name: i for i in model.graph.initializer}
    return [(n, init[n.input[0]]) for n in model.graph.node
            if n.op_type == "DequantizeLinear" and n.input[0] in init and init[n.input[0]].data_type == TensorProto.INT8]


def dequantized_weights(model):
    """`model` with every int8 weight dequantized to a float constant (its scale's type)."""
    import numpy as np
    from onnx import numpy_helper

    g = model.graph
    init = {i.name: i for i in g.initializer}
    for node, tensor in _weight_dequantizers(model):
        q = numpy_helper.to_array(tensor).astype(np.float32)
        scale = numpy_helper.to_array(init[node.input[1]])
        zero = numpy_helper.to_array(init[node.input[2]]).astype(np.float32) if len(node.input) > 2 else 0.0
        axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
        shape = [1] * q.ndim
        if np.ndim(scale):
            shape[axis] = -1
        w = (q - np.reshape(zero, shape)) * np.reshape(scale.astype(np.float32), shape)
        g.initializer.append(numpy_helper.from_array(w.astype(scale.dtype), node.output[0]))
        g.node.remove(node)
    used = {name for n in g.node for name in n.input}
    for t in list(g.initializer):
        if t.name not in used and t.name not in {o.name for o in g.output}:
            g.initializer.remove(t)
    return model
