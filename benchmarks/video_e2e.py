"""End-to-end video FPS of `edgeseg run` vs the same artifact's model-only FPS, and the naive loop.

The artifact: the trained S²-FPN18 (CamVid, 11 classes) exported at 360x480 INT8 for the CPU
(`edgeseg export --precision int8 --device cpu`), run by OpenVINO; and the same with
`--embed-preprocess --argmax uint8`, where preprocessing and the argmax run inside the model. The video: camvid-half val
(sequence 0016E5, 15 frames/s) frames in name order, resized to 480x360 and written as MPEG-4
(mp4v), as a dash-cam would hand it over. These are timed, interleaved round by round
(A B C A B C ...) so a noisy shared machine hits them alike:
  model   `runner.infer` alone on one preprocessed frame (what `edgeseg bench` reports), synchronous
          and asynchronous (as many requests in flight as the pipeline keeps); and asynchronous
          with the argmax appended in the runtime (RunnerOptions.class_map)
  e2e     `edgeseg run`'s pipeline: decode, preprocess, infer, postprocess (palette, overlay; the
          class map comes from the runtime, runtime/class_map.py), write MJPG .avi; five threads,
          bounded queues, OpenVINO async requests
  e2e-host the same with the class map made on the host (post.class_map), as before
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

import numpy as np

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
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        labels = to_labels(runner.infer(feed(frame)[None])[0], frame.shape[:2], "logits")
        writer.write(overlay(frame, colorize(labels, palette)))
        n += 1
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    writer.release()
    cap.release()
    return {"frames": n, "wall_s": wall, "fps": n / wall, "cpu_ms_per_frame": cpu * 1000.0 / n}


def one_round(artifact: str, video: Path, tmp: Path, seconds: float) -> dict:
    from edgeseg.bench.accuracy import feeder
    from edgeseg.bench.speed import cpu_threads
    from edgeseg.bench.visualize import palette_for
    from edgeseg.runtime import open_runner
    from edgeseg.runtime.choice import RunnerRequest
    from edgeseg.video import RunOptions, run_video
    from edgeseg.video.model_time import time_async, time_sync

    import cv2

    with open_runner(artifact, "openvino", class_map=True) as runner:  # the artifact with the argmax in the runtime
        ok, frame = cv2.VideoCapture(str(video)).read()
        async_cm = cpu_timed(lambda: time_async(runner, feeder(runner)[1](frame)[None], seconds), 2)
    with open_runner(artifact, "openvino") as runner:
        ok, frame = cv2.VideoCapture(str(video)).read()
        x = feeder(runner)[1](frame)[None]
        sync = cpu_timed(lambda: time_sync(runner, x, seconds), 2)
        asyn = cpu_timed(lambda: time_async(runner, x, seconds), 2)
        palette, threads = palette_for(runner), cpu_threads(runner)
        naive = naive_loop(runner, video, tmp / "naive.avi", palette)
    runs = {}
    for name, class_map in (("e2e", True), ("e2e_host", False)):
        cpu0 = []  # process CPU time once the model is loaded, before the first frame
        runs[name] = run_video(artifact, str(video), RunOptions(video=str(tmp / "e2e.avi"), model_seconds=0),
                               request=RunnerRequest(backend="openvino", class_map=class_map),
                               on_start=lambda run, source: cpu0.append(time.process_time()))
        runs[name]["cpu_ms_per_frame"] = (time.process_time() - cpu0[0]) * 1000.0 / runs[name]["frames_out"]
    return {"sync": sync, "async": asyn, "async_class_map": async_cm, "threads": threads, **runs, "naive": naive,
            "loadavg": os.getloadavg()}


def cpu_timed(timing, warmup: int) -> dict:
    """A model-only timing with the process's CPU time per inference (every thread: the model's
    and ours), a figure the other tenants of a shared machine do not move much."""
    c0 = time.process_time()
    result = timing()
    result["cpu_ms_per_frame"] = (time.process_time() - c0) * 1000.0 / (result["count"] + warmup)
    return result


def class_maps_check(artifact: str, video: Path, tmp: Path) -> dict:
    """Every frame's class map from `edgeseg run` (masks; the runtime's argmax) against the host's
    argmax of the same artifact's logits (`predict`'s path) for the same frame."""
    import cv2

    from edgeseg.bench.accuracy import predict_labels
    from edgeseg.runtime import open_runner
    from edgeseg.runtime.choice import RunnerRequest
    from edgeseg.video import RunOptions, run_video

    summary = run_video(artifact, str(video), RunOptions(masks=str(tmp / "masks"), model_seconds=0),
                        request=RunnerRequest(backend="openvino", class_map=True))
    cap, frames, same = cv2.VideoCapture(str(video)), [], 0
    while (frame := cap.read()[1]) is not None:
        frames.append(frame)
    with open_runner(artifact, "openvino") as runner:
        for i, frame in enumerate(frames):
            written = cv2.imread(str(tmp / "masks" / f"{i:06d}.png"), cv2.IMREAD_UNCHANGED)
            same += int(np.array_equal(written, predict_labels(runner, frame)))
    return {"frames": len(frames), "identical": same, "run_backend": summary["backend"]}


def host_profile(artifact: str, video: Path, repeat: int = 30) -> dict:
    """Mean ms of each host step on one real frame's output, the NumPy way `predict` takes and the
    pipeline's (post.py): argmax over the logits, palette, blend; and the MJPG encode."""
    import cv2

    from edgeseg.bench.accuracy import feeder, to_labels
    from edgeseg.bench.visualize import colorize, overlay, palette_for
    from edgeseg.runtime import open_runner
    from edgeseg.video.post import Painter, class_map

    ok, frame = cv2.VideoCapture(str(video)).read()
    with open_runner(artifact, "openvino") as runner:
        feed = feeder(runner)[1]
        logits = runner.infer(feed(frame)[None])[0]
        palette = palette_for(runner)
    paint = Painter(palette, 0.5)
    labels = class_map(logits, frame.shape[:2])
    assert np.array_equal(labels, to_labels(logits, frame.shape[:2], "logits"))
    steps = {
        "preprocess (contract apply)": lambda: feed(frame),
        "argmax numpy (to_labels)": lambda: to_labels(logits, frame.shape[:2], "logits"),
        "argmax opencv (post.class_map)": lambda: class_map(logits, frame.shape[:2]),
        "palette + blend numpy (colorize, overlay)": lambda: overlay(frame, colorize(labels, palette)),
        "palette + blend opencv (post.Painter)": lambda: paint(frame, labels),
        "JPEG encode (MJPG frame)": lambda: cv2.imencode(".jpg", frame),
    }
    out = {}
    for name, step in steps.items():
        step()
        t0 = time.perf_counter()
        for _ in range(repeat):
            step()
        out[name] = round((time.perf_counter() - t0) * 1000.0 / repeat, 3)
    return out


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
    ap.add_argument("--model-seconds", type=float, default=5.0, help="each of the sync and async timings")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "video-e2e"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        artifacts = args.artifact or [export_int8(tmp / "export", g) for g in (False, True)]
        video = make_video(tmp / "camvid-0016E5-360x480.mp4", args.frames)
        start = machine()
        checks = {a: class_maps_check(a, video, tmp / Path(a).stem) for a in artifacts}
        profiles = {a: host_profile(a, video) for a in artifacts}
        rounds: dict[str, list] = {a: [] for a in artifacts}
        for i in range(args.rounds):
            for a in artifacts:  # artifacts interleaved too
                rounds[a].append(one_round(a, video, tmp, args.model_seconds))
                r = rounds[a][-1]
                print(f"round {i + 1} {Path(a).name}: model sync {r['sync']['fps']:.1f} FPS, async "
                      f"{r['async']['fps']:.1f} FPS ({r['async']['requests']} requests), async class map "
                      f"{r['async_class_map']['fps']:.1f}, e2e {r['e2e']['e2e_fps']:.1f} FPS, e2e host argmax "
                      f"{r['e2e_host']['e2e_fps']:.1f}, naive {r['naive']['fps']:.1f} FPS; load {r['loadavg'][0]:.1f}",
                      flush=True)
    results = {"machine": start, "loadavg_end": os.getloadavg(), "frames": args.frames, "rounds": args.rounds,
               "input": list(SIZE), "artifacts": [summarize(rounds[a], a, checks[a], profiles[a]) for a in artifacts]}
    write(results, Path(args.out))


