"""Which runner a video run opens: the device profile decides the provider and, for ONNX models,
the fastest installed backend (as `edgeseg bench` picks it), unless the user names them."""

from __future__ import annotations

from edgeseg.bench.benchmark import BenchSettings, resolve_backend
from edgeseg.platform import hardware
from edgeseg.platform.devices import check_profile, load_profile


def runner_setup(artifact: str, device: str = "cpu", backend: str | None = None, provider: str | None = None,
                 threads: int | None = None, input_size=None) -> tuple[str | None, dict]:
    """(backend, runner options) for `open_runner`; refuses a profile that does not describe this machine."""
    profile = load_profile(device)
    check_profile(profile, hardware.detect())
    provider = provider or ("cuda" if profile.gpu else "cpu")
    chosen = resolve_backend(BenchSettings(device=device, provider=provider, backend=backend), profile, artifact)
    options = {"provider": provider, "threads": threads, "input_size": input_size,
               "device": "cuda" if profile.gpu and provider != "cpu" else "cpu"}
    return chosen, options
