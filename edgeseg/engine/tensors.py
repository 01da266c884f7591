"""An engine's I/O tensors by name (the API TensorRT 8.5+ shares with 10 and 11), as plain data."""

from __future__ import annotations

import numpy as np

from edgeseg.errors import EdgesegError

# trt.DataType member name -> the dtype name edgeseg metadata uses.
DTYPES = {"FLOAT": "float32", "HALF": "float16", "BF16": "bfloat16", "INT8": "int8", "UINT8": "uint8",
          "INT32": "int32", "INT64": "int64", "BOOL": "bool", "FP8": "float8"}
_NUMPY = {"float32": np.float32, "float16": np.float16, "int8": np.int8, "uint8": np.uint8, "int32": np.int32,
          "int64": np.int64, "bool": np.bool_}


def dtype_name(trt_dtype) -> str:
    name = getattr(trt_dtype, "name", str(trt_dtype).split(".")[-1])
    return DTYPES.get(name, name.lower())


def numpy_dtype(name: str, tensor: str = "tensor"):
    try:
        return _NUMPY[name]
    except KeyError:
        raise EdgesegError(f"engine {tensor} has dtype {name}, which edgeseg cannot feed or read from numpy") from None


def describe(trt, engine) -> list[dict]:
    """[{'name', 'mode': 'input'|'output', 'dtype', 'shape' (None where dynamic)}] in engine order."""
    tensors = []
    for i in range(engine.num_io_tensors):
        name = engine.get_tensor_name(i)
        is_input = engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
        shape = [int(d) if int(d) >= 0 else None for d in engine.get_tensor_shape(name)]
        tensors.append({"name": name, "mode": "input" if is_input else "output",
                        "dtype": dtype_name(engine.get_tensor_dtype(name)), "shape": shape})
    return tensors


def describe_network(trt, network) -> list[dict]:
    """The same description from a parsed network: what an ahead-of-time build (no GPU) can tell."""
    tensors = []
    for mode, count, get in (("input", network.num_inputs, network.get_input),
                             ("output", network.num_outputs, network.get_output)):
        for i in range(count):
            t = get(i)
            tensors.append({"name": t.name, "mode": mode, "dtype": dtype_name(t.dtype),
                            "shape": [int(d) if int(d) >= 0 else None for d in t.shape]})
    return tensors
