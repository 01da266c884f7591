"""ONNX -> TensorRT engine, built the way the installed TensorRT generation wants it.

Strongly typed on TensorRT 11 (precision from the graph), weakly typed with FP16/INT8 flags
on 8.6 and 10.x (see versions.py); one optimization profile for dynamic inputs; the timing
cache read and written; DLA with GPU fallback and a report of what fell back; progress while
it builds. The engine is written as a plain TensorRT plan with a sidecar JSON beside it; both
are written atomically, so a failed or interrupted build leaves nothing half-written.

`runtime="tensorrt-rtx"` builds with TensorRT for RTX instead (flavors.py, rtx.py): same
parser, profile and sidecar code, built ahead of time on any machine for named compute
capabilities; the sidecar then records which, and which Q/DQ the build fused.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from edgeseg.artifacts import atomic_path, load_onnx
from edgeseg.engine import rtx, sidecar
from edgeseg.engine.cuda import open_device
from edgeseg.engine.dla import parse_log
from edgeseg.engine.flavors import TENSORRT, flavor, import_module, missing_line
from edgeseg.engine.network import INFO, VERBOSE, append_class_map, collecting_logger, parse_network
from edgeseg.engine.parse_check import refuse_cpu_target
from edgeseg.engine.progress import build_progress
from edgeseg.engine.qdq_fusion import analyze, layer_list
from edgeseg.engine.shapes import choose, from_profile, is_dynamic, parse_shapes, require_static
from edgeseg.engine.tensors import describe, describe_network
from edgeseg.engine.versions import BuildMode, TrtVersion, build_mode, onnx_precision, rtx_build_mode, uses_fp8
from edgeseg.errors import EdgesegError, OptionError
from edgeseg.errors import field as f
from edgeseg.metadata import ArtifactMetadata
from edgeseg.filesystem import check_out_file
from edgeseg.platform.devices import check_profile, load_profile, require_precision
from edgeseg.platform.hardware import detect
from edgeseg.workdir import sweep_stale

ENGINE_SUFFIXES = (".engine", ".plan")
TRT_MISSING = missing_line(TENSORRT)
log = logging.getLogger(__name__)


def import_tensorrt():
    """The tensorrt module, or one line: not installed, or installed but broken (and why)."""
    return import_module(TENSORRT)


@dataclass(frozen=True, kw_only=True)
class BuildSettings:
    """The user's build options as plain data, checked by `check_settings` and recorded in the sidecar."""

    device: str | None = None  # device profile (platform/devices.json): workspace, shapes, DLA cores
    workspace_gb: float | None = None
    opt_level: int = 3
    timing_cache: str | None = None
    shapes: str | None = None  # dynamic models: 'min:opt:max' (default: the device profile's)
    dla_core: int | None = None
    runtime: str | None = None  # tensorrt (default) | tensorrt-rtx
    compute_capabilities: str | tuple[str, ...] | None = None  # TensorRT-RTX targets, '8.9,12.0' or a tuple
    class_map: bool = False  # a TopK over the classes ends the network: the engine gives class maps (network.py)

    def to_dict(self) -> dict:
        return asdict(self)


def check_settings(settings: BuildSettings, precision: str | None = None) -> BuildSettings:
    """Refuse settings that cannot build, before TensorRT is touched; returns them normalized
    (runtime named, compute capabilities parsed when given, the timing cache as text). `precision`
    (when known, e.g. fp8): TensorRT-RTX targets are checked against it too."""
    s = settings
    if not 0 <= int(s.opt_level) <= 5:
        raise OptionError(f"{f('engine.opt_level')} must be 0..5, got {s.opt_level}")
    if s.workspace_gb is not None and not s.workspace_gb > 0:
        raise OptionError(f"{f('engine.workspace_gb')} must be a positive number of GB, got {s.workspace_gb}")
    if s.dla_core is not None and s.dla_core < 0:
        raise OptionError(f"{f('engine.dla_core')} must be 0 or more, got {s.dla_core}")
    trt_flavor = flavor(s.runtime)
    profile = _engine_profile(s.device) if s.device else None
    ccs = None
    if trt_flavor.aot:
        for given, name, why in ((s.dla_core is not None, "dla_core", "RTX GPUs have no DLA"),
                                 (s.timing_cache, "timing_cache", "its timing cache needs a GPU to build; "
                                  "the runtime cache beside the engine keeps the JIT work instead")):
            if given:
                raise OptionError(f"{f('engine.' + name)} does not apply to {f('engine.runtime')} tensorrt-rtx ({why})")
        if profile is not None and profile.jetson:
            raise OptionError(f"{f('engine.device')} {profile.name}: TensorRT-RTX does not run on Jetson; build "
                              f"there with {f('engine.runtime')} tensorrt")
        # refuses what cannot run there
        rtx.choose_compute_capabilities(s.compute_capabilities, profile, precision == "fp8")
        ccs = rtx.parse_compute_capabilities(s.compute_capabilities) if s.compute_capabilities else None
    elif s.compute_capabilities:
        raise OptionError(f"{f('engine.compute_capabilities')} is for {f('engine.runtime')} tensorrt-rtx; TensorRT "
                          "builds for the GPU it runs on")
    shapes = s.shapes.text if hasattr(s.shapes, "text") else s.shapes
    return replace(s, runtime=trt_flavor.runtime, compute_capabilities=ccs, shapes=shapes,
                   timing_cache=str(s.timing_cache) if s.timing_cache else None)


