"""Measure peak memory of one inference at two input sizes and fit bytes per input pixel.

Each point runs in a fresh process (peak RSS is a high-water mark). Writes
edgeseg/data/memory.json, which `edgeseg.memory` reads to refuse sizes that would not fit.
Usage: python benchmarks/memory_per_pixel.py [CKPT] (default ../shared/fixtures/s2fpn18_camvid_half.pth)
"""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CKPT = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO.parent / "shared" / "fixtures" / "s2fpn18_camvid_half.pth"
SIZES = ((180, 240), (360, 480))
WEIGHTS_ALLOWANCE = 500_000_000
# variant -> Arch(generation, depth, classes, resnet34m); weights do not change activation memory.
VARIANTS = {"s2fpn18": ("current", 18, False), "s2fpn34": ("current", 34, False), "s2fpn34m": ("current", 34, True),
            "s2fpn18v1": ("v1", 18, False), "s2fpn34v1": ("v1", 34, False),
            "spfnet18": ("spfnet", 18, False), "spfnet34": ("spfnet", 34, False)}

POINT = r"""
import resource, sys, numpy as np, torch
from edgeseg.models.registry import Arch
gen, depth, m, h, w = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", int(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(1)
model = Arch(gen, depth, 19, m).build().eval()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with torch.inference_mode():
    model(torch.zeros(1, 3, h, w))
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) * 1024)
"""


def peak(variant, h, w) -> int:
    gen, depth, m = VARIANTS[variant]
    out = subprocess.run([sys.executable, "-c", POINT, gen, str(depth), "1" if m else "0", str(h), str(w)], capture_output=True, text=True,
                         env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, check=True)
    return int(out.stdout.strip().splitlines()[-1])


def main():
    table = {}
    for variant in VARIANTS:
        (h0, w0), (h1, w1) = SIZES
        p0, p1 = peak(variant, h0, w0), peak(variant, h1, w1)
        per_pixel = (p1 - p0) / (h1 * w1 - h0 * w0)
        # base: what does not grow with pixels, plus WEIGHTS_ALLOWANCE for the weights and the runtime itself
        base = max(0, round(p0 - per_pixel * h0 * w0)) + WEIGHTS_ALLOWANCE
        table[variant] = {"bytes_per_pixel": round(per_pixel), "base_bytes": base,
                          "points": {f"{h0}x{w0}": p0, f"{h1}x{w1}": p1}}
        print(variant, table[variant], flush=True)
    out = REPO / "edgeseg" / "data" / "memory.json"
    out.write_text(json.dumps({"about": "peak RSS growth of one batch-1 PyTorch CPU inference, per input pixel "
                                        "(benchmarks/memory_per_pixel.py)", "variants": table}, indent=2) + "\n")


if __name__ == "__main__":
    main()
