"""Which TensorRT: the full library (Jetsons, data-centre and desktop GPUs) or TensorRT for RTX.

Both share the ONNX parser, network, builder-config and plan API, so one builder serves both;
what differs is said here once. TensorRT-RTX (module `tensorrt_rtx`) builds ahead of time on
any machine, GPU or not, for named compute capabilities, always strongly typed, with no DLA
and no timing cache (its timing-cache API forces a GPU query); the RTX GPU finishes the
engine just in time, and a runtime cache keeps that work between runs.

Importing is where installs go wrong: "not installed" (no module) and "installed but
broken" (the bindings import, a shared library such as libnvinfer.so.N does not load; the
ImportError then names the extension module, which CPython calls `tensorrt` too) need
different fixes, so they get different lines.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass

from edgeseg.errors import EdgesegError, OptionError, field


@dataclass(frozen=True)
class Flavor:
    runtime: str  # the name users type: tensorrt | tensorrt-rtx
    module: str  # the Python module
    label: str  # how messages name it
    extra: str  # pip install 'edgeseg[EXTRA]'
    aot: bool  # builds ahead of time without a GPU, for named compute capabilities (TensorRT-RTX)
    needs: str  # what the missing-install line says it is for

    @property
    def install(self) -> str:
        return f"pip install 'edgeseg[{self.extra}]'"


TENSORRT = Flavor("tensorrt", "tensorrt", "TensorRT", "tensorrt", False,
                  "engines are built on the machine that runs them, which needs an NVIDIA GPU")
TENSORRT_RTX = Flavor("tensorrt-rtx", "tensorrt_rtx", "TensorRT-RTX", "rtx", True,
                      "it builds RTX engines on any machine, GPU or not")
FLAVORS = {f.runtime: f for f in (TENSORRT, TENSORRT_RTX)}
RUNTIMES = tuple(FLAVORS)


def flavor(runtime: str | None) -> Flavor:
    """The flavor for a runtime name (default: TensorRT)."""
    key = (runtime or "tensorrt").strip().lower().replace("_", "-")
    if key not in FLAVORS:
        raise OptionError(f"{field('engine.runtime')} must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    return FLAVORS[key]


def missing_line(f: Flavor) -> str:
    where = "" if f.aot else " there"
    return f"{f.label} is not installed ({f.needs}); install it{where} with: {f.install}"


def import_module(f: Flavor = TENSORRT):
    """The flavor's module, or one line: not installed, or installed but not loadable (and why)."""
    try:
        spec = importlib.util.find_spec(f.module)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        raise EdgesegError(missing_line(f))
    try:
        return importlib.import_module(f.module)
    except (ImportError, OSError) as exc:  # OSError: a wheel's own ctypes load of its libraries
        reason = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise EdgesegError(f"{f.label} is installed but cannot be loaded ({reason}): its Python bindings are there, "
                           f"a library they need is not (libnvinfer.so and friends, on LD_LIBRARY_PATH or from "
                           f"the wheel); reinstall it with: {f.install}") from None


def importable() -> list[Flavor]:
    """The flavors whose module is installed (found, not imported)."""
    out = []
    for f in FLAVORS.values():
        try:
            if importlib.util.find_spec(f.module) is not None:
                out.append(f)
        except (ImportError, ValueError):
            pass
    return out
