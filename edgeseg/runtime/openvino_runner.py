"""OpenVINO runner: our ONNX files (FP32, FP16, INT8 Q/DQ) compiled by OpenVINO, CPU by default.

OpenVINO runs a Q/DQ graph with its own int8 kernels (fast on VNNI CPUs, where ONNX Runtime's
are not), so accuracy must be measured through this runner, not assumed from ONNX Runtime's.
Two settings decide what runs:
- `PERFORMANCE_HINT LATENCY` and `INFERENCE_NUM_THREADS`: batch-1 latency on the threads asked.
- `INFERENCE_PRECISION_HINT`: on CPUs with bf16 instructions (AVX512_BF16, AMX) OpenVINO runs
  every float layer in bfloat16 unless told otherwise. That is not the artifact the user
  exported, so float layers run in f32 unless `precision_hint` says "bf16" (or "auto": OpenVINO's),
  or the artifact itself asks for it (`openvino.precision_hint` in an IR's metadata, as `edgeseg tune`
  writes a BF16 pick): the file decides what runs, an explicit option overrides it.
- int8 activations with zero point 0 (our TensorRT preset) are compiled as uint8 with zero point
  128, the same grid, which OpenVINO runs faithfully; on a CPU without VNNI the int8 weights are
  compiled as float, since OpenVINO's int8 convolutions saturate there (see ov_graph.py);
  `uint8_activations=False` compiles the file as it is.
The compiled model is cached (`CACHE_DIR`, per user), so the second load skips compilation.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import numpy as np

from edgeseg.errors import EdgesegError, require
from edgeseg.runtime.base import IOSpec, Runner, Timing, contract_mismatch
from edgeseg.runtime.class_map import ov_with_class_map
from edgeseg.runtime.cache_trim import max_bytes, trim
from edgeseg.platform import hardware
from edgeseg.runtime.ov_graph import openvino_copy, weights_saturate

logger = logging.getLogger(__name__)

VIRTUAL = ("AUTO", "HETERO", "MULTI", "BATCH")  # devices that dispatch to others, never listed as available
PRECISIONS = {"f32": "f32", "bf16": "bf16", "f16": "f16", "auto": None}
_KIND = {"float32": "logits", "float16": "logits"}


def cache_dir() -> Path:
    """Where compiled models are kept: $EDGESEG_CACHE_DIR, else the user's cache folder."""
    root = os.environ.get("EDGESEG_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "edgeseg")
    return Path(root) / "openvino"


_WHERE = re.compile(r"^(Exception from|Check '.*' failed at) \S+:\d+:?$")


def cause(exc: BaseException) -> str:
    """OpenVINO's message without its stack of source locations ("Exception from src/...cpp:132:"),
    on one line: what is left is the cause."""
    lines = [ln.strip().rstrip(":") for ln in str(exc).splitlines() if ln.strip() and not _WHERE.match(ln.strip())]
    return "; ".join(lines)[:400] or type(exc).__name__


class OpenVINORunner(Runner):
    backend = "openvino"

    def __init__(self, path, ov_device: str = "CPU", threads: int | None = None, precision_hint: str | None = None,
                 cache: bool = True, uint8_activations: bool = True, class_map: bool = False,
                 streams: int | None = None):
        super().__init__(path)
        if precision_hint is not None and precision_hint not in PRECISIONS:
            raise EdgesegError(f"unknown OpenVINO precision {precision_hint!r}; choose one of {', '.join(PRECISIONS)}")
        self.ov_device, self.threads, self.precision_hint, self.cache = ov_device.upper(), threads, precision_hint, cache
        self.uint8_activations, self.class_map = uint8_activations, class_map
        self.streams = int(streams) if streams else None  # compiled for throughput: N streams, requests in flight
        self.compiled = self.request = None
        self.load_s: float | None = None
        self.compiled_from: str | None = None  # the file OpenVINO compiled (a same-grid uint8 copy, or the artifact)
        self._pool: list = []  # asynchronous requests for `submit`, made on first use
        self._turn = 0

    @property
    def hint(self) -> str:
        """The float precision asked for: the option, else the artifact's own, else f32."""
        if self.precision_hint is not None:
            return self.precision_hint
        ir = Path(self.path).suffix.lower() == ".xml" and Path(self.path).exists()  # only IRs carry one
        own = (self.metadata.get("openvino") or {}).get("precision_hint") if ir else None
        return own if own in PRECISIONS else "f32"

    def properties(self) -> dict:
        """The compile-time properties this runner asks for (also what tests check)."""
        props = {"PERFORMANCE_HINT": "LATENCY"}
        if self.streams:  # throughput: each stream runs its own request on its share of the threads
            props = {"PERFORMANCE_HINT": "THROUGHPUT", "NUM_STREAMS": self.streams}
        if self.cache:
            props["CACHE_DIR"] = str(cache_dir())
        if self.ov_device.startswith("CPU"):  # thread count and precision are CPU plugin properties
            if self.threads:
                props["INFERENCE_NUM_THREADS"] = int(self.threads)
            if PRECISIONS[self.hint]:
                props["INFERENCE_PRECISION_HINT"] = PRECISIONS[self.hint]
        return props

    def _activate(self) -> None:
        import time

        ov = require("openvino", "openvino")
        if not Path(self.path).is_file():
            raise EdgesegError(f"{self.path}: no such model file")
        self._refuse_saturating_ir()
        core = ov.Core()
        self._check_device(core)
        props = self.properties()
        cap = max_bytes() if "CACHE_DIR" in props else None  # a bad EDGESEG_CACHE_MAX_GB refused before compiling
        if "CACHE_DIR" in props:
            Path(props["CACHE_DIR"]).mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        self.compiled_from = self._source()
        try:  # compile from the path, so a cache hit skips reading the ONNX file too
            self.compiled = core.compile_model(self._graph(core), self.ov_device, props)
        except Exception as exc:
            raise EdgesegError(f"{self.path}: OpenVINO cannot compile it for {self.ov_device} ({cause(exc)})") from None
        self.load_s = time.perf_counter() - t0
        logger.debug("%s compiled for %s in %.2f s", self.path, self.ov_device, self.load_s)
        if "CACHE_DIR" in props:
            trim(cache_dir(), cap)  # LRU under EDGESEG_CACHE_MAX_GB (docs/openvino-cache.md)
        if len(self.compiled.inputs) != 1:
            raise EdgesegError(f"{self.path}: {len(self.compiled.inputs)} inputs; edgeseg models take one image input")
        self.request = self.compiled.create_infer_request()
        if self.streams:  # as many requests in flight as OpenVINO finds optimal for the streams
            self.async_depth = max(int(self.compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")), self.streams)
        self._input, self._output = self.compiled.inputs[0], self.compiled.outputs[0]
        self._dtype = self._input.get_element_type().to_dtype()
        shape = [d.get_length() if d.is_static else "?" for d in self._input.get_partial_shape()]
        problem = contract_mismatch(self.metadata, self._input.get_element_type().get_type_name() == "u8",
                                    self._input.get_element_type().get_type_name(), shape)
        if problem:
            self.compiled = self.request = None
            raise EdgesegError(f"{self.path}: {problem}")

    def _graph(self, core):
        """The file to compile, or with `class_map` the model read from it with the argmax appended
        (runtime/class_map.py; the compile cache keys it by its content)."""
        if not self.class_map:
            return self.compiled_from
        model = core.read_model(self.compiled_from)
        return ov_with_class_map(model) or model

    def _source(self) -> str:
        if not self.uint8_activations or Path(self.path).suffix.lower() != ".onnx":
            return self.path
        float_weights = self.ov_device.startswith("CPU") and weights_saturate(hardware.this_isa())
        try:
            copy = openvino_copy(self.path, cache_dir() / "graphs", float_weights)
        except Exception as exc:  # not a readable ONNX file: let OpenVINO say what is wrong with it
            logger.warning("%s: compiled as it is, no uint8-activation copy (%s)", self.path,
                           str(exc).splitlines()[0][:200])
            return self.path
        if copy and float_weights and "-fw." in copy.name:
            logger.warning("%s: this CPU has no VNNI, where OpenVINO's int8 convolutions saturate: its weights run "
                           "in float (right, not int8-fast); for int8 speed here use NNCF's IR (edgeseg tune)",
                           Path(self.path).name)
        return str(copy) if copy else self.path

    def _refuse_saturating_ir(self) -> None:
        """An IR converted from our Q/DQ INT8 ONNX keeps its int8 weights, which OpenVINO's int8
        convolutions saturate on a CPU without VNNI (ov_graph.weights_saturate): refused before
        running wrong; the ONNX file it came from runs right here (its weights compiled as float)."""
        meta = self.metadata if Path(self.path).suffix.lower() == ".xml" else {}
        if (meta.get("stage") == "openvino" and meta.get("precision") == "int8" and self.ov_device.startswith("CPU")
                and weights_saturate(hardware.this_isa())):
            parent = (meta.get("provenance") or {}).get("parent") or {}
            source = Path(parent["path"]).name if parent.get("path") else "the INT8 .onnx it came from"
            raise EdgesegError(f"{self.path}: an INT8 IR of our Q/DQ graph runs wrong on this CPU without VNNI "
                               f"({'/'.join(hardware.this_isa())}: OpenVINO's int8 convolutions saturate); run "
                               f"{source} instead, or NNCF's IR (edgeseg tune)")

    def _check_device(self, core) -> None:
        base = self.ov_device.split(":")[0].split(".")[0]
        available = core.available_devices
        if base in VIRTUAL or any(d.split(".")[0] == base for d in available):
            return
        raise EdgesegError(f"OpenVINO device {self.ov_device} is not available here; available: {', '.join(available)}")

    def _infer(self, batch: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(batch, dtype=self._dtype)
        out = self.request.infer({0: x})[self._output]  # a copy: the request's buffer is reused
        self.last_timing = Timing()
        return out.astype(np.float32) if out.dtype == np.float16 else out

    async_depth = 2  # one request computing while the next is filled: all a LATENCY-hinted model overlaps

    def submit(self, batch: np.ndarray):
        """Asynchronous infer requests in turn (collect them in submission order, at most
        `async_depth` in flight); the output is what `infer` returns for the same batch."""
        if not self.active:
            raise RuntimeError("OpenVINORunner.submit() called before activate()")
        if not self._pool:
            self._pool = [self.compiled.create_infer_request() for _ in range(self.async_depth)]
        request = self._pool[self._turn % len(self._pool)]
        self._turn += 1
        request.start_async({0: np.ascontiguousarray(batch, dtype=self._dtype)})

        def result() -> np.ndarray:
            request.wait()
            out = request.get_tensor(self._output).data.copy()  # the request's buffer is reused
            return out.astype(np.float32) if out.dtype == np.float16 else out

        return result

    def _deactivate(self) -> None:
        for request in self._pool:
            request.wait()
        self.compiled = self.request = None
        self._pool = []

    def compiled_property(self, name: str):
        return self.compiled.get_property(name)

    @property
    def io_spec(self) -> IOSpec:
        if self.compiled is None:
            io = self.metadata.get("io", {})
            inp, out = io.get("input", {}), io.get("output", {})
            return IOSpec(inp.get("dtype", "float32"), inp.get("layout", "NCHW"), tuple(inp.get("shape", ())),
                          "labels" if self.class_map else out.get("kind", "logits"))
        dtype = np.dtype(self._dtype).name
        shape = tuple(d.get_length() if d.is_static else None for d in self._input.get_partial_shape())
        kind = _KIND.get(np.dtype(self._output.get_element_type().to_dtype()).name, "labels")
        return IOSpec(dtype, "NHWC" if dtype == "uint8" else "NCHW", shape, kind)

    @property
    def description(self) -> str:
        extra = f" {self.threads} threads" if self.threads else ""
        return (f"openvino {self.ov_device}{extra}" + ("" if self.hint == "f32" else f" {self.hint}")
                + (" class-map" if self.class_map else ""))
