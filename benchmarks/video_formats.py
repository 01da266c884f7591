"""Size per minute and encode time of `edgeseg run -o NAME.{mp4,mkv,avi}` (and the MPEG-4 Part 2
fallback of .mp4 where no H.264 encoder is present), on the overlay of a real clip.

The clip is video_e2e.py's (camvid-half val sequence 0016E5, 480x360, 15 frames/s, MPEG-4), run
through an INT8 S2-FPN18 on OpenVINO; each output is one `run_video`, in turn. The write stage's
mean ms is the encode (and mux) per frame, measured inside the pipeline under whatever load the
machine has (recorded).

Usage: python benchmarks/video_formats.py --artifact INT8.onnx [--frames 101]
Results: benchmarks/results/video-formats.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from video_e2e import ROOT, machine, make_video

FPS = 15.0


def main() -> None:
    import av

    import edgeseg.video.sinks as sinks
    from edgeseg.runtime.choice import RunnerRequest
    from edgeseg.video import RunOptions, run_video

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--artifact", required=True)
    ap.add_argument("--frames", type=int, default=101)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "video-formats"))
    args = ap.parse_args()
    rows, start = [], machine()
    chosen = sinks.video_format
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        clip = make_video(tmp / "clip.mp4", args.frames)
        for name, codec in (("overlay.mp4", None), ("overlay.mkv", None), ("overlay.avi", None),
                            ("overlay-mpeg4.mp4", "mpeg4")):
            sinks.video_format = (lambda p: ("mp4", "mpeg4")) if codec else chosen  # the fallback, forced
            d = run_video(args.artifact, str(clip), RunOptions(video=str(tmp / name), model_seconds=0),
                          request=RunnerRequest(backend="openvino"))
            size = (tmp / name).stat().st_size
            with av.open(str(tmp / name)) as c:
                stream = c.streams.video[0]
                got = (stream.codec_context.name, sum(1 for _ in c.decode(stream)))
            minutes = d["frames_out"] / FPS / 60.0
            rows.append({"output": name, "codec": got[0], "frames": got[1], "bytes": size,
                         "mb_per_minute": round(size / minutes / 1e6, 2), "write_mean_ms": d["stages"]["write"]["mean_ms"],
                         "loadavg": os.getloadavg()})
            print(rows[-1], flush=True)
    sinks.video_format = chosen
    result = {"machine": start, "frames": args.frames, "size": "480x360", "fps": FPS, "rows": rows}
    out = Path(args.out)
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    lines = ["# edgeseg run: overlay video size per minute by container (480x360, 15 frames/s)", "",
             f"- machine: {start['cpu']}, {start['cpus']} CPUs, load average at start {start['loadavg'][0]:.1f} "
             "(shared machine: the encode times are under that load)",
             f"- lscpu flags: {start['flags']}", "- versions: " + ", ".join(f"{k} {v}" for k, v in start["versions"].items())
             + f", av {av.__version__}", f"- {args.frames} frames of camvid-half val 0016E5, overlay of {Path(args.artifact).name}",
             "", "| -o | codec | frames | MB per minute | write (encode) mean ms | load |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['output']} | {r['codec']} | {r['frames']} | {r['mb_per_minute']:.1f} | {r['write_mean_ms']:.2f} | "
              f"{r['loadavg'][0]:.1f} |" for r in rows]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
