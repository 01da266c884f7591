"""A small convnet with the op mix of S²-FPN (conv, PReLU, residual add, concat, sigmoid gate,
attention matmul + softmax, resize) exported to ONNX for the quantization tests."""

from __future__ import annotations

import numpy as np
import pytest


def _net():
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 16, 3, 2, 1)
            self.act = nn.PReLU(16)
            self.a = nn.Conv2d(16, 16, 3, 1, 1)
            self.b = nn.Conv2d(16, 16, 3, 1, 1)
            self.gate = nn.Conv2d(32, 16, 1)
            self.q = nn.Conv2d(16, 16, 1)
            self.head = nn.Conv2d(16, 5, 1)

        def forward(self, x):
            x = self.act(self.stem(x))
            r = F.relu(self.a(x) + x)  # residual add
            cat = torch.cat([r, self.b(r)], 1)
            g = torch.sigmoid(self.gate(cat)) * r
            q = self.q(g).flatten(2)  # (B, C, HW)
            att = torch.softmax(torch.bmm(q.transpose(1, 2), q), dim=1)
            g = g + torch.bmm(q, att).view_as(g)
            out = self.head(g)
            return F.interpolate(out, scale_factor=2.0, mode="bilinear", align_corners=False)

    torch.manual_seed(0)
    return Net().eval()


@pytest.fixture(scope="session")
def small_onnx(tmp_path_factory):
    import warnings

    import onnx
    import torch

    path = tmp_path_factory.mktemp("q") / "net.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(_net(), (torch.zeros(1, 3, 32, 48),), str(path), dynamo=False, opset_version=17,
                          input_names=["input"], output_names=["logits"])
    return onnx.load(str(path))


@pytest.fixture(scope="session")
def batches():
    rng = np.random.default_rng(0)
    return [rng.normal(0, 50, (1, 3, 32, 48)).astype(np.float32) for _ in range(8)]


@pytest.fixture(scope="session")
def rtx_build():
    """parse_and_build(path, ccs) with TensorRT-RTX on the CPU: parser errors, layer kinds, AOT plan built."""
    trt = pytest.importorskip("tensorrt_rtx")

    def parse_and_build(path, ccs=("SM89", "SM120")) -> dict:
        logger = trt.Logger(trt.Logger.ERROR)
        builder = trt.Builder(logger)
        network = builder.create_network(0)
        parser = trt.OnnxParser(network, logger)
        parsed = parser.parse_from_file(str(path))
        errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
        layers: dict[str, int] = {}
        for i in range(network.num_layers):
            kind = str(network.get_layer(i).type).rsplit(".", 1)[-1]
            layers[kind] = layers.get(kind, 0) + 1
        plan = None
        if parsed:
            config = builder.create_builder_config()
            config.num_compute_capabilities = len(ccs)
            for i, cc in enumerate(ccs):
                config.set_compute_capability(getattr(trt.ComputeCapability, cc), i)
            plan = builder.build_serialized_network(network, config)
        return {"parsed": parsed, "errors": errors, "layers": layers, "built": plan is not None}

    return parse_and_build


@pytest.fixture(scope="session")
def graph_types():
    """(float_compute_types, types): the float input types of each compute op kind, every tensor's type."""
    from onnx import TensorProto

    compute = {"Conv", "MatMul", "Mul", "Add", "Sigmoid", "Softmax", "PRelu", "Relu", "Concat", "ReduceMean"}

    def types(model) -> dict:
        import onnx

        g = onnx.shape_inference.infer_shapes(model, strict_mode=True).graph
        out = {v.name: v.type.tensor_type.elem_type for v in list(g.value_info) + list(g.input) + list(g.output)}
        out.update({i.name: i.data_type for i in g.initializer})
        return out

    def float_compute_types(model) -> dict:
        known = types(model)
        seen: dict[str, set] = {}
        for n in model.graph.node:
            if n.op_type in compute:
                for t in n.input:
                    if known.get(t) in (TensorProto.FLOAT, TensorProto.FLOAT16):
                        seen.setdefault(n.op_type, set()).add(known[t])
        return seen

    return float_compute_types, types


@pytest.fixture
def calib_images(tmp_path):
    """Four random 32x48 calibration pictures on disk (seeded), for quantize() with a CalibSet."""
    import cv2

    rng = np.random.default_rng(1)
    paths = tuple(tmp_path / f"c{i}.png" for i in range(4))
    for p in paths:
        cv2.imwrite(str(p), rng.integers(0, 256, (32, 48, 3), dtype=np.uint8))
    return paths
