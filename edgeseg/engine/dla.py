"""Which layers run on the DLA and which fell back to the GPU, from the builder's log.

TensorRT logs (INFO level) a section per device after a DLA build:
  ---------- Layers Running on DLA ----------
  [DlaLayer] {ForeignNode[/stem/Conv.../Relu]}
  ---------- Layers Running on GPU ----------
  [GpuLayer] RESIZE: /Resize
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_LAYER = re.compile(r"\[(Dla|Gpu)Layer\]\s*(.+?)\s*$")


@dataclass
class DlaReport:
    dla: list[str] = field(default_factory=list)
    gpu: list[str] = field(default_factory=list)

    @property
    def fell_back(self) -> list[str]:
        return self.gpu

    def to_dict(self) -> dict:
        return {"dla_layers": self.dla, "gpu_fallback_layers": self.gpu,
                "summary": f"{len(self.dla)} DLA layer groups, {len(self.gpu)} layers fell back to the GPU"}


def parse_log(lines) -> DlaReport:
    report = DlaReport()
    for line in lines:
        m = _LAYER.search(line)
        if m:
            (report.dla if m.group(1) == "Dla" else report.gpu).append(m.group(2))
    return report
