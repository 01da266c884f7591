"""TensorRT for RTX: target compute capabilities, which GPUs may load its engines, runtime cache.

An RTX engine is built ahead of time for a list of compute capabilities (IBuilderConfig
`num_compute_capabilities` + `set_compute_capability`) and finished just in time on the GPU.
Edgeseg always names the list, so the sidecar says exactly where the engine runs: by default
the RTX 30/40/50 and DGX Spark parts (8.6, 8.9, 12.0, 12.1). Turing (7.5) only on request:
NVIDIA keeps it out of portable engines, and our FP32 attention MatMuls do not compile for it.

TensorRT-RTX runs on GeForce/RTX-class GPUs only; a data-centre part (H100/H200, sm_90) or a
Jetson is refused from the sidecar with one line before the plan is read. The JIT step's
kernels are kept in a runtime cache file beside the engine, so later runs start fast.
"""

from __future__ import annotations

import logging
from pathlib import Path

from edgeseg.artifacts import atomic_path, parent_hint
from edgeseg.errors import EdgesegError, OptionError, field
from edgeseg.platform.devices import FP8_MIN_CC

log = logging.getLogger(__name__)

# compute capability -> what carries it (TensorRT-RTX 1.7 support matrix)
RTX_GPUS = {"7.5": "RTX 20 (Turing)", "8.6": "RTX 30 (Ampere)", "8.9": "RTX 40 (Ada)",
            "12.0": "RTX 50 (Blackwell)", "12.1": "DGX Spark (GB10)"}
DEFAULT_CCS = ("8.6", "8.9", "12.0", "12.1")
CACHE_SUFFIX = ".rtxcache"
CCS = field("engine.compute_capabilities")  # the option most messages here are about


def parse_compute_capabilities(text) -> tuple[str, ...]:
    """'8.6,8.9,12.0' (or sm_86, 86) -> ('8.6', '8.9', '12.0'); the default list when empty."""
    if not text:
        return DEFAULT_CCS
    items = text if isinstance(text, (list, tuple)) else str(text).split(",")
    out = []
    for raw in items:
        item = str(raw).strip().lower().removeprefix("sm_").removeprefix("sm")
        if not item:
            continue
        cc = item if "." in item else (f"{item[:-1]}.{item[-1]}" if item.isdigit() and len(item) >= 2 else item)
        if cc not in RTX_GPUS:
            raise OptionError(f"{CCS} {raw!r}: TensorRT-RTX builds for "
                               f"{', '.join(RTX_GPUS)} ({'; '.join(f'{k} {v}' for k, v in RTX_GPUS.items())})")
        if cc not in out:
            out.append(cc)
    if not out:
        raise OptionError(f"{CCS} needs at least one value, e.g. 8.6,8.9,12.0")
    return tuple(out)


def choose_compute_capabilities(given, profile=None, fp8: bool = False) -> tuple[str, ...]:
    """The compute capabilities to build for: those given (or the default list), checked against the
    named device profile and the graph's precision, so the engine runs where it is meant to.

    A profile's own GPU is the default and must be among those given; an FP8 graph drops
    default targets without FP8 tensor cores (8.6) and refuses them when named.
    """
    ccs = parse_compute_capabilities(given)
    own = getattr(profile, "compute_capability", None)
    if own:
        if own not in RTX_GPUS:
            raise OptionError(f"{field('device')} {profile.name} ({profile.describe_gpu()}) is no GPU TensorRT-RTX "
                              f"runs on ({', '.join(RTX_GPUS)}): use {field('engine.runtime')} tensorrt")
        if not given:
            ccs = (own,)
        elif own not in ccs:
            raise OptionError(f"{field('device')} {profile.name} is {profile.describe_gpu()}; {CCS} "
                              f"{','.join(ccs)} makes an engine it cannot run: include {own}")
    if fp8:
        without = [c for c in ccs if tuple(int(p) for p in c.split(".")) < FP8_MIN_CC]
        if without and given:
            raise OptionError(f"an FP8 engine needs compute capability 8.9+ (FP8 tensor cores); {CCS} "
                              f"lists {', '.join(without)} ({', '.join(RTX_GPUS[c] for c in without)}): drop "
                              f"{'it' if len(without) == 1 else 'them'}, or export int8/fp16 for those GPUs")
        ccs = tuple(c for c in ccs if c not in without)
        if without:
            log.warning("FP8 engine: building for %s only (%s %s no FP8 tensor cores)", ", ".join(ccs),
                        ", ".join(without), "has" if len(without) == 1 else "have")
    return ccs


def sm(cc: str) -> str:
    return "sm_" + cc.replace(".", "")


def set_compute_capabilities(trt, config, ccs: tuple[str, ...]) -> None:
    config.num_compute_capabilities = len(ccs)
    for i, cc in enumerate(ccs):
        config.set_compute_capability(getattr(trt.ComputeCapability, "SM" + cc.replace(".", "")), i)


def check_gpu(engine_path, meta: dict, gpu: str, cc: str, board: str | None = None) -> None:
    """Refuse an RTX engine on a GPU it was not built for, in one line (no TensorRT-RTX needed)."""
    engine_path = Path(engine_path)
    built = tuple(meta.get("target", {}).get("compute_capabilities") or ())

    onnx = parent_hint(engine_path, meta)
    head = f"engine {engine_path.name} is a TensorRT-RTX engine (for {', '.join(sm(c) for c in built) or 'RTX GPUs'})"
    if board:
        raise EdgesegError(f"{head}; TensorRT-RTX does not run on Jetson ({board}): build a TensorRT engine on the "
                           f"Jetson with `edgeseg build {onnx} -o {engine_path}`")
    if cc not in RTX_GPUS:
        raise EdgesegError(f"{head}; this machine has {gpu} ({sm(cc)}), not an RTX-class GPU TensorRT-RTX runs on "
                           f"({', '.join(sm(c) for c in RTX_GPUS)}): build a TensorRT engine here with "
                           f"`edgeseg build {onnx} -o {engine_path} --runtime tensorrt`")
    if built and cc not in built:
        raise EdgesegError(f"{head}; this GPU is {gpu} ({sm(cc)}): rebuild it with `edgeseg build {onnx} -o "
                           f"{engine_path} --runtime tensorrt-rtx --compute-capability {','.join((*built, cc))}`")


def cache_path(engine_path, given=None) -> Path:
    """The runtime cache file: the one given, else ENGINE.rtxcache beside the engine."""
    return Path(given) if given else Path(str(engine_path) + CACHE_SUFFIX)


def attach_runtime_cache(runtime_config, path: Path):
    """A runtime cache on `runtime_config`, filled from `path` when that file fits this GPU and release.

    A cache from another GPU, driver or TensorRT-RTX is not loaded (TensorRT-RTX checks) and is
    overwritten when the runner closes. Returns the cache, to be saved with `save_runtime_cache`.
    """
    cache = runtime_config.create_runtime_cache()
    if path.is_file():
        data = path.read_bytes()
        if data and not cache.deserialize(data):
            log.warning("runtime cache %s is from another GPU, driver or TensorRT-RTX "
                                                "release; starting a new one", path)
    runtime_config.set_runtime_cache(cache)
    return cache


def save_runtime_cache(cache, path: Path) -> None:
    data = bytes(cache.serialize())
    if data:
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
