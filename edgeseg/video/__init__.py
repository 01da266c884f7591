"""Real-time video end to end: `edgeseg run ARTIFACT SOURCE`, with end-to-end FPS next to model FPS.

`run_video` refuses a bad source before any model is loaded, then streams it through the
artifact's runner (sources.py -> pipeline.py -> sinks.py) and returns the summary (summary.py).
"""

from __future__ import annotations

from dataclasses import replace

from edgeseg.bench.visualize import palette_for
from edgeseg.runtime import open_runner
from edgeseg.runtime.choice import RunnerRequest, class_map_fits, runner_for
from edgeseg.video.pipeline import RunOptions, VideoRun
from edgeseg.video.sinks import OUTPUTS, draw_size, plan_outputs
from edgeseg.video.sources import open_source
from edgeseg.video.summary import e2e_line, stage_rows

__all__ = ["OUTPUTS", "RunOptions", "VideoRun", "e2e_line", "open_source", "plan_outputs", "run_video", "stage_rows"]


def run_video(artifact: str, source: str, options: RunOptions, *, request: RunnerRequest = RunnerRequest(),
              fps: float | None = None, timeout_s: float = 5.0, on_start=None, progress=None) -> dict:
    """Run SOURCE through ARTIFACT on the backend and options edgeseg.runtime.choice gives it under
    `request`; returns the summary as a dict (RunSummary.to_dict).

    With `request.class_map` the runtime makes the class maps (runtime/class_map.py) where they are
    the host's: a video, camera or stream whose frames are the model's input size; image folders
    (sizes may differ from one image to the next) and other sizes keep the host's class map.

    `on_start(run, source)` is called once the model is loaded and before the first frame (the
    CLI hooks Ctrl-C to `run.stop()` and sizes its progress bar there); `progress(n)` after each
    frame written.
    """
    src = open_source(source, fps=fps, timeout_s=timeout_s)  # a bad source stops here, before the model
    try:
        fits = src.kind != "images" and src.size is not None and draw_size(src.size) == tuple(src.size)
        fits = fits and request.class_map and class_map_fits(artifact, src.size, request)
        runner = open_runner(artifact, *runner_for(artifact, replace(request, class_map=fits)))
        with runner:
            run = VideoRun(src, runner, options, palette_for(runner, options.dataset))
            if on_start:
                on_start(run, src)
            return run.run(progress).to_dict()
    finally:
        src.close()
