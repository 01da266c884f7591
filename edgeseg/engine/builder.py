"""ONNX -> TensorRT engine, the way the installed TensorRT generation wants it.

Strongly typed on TensorRT 11 (precision from the graph), weakly typed with FP16/INT8 flags
on 8.6 and 10.x; an optimization profile for dynamic inputs; the timing cache read and
written; DLA with GPU fallback and a report of what fell back; progress while it builds.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from edgeseg.artifacts import atomic_path
from edgeseg.engine.cuda import open_cuda
from edgeseg.errors import EdgesegError


def _trt():
    try:
        import tensorrt as trt
    except ImportError:
        raise EdgesegError("TensorRT is not installed (it needs an NVIDIA GPU and CUDA); "
                           "install it with: pip install 'edgeseg[tensorrt]'") from None
    return trt


class _Logger:
    """A TensorRT logger that keeps INFO lines (the DLA report lives there) and errors."""

    def __new__(cls, trt):
        class Logger(trt.ILogger):
            def __init__(self):
                trt.ILogger.__init__(self)
                self.lines, self.errors = [], []

            def log(self, severity, msg):
                if severity <= trt.ILogger.Severity.INFO:
                    self.lines.append(msg)
                if severity <= trt.ILogger.Severity.ERROR:
                    self.errors.append(msg)

        return Logger()


def _parse(trt, builder, logger, onnx_path: Path, strongly_typed: bool):
    flags = 0
    if hasattr(trt.NetworkDefinitionCreationFlag, "EXPLICIT_BATCH"):  # implicit batch existed until 10.0
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    if strongly_typed:
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise EdgesegError(f"TensorRT cannot parse {onnx_path.name}: {errors[:400]}")
    return network, parser


def _profile(trt, builder, network, shapes, config) -> None:
    from edgeseg.engine.shapes import is_dynamic

    inp = network.get_input(0)
    declared = [int(d) if int(d) > 0 else None for d in inp.shape]
    if not is_dynamic(declared):
        return
    if shapes is None:
        raise EdgesegError(f"{inp.name} has dynamic dims {declared}: give --shapes min:opt:max or --device PROFILE")
    shapes.fits(declared)
    profile = builder.create_optimization_profile()
    profile.set_shape(inp.name, shapes.min, shapes.opt, shapes.max)
    config.add_optimization_profile(profile)


def _progress(label: str, done: threading.Event, console) -> threading.Thread:
    def spin():
        t0 = time.perf_counter()
        while not done.wait(2.0):
            console.print(f"[dim]{label}: {time.perf_counter() - t0:.0f} s[/dim]")

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    return thread


def build_engine(onnx_path, out_path, *, device: str | None = None, workspace_gb: float | None = None,
                 opt_level: int = 3, timing_cache=None, shapes=None, dla_core: int | None = None,
                 progress: bool = True, console=None) -> dict:
    """Build, write the plan and its sidecar atomically; returns the sidecar."""
    import onnx

    from edgeseg.bench.devices import load_profile
    from edgeseg.bench.hardware import detect
    from edgeseg.engine import sidecar
    from edgeseg.engine.dla import parse_log
    from edgeseg.engine.shapes import from_profile, parse_shapes
    from edgeseg.engine.versions import TrtVersion, build_mode, onnx_precision

    onnx_path, out_path = Path(onnx_path), Path(out_path)
    if not onnx_path.is_file():
        raise EdgesegError(f"{onnx_path}: no such ONNX model")
    trt = _trt()
    cuda = open_cuda()
    if not 0 <= opt_level <= 5:
        raise EdgesegError(f"--opt-level must be 0..5, got {opt_level}")
    profile = load_profile(device) if device else None
    if isinstance(shapes, str):
        shapes = parse_shapes(shapes)
    shapes = shapes or (from_profile(profile) if profile else None)
    version = TrtVersion.parse(trt.__version__)
    precision = onnx_precision(onnx.load(str(onnx_path), load_external_data=False))
    mode = build_mode(version, precision)
    logger = _Logger(trt)
    builder = trt.Builder(logger)
    network, _parser = _parse(trt, builder, logger, onnx_path, mode.strongly_typed)
    config = builder.create_builder_config()
    workspace = workspace_gb if workspace_gb is not None else (profile.workspace_gb if profile else 4)
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace * (1 << 30)))
    config.builder_optimization_level = opt_level
    for flag in mode.flags:
        config.set_flag(getattr(trt.BuilderFlag, flag))
    _profile(trt, builder, network, shapes, config)
    if dla_core is not None:
        if profile is not None and profile.dla_cores <= dla_core:
            raise EdgesegError(f"--dla-core {dla_core}: {profile.name} has {profile.dla_cores} DLA cores")
        config.default_device_type = trt.DeviceType.DLA
        config.DLA_core = dla_core
        config.set_flag(trt.BuilderFlag.GPU_FALLBACK)
    cache = _load_timing_cache(config, timing_cache)
    done = threading.Event()
    if progress and console is not None:
        _progress(f"building {out_path.name} (TensorRT {version}, {precision})", done, console)
    t0 = time.perf_counter()
    try:
        plan = builder.build_serialized_network(network, config)
    finally:
        done.set()
    seconds = time.perf_counter() - t0
    if plan is None:
        raise EdgesegError(f"TensorRT could not build {onnx_path.name}: {'; '.join(logger.errors[-3:]) or 'no reason given'}")
    with atomic_path(out_path) as tmp:
        tmp.write_bytes(bytes(plan))
    _save_timing_cache(config, cache, timing_cache)
    name, cc = cuda.device_name(0)
    hw = detect()
    io = [{"name": network.get_input(i).name, "mode": "input", "dtype": str(network.get_input(i).dtype),
           "shape": list(network.get_input(i).shape)} for i in range(network.num_inputs)]
    io += [{"name": network.get_output(i).name, "mode": "output", "dtype": str(network.get_output(i).dtype),
            "shape": list(network.get_output(i).shape)} for i in range(network.num_outputs)]
    options = {"device": device, "workspace_gb": workspace, "opt_level": opt_level, "timing_cache": str(timing_cache or ""),
               "shapes": shapes.text if shapes else None, "dla_core": dla_core, "strongly_typed": mode.strongly_typed,
               "flags": list(mode.flags)}
    meta = sidecar.build_sidecar(engine_path=out_path, onnx_path=onnx_path, trt_version=str(trt.__version__),
                                 gpu={"name": name, "compute_capability": cc}, l4t=hw.l4t, precision=precision,
                                 io=io, options=options, build_seconds=seconds)
    if dla_core is not None:
        meta["dla"] = parse_log(logger.lines).to_dict()
    sidecar.write(out_path, meta)
    return meta


def _load_timing_cache(config, path):
    data = Path(path).read_bytes() if path and Path(path).exists() else b""
    cache = config.create_timing_cache(data)
    config.set_timing_cache(cache, ignore_mismatch=False)
    return cache


def _save_timing_cache(config, cache, path) -> None:
    if not path:
        return
    serialized = config.get_timing_cache().serialize()
    with atomic_path(path) as tmp:
        tmp.write_bytes(bytes(serialized))