def _parse(trt, builder, logger, onnx_path: Path, mode, label: str):
    network, parser, errors = parse_network(trt, builder, logger, onnx_path, mode)
    if errors:
        raise EdgesegError(f"{label} cannot parse {onnx_path.name}: {'; '.join(errors)[:600]}")
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
        raise OptionError(f"{f('engine.dla_core')} {core}: this GPU has no DLA (Jetson AGX Orin, Orin NX and Xavier "
                          "have two)")
    if core >= available:
        raise OptionError(f"{f('engine.dla_core')} {core}: this device has {available} DLA cores (0..{available - 1})")
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
    if settings.compute_capabilities:
        rtx.set_compute_capabilities(trt, config, settings.compute_capabilities)
    if settings.dla_core is not None:
        _use_dla(trt, builder, config, settings.dla_core)
    shapes = _add_profile(builder, network, config, explicit, profile, settings.dla_core is not None)
    return config, shapes, workspace or None


def _attach_timing_cache(config, path: Path | None):
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
        log.warning("timing cache %s is unreadable or from another GPU or TensorRT release; starting a new one", path)
        config.set_timing_cache(config.create_timing_cache(b""), ignore_mismatch=False)


def _save_timing_cache(config, path: Path | None) -> None:
    if path is None:
        return
    serialized = config.get_timing_cache().serialize()
    with atomic_path(path) as tmp:
        tmp.write_bytes(bytes(serialized))


def _build(trt, builder, network, config, logger, label: str, progress: bool, onnx_name: str, who: str = "TensorRT"):
    with build_progress(trt, config, label, progress) as state:
        t0 = time.perf_counter()
        plan = builder.build_serialized_network(network, config)
        seconds = time.perf_counter() - t0
    state.reraise()  # Ctrl-C during the build: the builder stopped early, the interrupt goes on
    if plan is None:
        why = logger.errors()
        hint = ("; Turing (7.5) has no FP32 GEMM in TensorRT-RTX: build it from the fp16 export"
                if "FP32 GEMM is not supported" in why else "")
        raise EdgesegError(f"{who} could not build an engine from {onnx_name}: {why}{hint}")
    return bytes(plan), seconds


def runtime_for(trt, logger, dla_core: int | None):
    """A runtime that loads a DLA engine on the core it was built for: the plan does not say,
    and the runtime's default puts every DLA engine on core 0."""
    runtime = trt.Runtime(logger)
    if dla_core is not None:
        runtime.DLA_core = dla_core
    return runtime


def _engine_tensors(trt, logger, plan: bytes, dla_core: int | None, network=None) -> list[dict]:
    """The plan's I/O tensors; for an ahead-of-time plan (no GPU to load it on), the network's."""
    if network is not None:
        return describe_network(trt, network)
    engine = runtime_for(trt, logger, dla_core).deserialize_cuda_engine(plan)
    if engine is None:
        raise EdgesegError(f"TensorRT built an engine it cannot load back: {logger.errors()}")
    return describe(trt, engine)


def _check_paths(onnx_path, out_path) -> tuple[Path, Path]:
    onnx_path, out_path = Path(onnx_path), Path(out_path)
    if not onnx_path.is_file():
        raise EdgesegError(f"{onnx_path}: no such ONNX model")
    if onnx_path.suffix.lower() in (".xml", ".bin"):
        raise EdgesegError(f"{onnx_path}: an OpenVINO IR, not an ONNX model; TensorRT builds from ONNX: give the ONNX "
                           "model it was made from (its sidecar's provenance.parent)")
    if out_path.suffix.lower() not in ENGINE_SUFFIXES:
        raise EdgesegError(f"-o {out_path}: an engine file must end in .engine or .plan "
                           "(edgeseg picks the runtime by the suffix)")
    check_out_file(out_path, "-o")  # a folder or an unwritable place: refused now, not after the build
    sweep_stale(out_path.parent)  # temporaries of builds killed before they could remove them
    return onnx_path, out_path


def _engine_profile(name: str):
    profile = load_profile(name)
    if not profile.gpu:
        raise OptionError(f"{f('engine.device')} {name} has no NVIDIA GPU and engines are TensorRT's: export ONNX "
                          f"for it (edgeseg export --format onnx --device {name})")
    return profile


