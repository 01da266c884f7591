"""Targets: nodes that advertise a device profile as the custom resource `edgeseg/<profile>`.

A node joins with one such resource (value 1, so one benchmark at a time runs on a device) and
node labels saying what it can run. `edgeseg/<profile>#<tag>` names a second target of the same
profile on one node (two GPUs in one box; tests simulate targets this way).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import re
import socket
from dataclasses import dataclass, field

import edgeseg
from edgeseg.errors import EdgesegError, OptionError
from edgeseg.errors import field as f
from edgeseg.platform import hardware
from edgeseg.platform.devices import check_profile, load_profile, profile_for_board

PREFIX = "edgeseg/"
LABEL = PREFIX  # node label keys: edgeseg/version, edgeseg/tensorrt, ... (a separate namespace from resources)
# label name -> (distributions to ask, module to import as a last resort)
RUNTIMES = {
    "tensorrt": (("tensorrt", "tensorrt-cu12", "tensorrt-cu13", "tensorrt-libs"), "tensorrt"),
    "tensorrt-rtx": (("tensorrt-rtx", "tensorrt-rtx-cu12", "tensorrt_rtx"), None),
    "openvino": (("openvino",), None),
    "onnxruntime": (("onnxruntime", "onnxruntime-gpu"), None),
}
_BAD = re.compile(r"[^A-Za-z0-9_.-]")


def label_value(text: str | None) -> str:
    """A Ray node-label value: 63 characters of [A-Za-z0-9_.-], starting and ending alphanumeric."""
    if not text:
        return "none"
    value = _BAD.sub("-", str(text))[:63].strip("-_.")
    return value or "none"


def runtime_version(name: str) -> str | None:
    """Installed version of a runtime, read from package metadata (no import of the library)."""
    dists, module = RUNTIMES[name]
    for dist in dists:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    if module and importlib.util.find_spec(module) is not None:  # JetPack's apt package has no metadata
        try:
            return str(importlib.import_module(module).__version__)
        except Exception:
            return None
    return None


def detect_profile(hw) -> str:
    """The device profile of this machine: its Jetson board's, `cuda` with a GPU, else `cpu`."""
    if hw.is_jetson:
        name = profile_for_board(hw.jetson_model or "")
        if name is None:
            raise OptionError(f"this Jetson ({hw.jetson_model or 'unknown board'}) matches no device profile: "
                              f"name one with {f('profile')}")
        return name
    return "cuda" if hw.has_gpu else "cpu"


def advertise(profile: str | None = None, tag: str | None = None) -> tuple[dict, dict]:
    """(resources, labels) this machine joins with: its profile and what it can run."""
    hw = hardware.detect()
    if profile:
        check_profile(load_profile(profile), hw)
    else:
        profile = detect_profile(hw)
    if tag is not None and not re.fullmatch(r"[A-Za-z0-9_-]+", tag):
        raise OptionError(f"{f('tag')} {tag!r}: use letters, digits, '-' and '_'")
    key = PREFIX + profile + (f"#{tag}" if tag else "")
    labels = {LABEL + "version": label_value(edgeseg.__version__), LABEL + "profile": profile,
              LABEL + "board": label_value(hw.jetson_model or (hw.gpus[0]["name"] if hw.gpus else hw.cpu)),
              LABEL + "l4t": label_value(hw.l4t)}
    labels.update({LABEL + name: label_value(runtime_version(name)) for name in RUNTIMES})
    return {key: 1}, labels


@dataclass(frozen=True)
class Target:
    resource: str  # edgeseg/cpu, edgeseg/jetson-orin#2
    node_id: str
    host: str
    labels: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def profile(self) -> str:
        return self.resource[len(PREFIX):].split("#")[0]

    @property
    def name(self) -> str:
        return f"{self.resource[len(PREFIX):]}@{self.host}"

    @property
    def version(self) -> str | None:
        return self.labels.get(LABEL + "version")

    def runs(self) -> dict:
        return {k[len(LABEL):]: v for k, v in self.labels.items() if k.startswith(LABEL)}

    def matches(self, want: str) -> bool:
        return want in (self.profile, self.name, self.resource[len(PREFIX):], self.host)


def list_targets(ray) -> list[Target]:
    """Every live node's edgeseg resources, sorted by name."""
    found = []
    for node in ray.nodes():
        if not node.get("Alive"):
            continue
        host = node.get("NodeManagerHostname") or node.get("NodeManagerAddress") or "?"
        for key in node.get("Resources", {}):
            if key.startswith(PREFIX):
                found.append(Target(key, node["NodeID"], host, dict(node.get("Labels") or {})))
    return sorted(found, key=lambda t: t.name)


def select(targets: list[Target], wanted: list[str] | None, address: str) -> list[Target]:
    """The targets named (profile, target name or host), all when None."""
    if not targets:
        raise EdgesegError(f"no edgeseg targets in the Ray cluster at {address}: run `edgeseg fleet join {address}` "
                           "on each device")
    if not wanted:
        return targets
    chosen, names = [], ", ".join(t.name for t in targets)
    for want in wanted:
        hits = [t for t in targets if t.matches(want)]
        if not hits:
            raise OptionError(f"{f('targets')} {want}: no such target in the cluster (targets: {names})")
        chosen += [t for t in hits if t not in chosen]
    return chosen


def start_argv(ray_cmd: list[str], resources: dict, labels: dict, *, head: str | None = None,
               port: int | None = None, block: bool = False) -> list[str]:
    """The `ray start` command line that joins `head` (or starts a head on `port`) as these targets."""
    argv = list(ray_cmd) + ["start"]
    argv += ["--head", f"--port={port}", "--include-dashboard=false"] if head is None else [f"--address={head}"]
    if resources:
        argv += [f"--resources={json.dumps(resources, separators=(',', ':'))}"]
    if labels:
        argv += [f"--labels={','.join(f'{k}={v}' for k, v in sorted(labels.items()))}"]
    return argv + (["--block"] if block else [])


def this_host() -> str:
    return socket.gethostname()
