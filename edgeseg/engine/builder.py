"""ONNX -> TensorRT engine, built the way the installed TensorRT generation wants it.

Strongly typed on TensorRT 11 (precision from the graph), weakly typed with FP16/INT8 flags
on 8.6 and 10.x (see versions.py); one optimization profile for dynamic inputs; the timing
cache read and written; DLA with GPU fallback and a report of what fell back; progress while
it builds. The engine is written as a plain TensorRT plan with a sidecar JSON beside it; both
are written atomically, so a failed or interrupted build leaves nothing half-written.
"""

from __future__ import annotations

import hashlib
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from edgeseg.artifacts import atomic_path
from edgeseg.platform.devices import check_profile, load_profile, require_precision
from edgeseg.platform.hardware import detect
from edgeseg.engine import sidecar
from edgeseg.engine.cuda import open_device
from edgeseg.engine.dla import parse_log
from edgeseg.engine.shapes import choose, from_profile, is_dynamic, parse_shapes, require_static
from edgeseg.engine.versions import BuildMode, TrtVersion, build_mode, onnx_precision, uses_fp8
from edgeseg.errors import EdgesegError

ENGINE_SUFFIXES = (".engine", ".plan")
TRT_MISSING = ("TensorRT is not installed (engines are built on the machine that runs them, which needs an "
               "NVIDIA GPU); install it there with: pip install 'edgeseg[tensorrt]'")
_ERROR, _INFO = 1, 3  # trt.ILogger.Severity values


def import_tensorrt():
    """The tensorrt module, or one line saying how to get it."""
    try:
        import tensorrt as trt
    except ImportError as exc:
        if getattr(exc, "name", None) == "tensorrt":
            raise EdgesegError(TRT_MISSING) from None
        raise EdgesegError(f"TensorRT is installed but cannot be loaded ({exc}); reinstall it with: "
                           "pip install 'edgeseg[tensorrt]'") from None
    return trt


@dataclass(frozen=True)
class BuildSettings:
    """The user's build options, validated before TensorRT is touched and recorded in the sidecar."""

    device: str | None = None
    workspace_gb: float | None = None
    opt_level: int = 3
    timing_cache: str | None = None
    shapes: str | None = None
    dla_core: int | None = None

    def __post_init__(self):
        if not 0 <= int(self.opt_level) <= 5:
            raise EdgesegError(f"--opt-level must be 0..5, got {self.opt_level}")
        if self.workspace_gb is not None and not self.workspace_gb > 0:
            raise EdgesegError(f"--workspace must be a positive number of GB, got {self.workspace_gb}")
        if self.dla_core is not None and self.dla_core < 0:
            raise EdgesegError(f"--dla-core must be 0 or more, got {self.dla_core}")

    def to_dict(self) -> dict:
        return asdict(self)


def _logger(trt):
    """A TensorRT logger that keeps messages up to INFO (the DLA report is logged there)."""

    class Logger(trt.ILogger):
        def __init__(self):
            trt.ILogger.__init__(self)
            self.messages: list[tuple[int, str]] = []

        def log(self, severity, msg):
            if int(severity) <= _INFO:
                self.messages.append((int(severity), str(msg)))

        def errors(self, last: int = 3) -> str:
            found = [m for s, m in self.messages if s <= _ERROR][-last:]
            return "; ".join(" ".join(m.split()) for m in found) or "no reason given"

    return Logger()


def _parse(trt, builder, logger, onnx_path: Path, mode, version):
    flags = 0
    for name in mode.network_flags:
        flags |= 1 << int(getattr(trt.NetworkDefinitionCreationFlag, name))
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(" ".join(str(parser.get_error(i)).split()) for i in range(parser.num_errors))
        raise EdgesegError(f"TensorRT {version} cannot parse {onnx_path.name}: {(errors or logger.errors())[:600]}")
    return network, parser


