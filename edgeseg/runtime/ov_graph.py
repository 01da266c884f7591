"""The one graph tweak the OpenVINO runner makes: signed int8 activations as uint8 on the same grid.

Our TensorRT-preset INT8 graph quantizes activations to int8 with zero point 0, as TensorRT
requires. OpenVINO 2026.4's CPU plugin runs that graph less faithfully than ONNX Runtime
(argmax agreement with FP32 96.8 % against 99.6 % on camvid-half val); the same graph with
every such activation quantized to uint8 with zero point 128 — exactly the same 256 values,
scale for scale, q_u8 = q_s8 + 128 — runs at 99.3 % (benchmarks/README.md, "OpenVINO on CPU").
Bisected to activations quantized after a Concat: Concat -> int8 Q/DQ -> Conv alone is wrong on
OpenVINO's CPU plugin (benchmarks/openvino_int8_concat.py); all are converted (a few % of latency).
So the runner compiles that copy, and one INT8 artifact serves TensorRT and OpenVINO alike.
The copy is written once into the compile cache, named by the source file's path, size and time.
"""

from __future__ import annotations

import logging
from pathlib import Path

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


def uint8_copy(path: str | Path, cache: Path) -> Path | None:
    """Path of the same-grid uint8 copy of `path` (made once), or None when it has no int8 activations."""
    import hashlib

    import numpy as np
    import onnx
    from onnx import numpy_helper

    st = Path(path).stat()
    key = hashlib.sha256(f"{Path(path).resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:32]
    target, marker = cache / f"{key}.u8act.onnx", cache / f"{key}.no-int8-activations"
    if target.is_file():
        return target
    if marker.is_file():
        return None
    model = onnx.load(str(path))
    names = set(signed_activation_zero_points(model))
    if not names:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
        return None
    for tensor in model.graph.initializer:
        if tensor.name in names:
            shape = tuple(tensor.dims)
            tensor.CopyFrom(numpy_helper.from_array(np.full(shape, 128, np.uint8), tensor.name))
    onnx.checker.check_model(model, full_check=True)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".tmp{id(model)}")
    onnx.save(model, str(tmp))
    tmp.replace(target)
    logger.info("%s: %d int8 activation zero points as uint8 128 for OpenVINO -> %s", path, len(names), target)
    return target
