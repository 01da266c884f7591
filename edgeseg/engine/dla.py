"""Which layers run on the DLA, which fell back to the GPU, and why: read from the build log.

TensorRT writes this to its logger during a DLA build (the same lines trtexec --verbose
prints, with a timestamp and severity in front):

  [W] [TRT] Layer '/Resize' (RESIZE): Unsupported on DLA. Switching this layer's device type to GPU.
  [I] [TRT] ---------- Layers Running on DLA ----------
  [I] [TRT] [DlaLayer] {ForeignNode[/conv1_x/Conv.../conv5_x/conv5_x.1/relu_1/Relu]}
  [I] [TRT] ---------- Layers Running on GPU ----------
  [I] [TRT] [GpuLayer] RESIZE: /Resize

Older releases print `--------------- Layers running on DLA:` followed by one comma-separated
line. Warnings that name a layer's reason (`/x/MatMul: MatMul is unsupported on DLA, ...`)
are attached to that layer; other DLA warnings are kept as notes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_PREFIX = re.compile(r"^(?:\s*(?:\[\d{1,2}/\d{1,2}/\d{4}-[\d:.]+\]|\[[IWEVF]\]|\[TRT\]|"
                     r"(?:INFO|WARNING|WARN|ERROR|VERBOSE):\s*\[TRT\]:?))+\s*")
_SECTION = re.compile(r"^-{5,}\s*Layers\s+running\s+on\s+(DLA|GPU)\s*(-*|:)\s*$", re.I)
_ENTRY = re.compile(r"^\[(Dla|Gpu)Layer\]\s*(.+?)\s*$")
_TYPED = re.compile(r"^([A-Z][A-Z_0-9]*):\s+(.+)$")
_SWITCHED = [
    re.compile(r"^Layer '(?P<name>.+)' \((?P<type>[A-Z_0-9]+)\): Unsupported on DLA\. "
               r"Switching this layer's device type to GPU"),
    re.compile(r"^Default DLA is enabled but layer (?P<name>.+) is not supported on DLA, falling back to GPU"),
    re.compile(r"^(?P<reason>DLA only supports .+?)\. Switching (?P<name>.+) device type to GPU"),
]


@dataclass
class Fallback:
    layer: str
    type: str | None = None
    reason: str | None = None

    def to_dict(self) -> dict:
        return {"layer": self.layer, "type": self.type, "reason": self.reason}


@dataclass
class DlaReport:
    dla: list[str] = field(default_factory=list)  # DLA subgraphs ({ForeignNode[first...last]})
    gpu: list[str] = field(default_factory=list)  # layers TensorRT put on the GPU
    fallbacks: list[Fallback] = field(default_factory=list)  # layers moved off the DLA, with the reason
    notes: list[str] = field(default_factory=list)  # other DLA warnings (all-fallback, subgraph limits)

    @property
    def summary(self) -> str:
        text = f"{len(self.dla)} DLA subgraph(s), {len(self.gpu)} layer(s) on the GPU"
        if self.fallbacks:
            text += f" ({len(self.fallbacks)} moved off the DLA: unsupported there)"
        if not self.dla:
            text += "; nothing runs on the DLA"
        return text

    def to_dict(self) -> dict:
        return {"summary": self.summary, "dla_layers": self.dla, "gpu_layers": self.gpu,
                "fallbacks": [f.to_dict() for f in self.fallbacks], "notes": self.notes}


def strip_prefix(line: str) -> str:
    """The logger's message without trtexec / DeepStream timestamps and severity tags."""
    return _PREFIX.sub("", line.rstrip("\n")).strip()


def _split_list(text: str) -> list[str]:
    """Top-level comma-separated items; commas inside {}, [] or () stay with their item."""
    items, depth, current = [], 0, []
    for ch in text:
        if ch in "{[(":
            depth += 1
        elif ch in "}])":
            depth -= 1
        if ch == "," and depth == 0:
            items.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    items.append("".join(current).strip())
    return [i for i in items if i]


def _switched(message: str) -> Fallback | None:
    for pattern in _SWITCHED:
        m = pattern.match(message)
        if m:
            groups = m.groupdict()
            return Fallback(groups["name"], groups.get("type"), groups.get("reason"))
    return None


def parse_log(lines) -> DlaReport:
    """A DlaReport from builder log lines (any iterable of str, or one str)."""
    messages = [strip_prefix(l) for l in (lines.splitlines() if isinstance(lines, str) else lines)]
    report, section, old_style_pending = DlaReport(), None, False
    other: list[str] = []  # DLA warnings that are not a section, an entry or a switch
    for msg in messages:
        header = _SECTION.match(msg)
        if header:
            section, old_style_pending = header.group(1).upper(), header.group(2) == ":"
            continue
        entry = _ENTRY.match(msg)
        if entry:
            (report.dla if entry.group(1) == "Dla" else report.gpu).append(entry.group(2))
        elif old_style_pending and msg:
            (report.dla if section == "DLA" else report.gpu).extend(_split_list(msg))
            old_style_pending = False
        elif (fallback := _switched(msg)) is not None:
            report.fallbacks.append(fallback)
        elif "DLA" in msg and msg not in other:
            other.append(msg)
    _attach_reasons(report, other)
    return report


def _attach_reasons(report: DlaReport, messages: list[str]) -> None:
    """'LAYER: why' lines explain a fallback of LAYER; the rest are notes."""
    by_name = {f.layer: f for f in report.fallbacks}
    for msg in messages:
        name, sep, why = msg.partition(": ")
        target = by_name.get(name) if sep else None
        if target is not None:
            target.reason = target.reason or why.rstrip(".")
        else:
            report.notes.append(msg)


def gpu_layer_type(entry: str) -> tuple[str | None, str]:
    """'RESIZE: /Resize' -> ('RESIZE', '/Resize'); entries without a type -> (None, entry)."""
    m = _TYPED.match(entry)
    return (m.group(1), m.group(2)) if m else (None, entry)
