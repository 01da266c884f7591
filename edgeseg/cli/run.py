"""`edgeseg run ARTIFACT SOURCE`: a video, image folder, camera or stream through the model, end to end."""

from __future__ import annotations

import signal
from typing import Optional

import typer

from edgeseg.cli.common import console, names_fields, write_reports


@names_fields  # the library's field paths named as this command's flags
def run_cmd(
    artifact: str = typer.Argument(..., help="checkpoint, ONNX model, OpenVINO IR or engine (anything eval takes)"),
    source: str = typer.Argument(..., help="video file, image folder or glob, camera index or /dev/videoN, rtsp:// or http:// URL"),
    out: Optional[str] = typer.Option(None, "-o", "--out", help="--overlay: FILE.mp4|.mkv|.avi (or a folder); --mask/--both: a folder"),
    overlay: bool = typer.Option(False, "--overlay", help="write the overlay video (the default)"),
    mask: bool = typer.Option(False, "--mask", help="write a class-map PNG per frame"),
    both: bool = typer.Option(False, "--both", help="write both: OUT/overlay.avi and OUT/masks/"),
    backend: Optional[str] = typer.Option(None, help="ONNX models: onnxruntime | openvino[:DEVICE] (default: the profile's fastest installed)"),
    device: str = typer.Option("cpu", help="device profile (edgeseg/platform/devices.json), checked against this machine"),
    provider: Optional[str] = typer.Option(None, help="ONNX Runtime provider: cpu | cuda | tensorrt"),
    threads: Optional[int] = typer.Option(None, help="CPU threads for the model"),
    streams: Optional[int] = typer.Option(None, help="OpenVINO: compile for throughput with N streams (default: what "
                                                     "a throughput tune pick recorded, else for latency)"),
    input_size: Optional[str] = typer.Option(None, help="HxW for checkpoints (default: the frame's size)"),
    max_frames: Optional[int] = typer.Option(None, help="stop after N frames"),
    realtime: bool = typer.Option(False, "--realtime", help="live sources: drop the oldest frame rather than fall behind (files: paced at their rate)"),
    fps: Optional[float] = typer.Option(None, help="frame rate of an image folder's video (default 30)"),
    alpha: float = typer.Option(0.5, help="mask opacity in the overlay (0..1)"),
    dataset: Optional[str] = typer.Option(None, help="palette of this dataset (default: the artifact's)"),
    model_seconds: float = typer.Option(2.0, help="seconds of model-only timing after the run, half synchronous (latency), half asynchronous as the pipeline runs (throughput); 0: skip"),
    timeout: float = typer.Option(5.0, help="seconds to wait for a URL or stream before refusing it"),
    json_out: Optional[str] = typer.Option(None, "--json", help="write the summary as JSON"),
):
    """Segment every frame of SOURCE; end with end-to-end FPS next to the model's own FPS, stage by stage."""
    from edgeseg.cli.common import parse_size
    from edgeseg.errors import EdgesegError
    from edgeseg.filesystem import check_out_file
    from edgeseg.video import RunOptions, plan_outputs, run_video
    from edgeseg.runtime.choice import RunnerRequest, checked_profile
    from edgeseg.video.sources import check_rates

    if sum((overlay, mask, both)) > 1:
        raise EdgesegError("choose one of --overlay, --mask, --both")
    check_rates(fps, timeout)
    check_out_file(json_out, "--json")
    video, masks = plan_outputs(out, "mask" if mask else "both" if both else "overlay", source, json_out)
    options = RunOptions(video=video and str(video), masks=masks and str(masks), realtime=realtime, max_frames=max_frames,
                         alpha=alpha, model_seconds=model_seconds, dataset=dataset)
    checked_profile(device)
    request = RunnerRequest(profile=device, backend=backend, provider=provider, threads=threads,
                            input_size=parse_size(input_size), class_map=True, streams=streams)
    with _Display() as display:
        summary = run_video(artifact, source, options, request=request, fps=fps, timeout_s=timeout,
                            on_start=display.start, progress=display.advance)
    _report(summary, json_out)
    if summary["interrupted"] and not summary.get("live"):
        raise typer.Exit(130)


class _Display:
    """A progress bar with frames/s for files, one live line for streams; Ctrl-C stops the run cleanly."""

    def __enter__(self):
        self.bar = self.task = None
        self._previous = signal.getsignal(signal.SIGINT)
        return self

    def start(self, run, source) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        def first_interrupt(signum, frame):  # finish and close the video; a second Ctrl-C aborts
            run.stop()
            signal.signal(signal.SIGINT, self._previous)

        signal.signal(signal.SIGINT, first_interrupt)
        total = None if source.live else (source.count or None)
        columns = (["[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
                   if total else [TextColumn("{task.description}"), TextColumn("{task.completed} frames")])
        columns.append(TextColumn("{task.fields[rate]}"))
        self.bar = Progress(*columns, console=console(stderr=True), transient=True)
        self.task = self.bar.add_task(source.describe(), total=total, rate="")
        self.bar.start()

    def advance(self, n: int = 1) -> None:
        speed = self.bar.tasks[0].speed if self.bar.tasks else None
        self.bar.update(self.task, advance=n, rate=f"{speed:.1f} frames/s" if speed else "")

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        signal.signal(signal.SIGINT, self._previous)


def _report(summary: dict, json_out) -> None:
    from rich.table import Table

    from edgeseg.video import e2e_line, stage_rows

    out = console()
    table = Table(title=f"edgeseg run: {summary['backend']}")
    for header in ("stage", "mean ms", "p99 ms"):
        table.add_column(header, justify="left" if header == "stage" else "right")
    for row in stage_rows(summary):
        table.add_row(*row)
    out.print(table)
    for key in ("video", "masks"):
        if summary["outputs"].get(key):
            out.print(f"{key}: {summary['outputs'][key]}", markup=False, highlight=False)
    out.print(e2e_line(summary), markup=False, highlight=False, soft_wrap=True)  # one line, as scripts read it
    write_reports(json_out, summary)


def register(app: typer.Typer) -> None:
    app.command("run")(run_cmd)