def _add_profile(builder, network, config, explicit, profile, dla: bool) -> str | None:
    """One optimization profile when the first input is dynamic; returns the shapes used."""
    inp = network.get_input(0)
    declared = [int(d) for d in inp.shape]
    for i in range(1, network.num_inputs):
        other = network.get_input(i)
        if is_dynamic([int(d) for d in other.shape]):
            raise EdgesegError(f"model input {other.name!r} is dynamic too; edgeseg builds profiles for one input")
    default = from_profile(profile, declared) if profile is not None else None
    shapes = choose(declared, explicit, default, inp.name)
    if dla:  # the DLA takes one shape; TensorRT would quietly move everything to the GPU
        require_static(shapes)
    if shapes is None:
        return None
    opt_profile = builder.create_optimization_profile()
    opt_profile.set_shape(inp.name, shapes.min, shapes.opt, shapes.max)
    config.add_optimization_profile(opt_profile)
    return shapes.text


def _use_dla(trt, builder, config, core: int) -> None:
    available = int(getattr(builder, "num_DLA_cores", 0))
    if available == 0:
        raise EdgesegError(f"--dla-core {core}: this GPU has no DLA (Jetson AGX Orin, Orin NX and Xavier have two)")
    if core >= available:
        raise EdgesegError(f"--dla-core {core}: this device has {available} DLA cores (0..{available - 1})")
    config.default_device_type = trt.DeviceType.DLA
    config.DLA_core = core


def _configure(trt, builder, network, mode, settings: BuildSettings, profile, explicit):
    config = builder.create_builder_config()
    workspace = settings.workspace_gb or (profile.workspace_gb if profile is not None else 0)
    if workspace:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace * (1 << 30)))
    config.builder_optimization_level = int(settings.opt_level)
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED  # layer names for engine inspectors
    for flag in mode.builder_flags:
        config.set_flag(getattr(trt.BuilderFlag, flag))
    if settings.dla_core is not None:
        _use_dla(trt, builder, config, settings.dla_core)
    shapes = _add_profile(builder, network, config, explicit, profile, settings.dla_core is not None)
    return config, shapes, workspace or None


def _attach_timing_cache(config, path: Path | None, warn):
    """Start from the cache file if there is one; a cache from another GPU/TensorRT is replaced."""
    if path is None:
        return
    data = path.read_bytes() if path.exists() else b""
    try:
        cache = config.create_timing_cache(data)
        accepted = cache is not None and config.set_timing_cache(cache, ignore_mismatch=False)
    except Exception:  # a truncated or foreign file: TensorRT raises instead of returning None
        accepted = False
    if not accepted:
        warn(f"timing cache {path} is unreadable or from another GPU or TensorRT release; starting a new one")
        config.set_timing_cache(config.create_timing_cache(b""), ignore_mismatch=False)


def _save_timing_cache(config, path: Path | None) -> None:
    if path is None:
        return
    serialized = config.get_timing_cache().serialize()
    with atomic_path(path) as tmp:
        tmp.write_bytes(bytes(serialized))


def _build(trt, builder, network, config, logger, label: str, progress: bool, onnx_name: str):
    from edgeseg.engine.progress import build_progress

    with build_progress(trt, config, label, progress) as state:
        t0 = time.perf_counter()
        plan = builder.build_serialized_network(network, config)
        seconds = time.perf_counter() - t0
    if state.cancelled:
        raise KeyboardInterrupt
    if plan is None:
        raise EdgesegError(f"TensorRT could not build an engine from {onnx_name}: {logger.errors()}")
    return bytes(plan), seconds


def runtime_for(trt, logger, dla_core: int | None):
    """A runtime that loads a DLA engine on the core it was built for: the plan does not say,
    and the runtime's default puts every DLA engine on core 0."""
    runtime = trt.Runtime(logger)
    if dla_core is not None:
        runtime.DLA_core = dla_core
    return runtime


def _engine_tensors(trt, logger, plan: bytes, dla_core: int | None) -> list[dict]:
    from edgeseg.engine.tensors import describe

    engine = runtime_for(trt, logger, dla_core).deserialize_cuda_engine(plan)
    if engine is None:
        raise EdgesegError(f"TensorRT built an engine it cannot load back: {logger.errors()}")
    return describe(trt, engine)


