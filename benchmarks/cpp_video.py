"""edgeseg-cpp's video loop vs `edgeseg run` on the same INT8 artifact and clip, and both vs the
artifact's model-only rate.

The artifact and clip are video_e2e.py's: the S²-FPN18 demo checkpoint exported at 360x480 INT8 for
the CPU (`edgeseg export --precision int8 --device cpu`), and camvid-half val (sequence 0016E5,
15 frames/s) frames in name order at 480x360, MPEG-4 (mp4v). Both programs run OpenVINO on 2
threads, write the Motion-JPEG overlay and time the model alone afterwards on the last frame's
input, as edgeseg/video/model_time.py does: one request at a time (sync), then as many in flight
as their loop keeps (async, the rate end to end is compared with). Interleaved round by round
(Python, C++, Python, ...) on a shared machine, each run with the load average before it; medians.

Usage (after building edgeseg-cpp, cpp/README.md):
    python benchmarks/cpp_video.py --cpp build/cpp/edgeseg-cpp [--rounds 5] [--frames 101] [--artifact INT8.onnx]
Results: benchmarks/results/cpp-video.json and .md (with lscpu flags and versions).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from video_e2e import ROOT, export_int8, machine, make_video  # noqa: E402  (the same artifact and clip)

from edgeseg.video.cpp import run_cpp  # noqa: E402

THREADS = 2


def python_run(artifact: str, video: Path, out: Path, seconds: float) -> dict:
    from edgeseg.runtime.choice import RunnerRequest
    from edgeseg.video import RunOptions, run_video

    return run_video(artifact, str(video), RunOptions(video=str(out), model_seconds=seconds), request=RunnerRequest(backend="openvino", threads=THREADS, class_map=True))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cpp", required=True, help="the edgeseg-cpp program")
    ap.add_argument("--artifact", help="INT8 ONNX at 360x480 (default: exported as video_e2e.py does)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--frames", type=int, default=101)
    ap.add_argument("--model-seconds", type=float, default=5.0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "cpp-video"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        artifact = args.artifact or export_int8(tmp / "export", False)
        video = make_video(tmp / "camvid-0016E5-360x480.mp4", args.frames)
        start = machine()
        start["versions"]["edgeseg-cpp opencv"] = subprocess.run(["pkg-config", "--modversion", "opencv4"],
                                                                 capture_output=True, text=True).stdout.strip()
        rounds = []
        for i in range(args.rounds):
            r = {}
            for side in ("python", "cpp"):
                load = os.getloadavg()[0]
                out = tmp / f"{side}.avi"
                r[side] = (python_run(artifact, video, out, args.model_seconds) if side == "python" else
                           run_cpp(args.cpp, artifact, video, threads=THREADS, model_seconds=args.model_seconds,
                                   video_out=out))
                r[side]["load_before"] = load
            rounds.append(r)
            print(f"round {i + 1}: python e2e {r['python']['e2e_fps']:.1f} FPS (model async {r['python']['model_fps']:.1f}), "
                  f"C++ e2e {r['cpp']['e2e_fps']:.1f} FPS (model async {r['cpp']['model_fps']:.1f}); load "
                  f"{r['python']['load_before']:.1f}/{r['cpp']['load_before']:.1f}", flush=True)
    result = {"machine": start, "loadavg_end": os.getloadavg(), "frames": args.frames, "rounds": args.rounds,
              "threads": THREADS, "artifact": Path(artifact).name, "summary": summarize(rounds), "per_round": rounds}
    write(result, Path(args.out))


def summarize(rounds: list[dict]) -> dict:
    med = lambda xs: round(statistics.median(xs), 3)  # noqa: E731
    out = {}
    for side in ("python", "cpp"):
        runs = [r[side] for r in rounds]
        out[side] = {"e2e_fps": med([r["e2e_fps"] for r in runs]), "model_fps": med([r["model_fps"] for r in runs]),
                     "model_sync_fps": med([r["model"]["sync"]["fps"] for r in runs]),
                     "requests": runs[0]["requests"],
                     "e2e_over_model": med([r["e2e_over_model"] for r in runs]),
                     "stage_mean_ms": {s: med([r["stages"][s]["mean_ms"] for r in runs]) for s in runs[0]["stages"]
                                       if all(r["stages"][s] for r in runs)},
                     "latency_p50_ms": med([r["latency_p50_ms"] for r in runs]),
                     "load_before": med([r["load_before"] for r in runs])}
    out["cpp_over_python_e2e"] = med([r["cpp"]["e2e_fps"] / r["python"]["e2e_fps"] for r in rounds])
    out["cpp_e2e_over_cpp_async_model"] = med([r["cpp"]["e2e_over_model"] for r in rounds])
    return out


def write(result: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    m, s = result["machine"], result["summary"]
    py, cpp = s["python"], s["cpp"]
    lines = [f"# edgeseg-cpp run vs edgeseg run (OpenVINO CPU, {result['artifact']}, 360x480, {result['threads']} threads)",
             "", f"- machine: {m['cpu']}, {m['cpus']} CPUs, shared; load average at start {m['loadavg'][0]:.1f}, end "
             f"{result['loadavg_end'][0]:.1f}; median load before a run: Python {py['load_before']:.1f}, C++ "
             f"{cpp['load_before']:.1f}", f"- lscpu flags: {m['flags']}",
             "- versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()),
             f"- {result['frames']} frames at 480x360 (mp4v), {result['rounds']} rounds interleaved (Python, C++), medians",
             "", "| what | FPS |", "|---|---|",
             f"| edgeseg run, end to end | {py['e2e_fps']:.1f} |",
             f"| edgeseg run's model alone (async, {py['requests']} in flight) | {py['model_fps']:.1f} |",
             f"| edgeseg run's model alone (sync, one at a time) | {py['model_sync_fps']:.1f} |",
             f"| edgeseg-cpp run, end to end | {cpp['e2e_fps']:.1f} |",
             f"| edgeseg-cpp's model alone (async, {cpp['requests']} in flight) | {cpp['model_fps']:.1f} |",
             f"| edgeseg-cpp's model alone (sync, one at a time) | {cpp['model_sync_fps']:.1f} |", "",
             f"C++ end to end = {s['cpp_over_python_e2e']:.2f}x Python's end to end and "
             f"{s['cpp_e2e_over_cpp_async_model']:.2f}x the artifact's asynchronous model-only rate (medians of "
             "per-round ratios).", "", "| stage (mean ms) | edgeseg run | edgeseg-cpp |", "|---|---|---|"]
    lines += [f"| {k} | {py['stage_mean_ms'].get(k, float('nan')):.2f} | {v:.2f} |" for k, v in cpp["stage_mean_ms"].items()]
    lines += ["", f"capture-to-output latency p50: Python {py['latency_p50_ms']:.1f} ms, C++ {cpp['latency_p50_ms']:.1f} ms", ""]
    out.with_suffix(".md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