def summarize(rounds: list[dict], artifact: str, check: dict, profile: dict) -> dict:
    med = lambda xs: round(statistics.median(xs), 3)  # noqa: E731
    stages = {s: med([r["e2e"]["stages"][s]["mean_ms"] for r in rounds]) if rounds[0]["e2e"]["stages"][s] else None
              for s in rounds[0]["e2e"]["stages"]}
    sync, asyn = med([r["sync"]["fps"] for r in rounds]), med([r["async"]["fps"] for r in rounds])
    e2e, naive = med([r["e2e"]["e2e_fps"] for r in rounds]), med([r["naive"]["fps"] for r in rounds])
    e2e_host, asyn_cm = med([r["e2e_host"]["e2e_fps"] for r in rounds]), med([r["async_class_map"]["fps"] for r in rounds])
    return {"artifact": Path(artifact).name, "backend": "openvino CPU", "model_sync_fps": sync,
            "model_sync_median_ms": med([r["sync"]["median_ms"] for r in rounds]), "model_async_fps": asyn,
            "requests": rounds[0]["async"]["requests"], "e2e_fps": e2e, "naive_fps": naive,
            "e2e_over_async": round(e2e / asyn, 3), "e2e_over_sync": round(e2e / sync, 3),
            "naive_over_sync": round(naive / sync, 3),
            "e2e_over_async_per_round": [round(r["e2e"]["e2e_fps"] / r["async"]["fps"], 3) for r in rounds],
            "model_async_class_map_fps": asyn_cm, "e2e_host_fps": e2e_host,
            "e2e_host_over_async": round(e2e_host / asyn, 3),
            "e2e_host_over_async_per_round": [round(r["e2e_host"]["e2e_fps"] / r["async"]["fps"], 3) for r in rounds],
            "cpu_ms_per_frame": {"model sync": med([r["sync"]["cpu_ms_per_frame"] for r in rounds]),
                                 "model async": med([r["async"]["cpu_ms_per_frame"] for r in rounds]),
                                 "model async, class map in the runtime": med(
                                     [r["async_class_map"]["cpu_ms_per_frame"] for r in rounds]),
                                 "edgeseg run": med([r["e2e"]["cpu_ms_per_frame"] for r in rounds]),
                                 "edgeseg run, class map on the host": med(
                                     [r["e2e_host"]["cpu_ms_per_frame"] for r in rounds]),
                                 "naive loop": med([r["naive"]["cpu_ms_per_frame"] for r in rounds])},
            "stage_mean_ms": stages, "latency_p50_ms": med([r["e2e"]["latency_p50_ms"] for r in rounds]),
            "latency_p99_ms": med([r["e2e"]["latency_p99_ms"] for r in rounds]), "class_maps": check,
            "host_profile_ms": profile, "model_threads": rounds[0]["threads"], "per_round": rounds}