def build_engine(onnx_path, out_path, settings: BuildSettings | None = None, progress: bool = True) -> Path:
    """Build `onnx_path` into a TensorRT plan at `out_path` with its sidecar; returns `out_path`."""
    meta = build_plan(onnx_path, out_path, settings, progress)
    sidecar.write(out_path, meta)
    return Path(out_path)


def build_plan(onnx_path, out_path, settings: BuildSettings | None = None, progress: bool = True) -> ArtifactMetadata:
    """Build `onnx_path` into a TensorRT plan at `out_path`; returns its metadata (the caller writes
    the sidecar: `build_engine`, or the export's engine stage with its verification).

    `settings.device` names a profile in devices.json (workspace, shapes, DLA cores);
    `settings.runtime="tensorrt-rtx"` builds with TensorRT for RTX, ahead of time, for its
    `compute_capabilities` ('8.6,8.9,12.0'; default rtx.DEFAULT_CCS), on any machine.
    """
    onnx_path, out_path = _check_paths(onnx_path, out_path)
    settings = check_settings(settings or BuildSettings())
    trt_flavor, dla_core = flavor(settings.runtime), settings.dla_core
    profile = _engine_profile(settings.device) if settings.device else None
    explicit = parse_shapes(settings.shapes) if settings.shapes else None
    model = load_onnx(onnx_path)
    refuse_cpu_target(model, onnx_path.name)
    wanted = "fp8" if uses_fp8(model) else onnx_precision(model)
    ccs = (rtx.choose_compute_capabilities(settings.compute_capabilities, profile, wanted == "fp8")
           if trt_flavor.aot else None)
    settings = replace(settings, compute_capabilities=ccs)
    if profile is not None:  # e.g. an FP8 graph for an Orin, whose GPU has no FP8: refused before TensorRT loads
        require_precision(profile, wanted)
    trt = import_module(trt_flavor)
    if trt_flavor.aot:  # built on the CPU for the listed GPUs; nothing here needs to be one of them
        built_for = sidecar.rtx_built_for(str(trt.__version__), ccs)
    else:
        _cuda, gpu, cc = open_device(0)
        if profile is not None:  # a Jetson profile on a desktop GPU would build an engine for the wrong device
            check_profile(profile, detect())
            require_precision(profile, wanted, cc)
        built_for = sidecar.this_machine(str(trt.__version__), gpu, cc)
    version = TrtVersion.parse(trt.__version__)
    precision = onnx_precision(model)
    mode = rtx_build_mode() if trt_flavor.aot else build_mode(version, precision, dla=dla_core is not None)

    logger = collecting_logger(trt, VERBOSE if trt_flavor.aot and precision == "int8" else INFO)
    builder = trt.Builder(logger)
    network, _parser = _parse(trt, builder, logger, onnx_path, mode, f"{trt_flavor.label} {version}")
    if settings.class_map and not append_class_map(trt, network):
        log.info("%s already gives class maps: built as it is", onnx_path.name)
    config, used_shapes, workspace = _configure(trt, builder, network, mode, settings, profile, explicit)
    cache_path = Path(settings.timing_cache) if settings.timing_cache else None
    _attach_timing_cache(config, cache_path)
    label = f"{trt_flavor.label} {version.short}: building {out_path.name} ({precision}, {mode.name})"
    plan, seconds = _build(trt, builder, network, config, logger, label, progress, onnx_path.name, trt_flavor.label)

    meta = sidecar.build_sidecar(
        onnx_path=onnx_path, plan=plan,
        built_for=built_for, precision=precision,
        tensors=_engine_tensors(trt, logger, plan, dla_core, network if trt_flavor.aot else None),
        build=_build_record(mode, settings, used_shapes, workspace),
        build_seconds=seconds, dla=parse_log(m for _, m in logger.messages).to_dict() if dla_core is not None else None,
        qdq_fusion=_fusion(model, logger, ccs) if precision == "int8" else None, engine_path=out_path)
    with atomic_path(out_path) as tmp:
        tmp.write_bytes(plan)
    _save_timing_cache(config, cache_path)
    return meta


def _fusion(model, logger, ccs=None) -> dict | None:
    """Which Q/DQ the build fused, where the log lists the plan's kernels (TensorRT-RTX does, on the CPU);
    a build that fused few is warned about, and the sidecar says so."""
    text = layer_list(m for _, m in logger.messages)
    report = analyze(model, text) if text else None
    if report is None:
        return None
    warning = report.warning(f" for {', '.join(rtx.sm(c) for c in ccs)}" if ccs else "")
    if warning:
        log.warning(warning)
    return report.to_dict()


def _build_record(mode: BuildMode, settings: BuildSettings, shapes: str | None, workspace) -> dict:
    return {"mode": mode.name, "strongly_typed": mode.strongly_typed, "network_flags": list(mode.network_flags),
            "builder_flags": list(mode.builder_flags), "shapes": shapes, "workspace_gb": workspace,
            "runtime": settings.runtime, "compute_capabilities": list(settings.compute_capabilities or []) or None,
            "options": settings.to_dict()}