def _warn(message: str) -> None:
    sys.stderr.write(f"warning: {message}\n")


def _check_paths(onnx_path, out_path) -> tuple[Path, Path]:
    onnx_path, out_path = Path(onnx_path), Path(out_path)
    if not onnx_path.is_file():
        raise EdgesegError(f"{onnx_path}: no such ONNX model")
    if out_path.suffix.lower() not in ENGINE_SUFFIXES:
        raise EdgesegError(f"-o {out_path}: an engine file must end in .engine or .plan "
                           "(edgeseg picks the runtime by the suffix)")
    return onnx_path, out_path


def build_engine(onnx_path, out_path, *, device: str | None = None, workspace_gb: float | None = None,
                 opt_level: int = 3, timing_cache=None, shapes=None, dla_core: int | None = None,
                 progress: bool = True, warn=_warn) -> Path:
    """Build `onnx_path` into a TensorRT plan at `out_path` with its sidecar; returns `out_path`.

    `shapes` is a Shapes or 'min:opt:max' text for dynamic models (default: the device
    profile's); `device` names a profile in devices.json (workspace, shapes, DLA cores).
    """
    import onnx

    onnx_path, out_path = _check_paths(onnx_path, out_path)
    shapes_text = shapes.text if hasattr(shapes, "text") else shapes
    settings = BuildSettings(device, workspace_gb, opt_level, str(timing_cache) if timing_cache else None,
                             shapes_text, dla_core)
    profile = load_profile(device) if device else None
    explicit = parse_shapes(shapes_text) if shapes_text else None
    graph = onnx.load(str(onnx_path), load_external_data=False)
    wanted = "fp8" if uses_fp8(graph) else onnx_precision(graph)
    if profile is not None:  # e.g. an FP8 graph for an Orin, whose GPU has no FP8: refused before TensorRT loads
        require_precision(profile, wanted)
    trt = import_tensorrt()
    _cuda, gpu, cc = open_device(0)
    if profile is not None:  # a Jetson profile on a desktop GPU would build an engine for the wrong device
        check_profile(profile, detect())
        require_precision(profile, wanted, cc)
    version = TrtVersion.parse(trt.__version__)
    precision = onnx_precision(graph)
    mode = build_mode(version, precision, dla=dla_core is not None)

    logger = _logger(trt)
    builder = trt.Builder(logger)
    network, _parser = _parse(trt, builder, logger, onnx_path, mode, version)  # the parser owns the weights
    config, used_shapes, workspace = _configure(trt, builder, network, mode, settings, profile, explicit)
    cache_path = Path(timing_cache) if timing_cache else None
    _attach_timing_cache(config, cache_path, warn)
    label = f"TensorRT {version.short}: building {out_path.name} ({precision}, {mode.name})"
    plan, seconds = _build(trt, builder, network, config, logger, label, progress, onnx_path.name)

    meta = sidecar.build_sidecar(
        onnx_path=onnx_path, engine_sha256=hashlib.sha256(plan).hexdigest(), engine_bytes=len(plan),
        target=sidecar.this_machine(str(trt.__version__), gpu, cc), precision=precision,
        tensors=_engine_tensors(trt, logger, plan, dla_core),
        build=_build_record(mode, settings, used_shapes, workspace),
        build_seconds=seconds, dla=parse_log(m for _, m in logger.messages).to_dict() if dla_core is not None else None)
    with atomic_path(out_path) as tmp:
        tmp.write_bytes(plan)
    sidecar.write(out_path, meta)
    _save_timing_cache(config, cache_path)
    return out_path


def _build_record(mode: BuildMode, settings: BuildSettings, shapes: str | None, workspace) -> dict:
    return {"mode": mode.name, "strongly_typed": mode.strongly_typed, "network_flags": list(mode.network_flags),
            "builder_flags": list(mode.builder_flags), "shapes": shapes, "workspace_gb": workspace,
            "options": settings.to_dict()}