def write(result: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    m = result["machine"]
    loads = [r["loadavg"][0] for a in result["artifacts"] for r in a["per_round"]]
    lines = ["# edgeseg run: end-to-end video vs model-only (OpenVINO CPU, S2-FPN18 INT8 360x480)", "",
             f"- machine: {m['cpu']}, {m['cpus']} CPUs; 1-minute load average at start {m['loadavg'][0]:.1f}, "
             f"after each round {min(loads):.1f}-{max(loads):.1f}, end {result['loadavg_end'][0]:.1f} "
             "(a machine shared with other work: every figure is taken under that load, all interleaved)",
             f"- lscpu flags: {m['flags']}",
             "- versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()),
             f"- {result['frames']} frames at {result['input'][1]}x{result['input'][0]} (mp4v), {result['rounds']} "
             "rounds interleaved (model async with the runtime's class map, model sync, model async, naive loop, "
             "`edgeseg run`, `edgeseg run` with the host's class map; artifacts in turn), medians",
             "- model sync: `infer` one at a time; model async: as many requests in flight as the pipeline keeps; "
             "`edgeseg run` writes an MJPG overlay .avi", ""]
    for a in result["artifacts"]:
        c = a["class_maps"]
        lines += [f"## {a['artifact']} ({a['model_threads']} threads)", "", "| what | FPS | x model async | x model sync |",
                  "|---|---|---|---|",
                  f"| model only, async ({a['requests']} requests in flight) | {a['model_async_fps']:.1f} | 1.00 | "
                  f"{a['model_async_fps'] / a['model_sync_fps']:.2f} |",
                  f"| model only, sync ({a['model_sync_median_ms']:.1f} ms median) | {a['model_sync_fps']:.1f} | "
                  f"{a['model_sync_fps'] / a['model_async_fps']:.2f} | 1.00 |",
                  f"| model only, async, argmax in the runtime | {a['model_async_class_map_fps']:.1f} | "
                  f"{a['model_async_class_map_fps'] / a['model_async_fps']:.2f} | "
                  f"{a['model_async_class_map_fps'] / a['model_sync_fps']:.2f} |",
                  f"| edgeseg run (pipeline, async, class maps from the runtime) | {a['e2e_fps']:.1f} | "
                  f"{a['e2e_over_async']:.2f} | {a['e2e_over_sync']:.2f} |",
                  f"| edgeseg run, class maps on the host (before) | {a['e2e_host_fps']:.1f} | "
                  f"{a['e2e_host_over_async']:.2f} | {a['e2e_host_fps'] / a['model_sync_fps']:.2f} |",
                  f"| naive loop (sync) | {a['naive_fps']:.1f} | - | {a['naive_over_sync']:.2f} |", "",
                  "e2e / model async per round: " + ", ".join(f"{x:.2f}" for x in a["e2e_over_async_per_round"]),
                  "(host class maps: " + ", ".join(f"{x:.2f}" for x in a["e2e_host_over_async_per_round"]) + ")", "",
                  f"class maps of `edgeseg run` ({c['run_backend']}) identical to the host's argmax of the logits "
                  f"(`predict`'s path): {c['identical']} of {c['frames']} frames", "",
                  "| CPU time per frame (all threads of the process) | ms |", "|---|---|"]
        lines += [f"| {k} | {v:.1f} |" for k, v in a["cpu_ms_per_frame"].items()]
        lines += ["",
                  "| pipeline stage | mean ms |", "|---|---|"]
        lines += [f"| {s} | {v:.2f} |" for s, v in a["stage_mean_ms"].items() if v is not None]
        lines += ["", "| host step, one frame, before the rounds | mean ms |", "|---|---|"]
        lines += [f"| {s} | {v:.2f} |" for s, v in a["host_profile_ms"].items()]
        lines += ["", f"capture-to-output latency p50 {a['latency_p50_ms']:.1f} ms, p99 {a['latency_p99_ms']:.1f} ms", ""]
    out.with_suffix(".md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
