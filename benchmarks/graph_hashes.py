"""Export the trained checkpoint at 180x240 in fp32/fp16/int8/fp8; print each final ONNX graph's sha256
(artifacts.graph_sha256: nodes and weights, not metadata) and its sidecar's fields, to show that a change
leaves the exported graphs byte-identical (issue 29: run on the old tree and the new, compare).

    PYTHONPATH=$PWD python benchmarks/graph_hashes.py OUT_DIR RESULTS.json
"""
import json
import sys
import time
from pathlib import Path
import onnx
from edgeseg.artifacts import graph_sha256
from edgeseg.export.options import export_options
from edgeseg.export.pipeline import run_export

CKPT = "/work/shared/fixtures/s2fpn18_camvid_half.pth"
CAMVID = "/work/shared/data/camvid-half"
out = Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)
res = {}
for p in ("fp32", "fp16", "int8", "fp8"):
    kw = dict(precision=p, input_size=(180, 240), num_samples=4)
    if p in ("int8", "fp8"):
        kw.update(calib=f"{CAMVID}/camvid_train_list.txt", calib_data=CAMVID, calib_limit=16)
    t = time.time()
    r = run_export(CKPT, out, export_options(**kw))
    m = onnx.load(str(r.final))
    side = json.loads(Path(str(r.final) + ".json").read_text())
    res[p] = {"file": r.final.name, "graph_sha256": graph_sha256(m), "sidecar_keys": sorted(side),
              "provenance_keys": sorted(side.get("provenance", {})), "seconds": round(time.time() - t, 1)}
    print(p, res[p]["file"], res[p]["graph_sha256"], res[p]["seconds"], flush=True)
Path(sys.argv[2]).write_text(json.dumps(res, indent=2))
