"""End-to-end video FPS of `edgeseg run` vs the same artifact's model-only FPS, and the naive loop.

The artifact: the trained S²-FPN18 (CamVid, 11 classes) exported at 360x480 INT8 for the CPU
(`edgeseg export --precision int8 --device cpu`), run by OpenVINO; and the same with
`--embed-preprocess --argmax uint8`, where preprocessing and the argmax run inside the model. The video: camvid-half val
(sequence 0016E5, 15 frames/s) frames in name order, resized to 480x360 and written as MPEG-4
(mp4v), as a dash-cam would hand it over. Three things are timed, interleaved round by round
(A B C A B C ...) so a noisy shared machine hits them alike:
  model   `runner.infer` alone on one preprocessed frame (what `edgeseg bench` reports)
  e2e     `edgeseg run`'s pipeline: decode, preprocess, infer, postprocess (argmax, palette,
          overlay), write MJPG .avi; five threads, bounded queues, OpenVINO async requests
  naive   the same steps one after another in one loop (read, infer, paint, write)
Medians over rounds; per-stage mean ms from the pipeline's own clocks.

Usage (one command; re-run it on a quiet machine):
    python benchmarks/video_e2e.py [--rounds 5] [--frames 101] [--artifact INT8.onnx ...]
Results: benchmarks/results/video-e2e.json and .md (with lscpu flags and versions).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = (ROOT / ".." / "shared").resolve()
SIZE = (360, 480)


def export_int8(work: Path, in_graph: bool) -> str:
    """`edgeseg export --precision int8 --device cpu` at 360x480; `in_graph` adds --embed-preprocess
    --argmax uint8 (uint8 BGR in, class map out: the pre- and postprocessing move into the model)."""
    from edgeseg.export.options import ContractOptions, ExportOptions, QuantOptions
    from edgeseg.export.pipeline import run_export

    extra = {"embed_preprocess": True, "argmax": "uint8"} if in_graph else {}
    options = ExportOptions(precision="int8", device="cpu", contract=ContractOptions(input_size=SIZE, **extra),
                            quant=QuantOptions(calib=str(ROOT / "calib" / "camvid-demo.txt")))
    ckpt = ROOT / "edgeseg" / "assets" / "camvid-demo" / "s2fpn18_camvid_half.pth"
    return str(run_export(ckpt, work / ("in-graph" if in_graph else "plain"), options).final)


def make_video(path: Path, frames: int) -> Path:
    import cv2

    names = sorted((SHARED / "data" / "camvid-half" / "val").glob("0016E5_*.png"))[:frames]
    if not names:
        sys.exit(f"camvid-half val frames not found under {SHARED}")
    writer = cv2.VideoWriter(str(path), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*"mp4v"), 15.0, (SIZE[1], SIZE[0]))
    for name in names:
        writer.write(cv2.resize(cv2.imread(str(name)), (SIZE[1], SIZE[0]), interpolation=cv2.INTER_LINEAR))
    writer.release()
    return path


def naive_loop(runner, video: Path, out: Path, palette) -> dict:
    """Read, infer, paint, write, one frame after another: what a first script does."""
    import cv2

    from edgeseg.bench.accuracy import feeder, to_labels
    from edgeseg.bench.visualize import colorize, overlay

    feed = feeder(runner)[1]
    cap = cv2.VideoCapture(str(video))
    writer = cv2.VideoWriter(str(out), cv2.CAP_OPENCV_MJPEG, cv2.VideoWriter_fourcc(*"MJPG"), 15.0, (SIZE[1], SIZE[0]))
    n, t0 = 0, time.perf_counter()
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        labels = to_labels(runner.infer(feed(frame)[None])[0], frame.shape[:2], "logits")
        writer.write(overlay(frame, colorize(labels, palette)))
        n += 1
    wall = time.perf_counter() - t0
    writer.release()
    cap.release()
    return {"frames": n, "wall_s": wall, "fps": n / wall}


def one_round(artifact: str, video: Path, tmp: Path, seconds: float) -> dict:
    from edgeseg.bench.accuracy import feeder
    from edgeseg.bench.speed import time_runner
    from edgeseg.bench.visualize import palette_for
    from edgeseg.runtime import open_runner
    from edgeseg.video import RunOptions, run_video

    import cv2

    with open_runner(artifact, "openvino") as runner:
        ok, frame = cv2.VideoCapture(str(video)).read()
        model = time_runner(runner, feeder(runner)[1](frame)[None], warmup=5, iters=None, duration=seconds)
        palette = palette_for(runner)
        naive = naive_loop(runner, video, tmp / "naive.avi", palette)
    e2e = run_video(artifact, str(video), RunOptions(video=str(tmp / "e2e.avi"), model_seconds=0), backend="openvino")
    return {"model_fps": model["end_to_end"]["fps"], "model_median_ms": model["end_to_end"]["median_ms"],
            "threads": model["cpu_threads"], "e2e": e2e, "naive": naive}


def machine() -> dict:
    from edgeseg.artifacts import versions

    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    info = dict(line.split(":", 1) for line in lscpu.splitlines() if ":" in line)
    return {"cpu": info.get("Model name", "?").strip(), "cpus": info.get("CPU(s)", "?").strip(),
            "flags": info.get("Flags", "").strip(), "loadavg": os.getloadavg(),
            "versions": versions("onnxruntime", "openvino", "cv2", "numpy")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--artifact", action="append", help="INT8 ONNX at 360x480, repeatable (default: the plain "
                    "export and the one with pre/postprocessing in the graph, made in a temporary folder)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--frames", type=int, default=101)
    ap.add_argument("--model-seconds", type=float, default=5.0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "video-e2e"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        artifacts = args.artifact or [export_int8(tmp / "export", g) for g in (False, True)]
        video = make_video(tmp / "camvid-0016E5-360x480.mp4", args.frames)
        start = machine()
        rounds: dict[str, list] = {a: [] for a in artifacts}
        for i in range(args.rounds):
            for a in artifacts:  # artifacts interleaved too
                rounds[a].append(one_round(a, video, tmp, args.model_seconds))
                r = rounds[a][-1]
                print(f"round {i + 1} {Path(a).name}: model {r['model_fps']:.1f} FPS, e2e {r['e2e']['e2e_fps']:.1f} "
                      f"FPS, naive {r['naive']['fps']:.1f} FPS", flush=True)
    results = {"machine": start, "loadavg_end": os.getloadavg(), "frames": args.frames, "rounds": args.rounds,
               "input": list(SIZE), "artifacts": [summarize(rounds[a], a) for a in artifacts]}
    write(results, Path(args.out))


def summarize(rounds: list[dict], artifact: str) -> dict:
    med = lambda xs: round(statistics.median(xs), 3)  # noqa: E731
    stages = {s: med([r["e2e"]["stages"][s]["mean_ms"] for r in rounds]) if rounds[0]["e2e"]["stages"][s] else None
              for s in rounds[0]["e2e"]["stages"]}
    model, e2e = med([r["model_fps"] for r in rounds]), med([r["e2e"]["e2e_fps"] for r in rounds])
    naive = med([r["naive"]["fps"] for r in rounds])
    return {"artifact": Path(artifact).name, "backend": "openvino CPU", "model_fps": model, "e2e_fps": e2e, "naive_fps": naive,
            "e2e_over_model": round(e2e / model, 3), "naive_over_model": round(naive / model, 3),
            "stage_mean_ms": stages, "latency_p50_ms": med([r["e2e"]["latency_p50_ms"] for r in rounds]),
            "latency_p99_ms": med([r["e2e"]["latency_p99_ms"] for r in rounds]),
            "model_threads": rounds[0]["threads"], "per_round": rounds}


def write(result: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    m = result["machine"]
    lines = ["# edgeseg run: end-to-end video vs model-only (OpenVINO CPU, S2-FPN18 INT8 360x480)", "",
             f"- machine: {m['cpu']}, {m['cpus']} CPUs; load average at start {m['loadavg'][0]:.1f}, end "
             f"{result['loadavg_end'][0]:.1f}", f"- lscpu flags: {m['flags']}",
             "- versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()),
             f"- {result['frames']} frames at {result['input'][1]}x{result['input'][0]} (mp4v), {result['rounds']} "
             "rounds interleaved (model, naive, e2e; artifacts in turn), medians", ""]
    for a in result["artifacts"]:
        lines += [f"## {a['artifact']} ({a['model_threads']} threads)", "", "| what | FPS | x model |", "|---|---|---|",
                  f"| model only (runner.infer) | {a['model_fps']:.1f} | 1.00 |",
                  f"| edgeseg run (pipeline) | {a['e2e_fps']:.1f} | {a['e2e_over_model']:.2f} |",
                  f"| naive loop | {a['naive_fps']:.1f} | {a['naive_over_model']:.2f} |", "",
                  "| stage | mean ms |", "|---|---|"]
        lines += [f"| {s} | {v:.2f} |" for s, v in a["stage_mean_ms"].items() if v is not None]
        lines += ["", f"capture-to-output latency p50 {a['latency_p50_ms']:.1f} ms, p99 {a['latency_p99_ms']:.1f} ms", ""]
    out.with_suffix(".md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
