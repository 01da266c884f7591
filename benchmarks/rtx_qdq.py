"""Build ONNX models with TensorRT-RTX on this CPU and record what the plan did with their Q/DQ.

    python benchmarks/rtx_qdq.py MODEL.int8.onnx [MODEL2.onnx ...] [--out results/rtx-qdq.json]

For each model: parser layer and Q/DQ counts, AOT build time for the default RTX targets, and
the fusion report (Q/DQ fused into INT8 kernels, folded away, left on their own) read from the
build's layer list. Needs only `pip install 'edgeseg[rtx]'`, no GPU.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "rtx-qdq.json"))
    args = ap.parse_args()

    from edgeseg.engine.builder import BuildSettings, build_engine
    from edgeseg.engine.parse_check import parse_onnx

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models:
            parsed = parse_onnx(model)
            engine = build_engine(model, Path(tmp) / (Path(model).stem + ".engine"),
                                  BuildSettings(runtime="tensorrt-rtx"), progress=False)
            meta = json.loads(Path(str(engine) + ".json").read_text())
            rows.append({"model": Path(model).name, "parse": parsed.to_dict() if parsed else None,
                         "build_seconds": meta["provenance"]["build_seconds"], "engine_bytes": meta["engine"]["bytes"],
                         "targets": meta["target"]["compute_capabilities"], "tensorrt_rtx": meta["target"]["tensorrt"],
                         "qdq_fusion": meta["engine"].get("qdq_fusion")})
            print(f"{rows[-1]['model']}: {(rows[-1]['qdq_fusion'] or {}).get('summary', 'no Q/DQ')}, "
                  f"built in {rows[-1]['build_seconds']} s")
    out = {"machine": {"cpu": platform.processor() or platform.machine(), "python": platform.python_version()},
           "timings": "provisional (shared 2-core machine)", "results": rows}
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(args.out)


if __name__ == "__main__":
    main()
