"""`edgeseg bench ARTIFACT...`: latency statistics per backend, optionally with mIoU and drop."""

from __future__ import annotations

import logging
from typing import Annotated, Optional

import typer

from edgeseg.cli.common import (MODEL, OUTPUT, RUN, Batch, DatasetKind, Duration, Iters, Limit, MaxMemory, MdOut,
                                OldData, OldSplit, Size, Streams, Threads, Val, Variant, Warmup, Wide, given, names_fields, parse_size,
                                progress, scored_val, show_results)
from edgeseg.platform.devices import profile_names  # names only: devices.json, no heavy import

log = logging.getLogger(__name__)


@names_fields  # the library's field paths named as this command's flags
def bench_cmd(
    artifacts: Annotated[list[str], typer.Argument(help="checkpoints, ONNX models, engines; the first is the accuracy "
                                                        "reference")],
    device: Annotated[Optional[str], typer.Option(help=f"device profile: {' | '.join(profile_names())}; checked against this "
                                        "machine (default: cpu)", rich_help_panel=RUN)] = None,
    provider: Annotated[Optional[str], typer.Option(help="ONNX Runtime provider: cpu | cuda | tensorrt (default: "
                                                    "cpu, or cuda for GPU profiles)", rich_help_panel=RUN)] = None,
    backend: Annotated[Optional[str], typer.Option(help="ONNX models: onnxruntime | openvino[:DEVICE] (default: the "
                                                   "device profile's fastest installed one; each row names it)",
                                                   rich_help_panel=RUN)] = None,
    cuda_graph: Annotated[bool, typer.Option("--cuda-graph", help="TensorRT engines: replay a captured CUDA graph",
                                             rich_help_panel=RUN)] = False,
    input_size: Annotated[Optional[Size], typer.Option(help="HxW for dynamic inputs (default: the artifact's, else "
                                                       "the profile's first)", rich_help_panel=MODEL,
                                                       parser=parse_size, metavar="HxW")] = None,
    variant: Variant = None,
    batch: Batch = None,
    warmup: Warmup = None,
    iters: Iters = None,
    duration: Duration = None,
    threads: Threads = None,
    streams: Streams = None,
    val: Val = None,
    data: OldData = None,
    split: OldSplit = None,
    dataset: DatasetKind = None,
    limit: Limit = None,
    max_memory_gb: MaxMemory = None,
    json_out: Annotated[Optional[str], typer.Option("--json", help="write results JSON (for `edgeseg compare`)",
                                                    rich_help_panel=OUTPUT)] = None,
    md_out: MdOut = None,
    wide: Wide = False,
    source: Annotated[Optional[str], typer.Option("--source", help="also run this video file, image folder or "
                                                  "camera end to end, and report its end-to-end FPS beside the "
                                                  "model-only FPS", rich_help_panel=RUN)] = None,
    cpp: Annotated[Optional[str], typer.Option("--cpp", metavar="PATH", help="with --source: also run the video with "
                                               "this edgeseg-cpp program (cpp/README.md), in an \"OpenVINO C++\" row "
                                               "beside each ONNX/IR row", rich_help_panel=RUN)] = None,
):
    """Warm-up, timed iterations; mean/median/p90/p99 latency, FPS, GPU compute vs end-to-end, power on Jetson."""
    from edgeseg.bench import report
    from edgeseg.bench.benchmark import ScoredData, add_accuracy, check_dataset, profile_settings, run_bench
    from edgeseg.bench.speed import check_budget
    from edgeseg.memory import set_limit_gb
    from edgeseg.filesystem import check_out_file
    from edgeseg.video.bench import add_cpp_rows, add_end_to_end, check_cpp, check_source

    set_limit_gb(max_memory_gb)
    settings = profile_settings(**given(
        device=device, input_size=input_size, batch=batch, warmup=warmup, iters=iters, duration=duration,
        threads=threads, provider=provider, backend=backend, variant=variant, cuda_graph=cuda_graph, streams=streams))
    check_budget(settings.warmup, settings.iters, settings.duration, settings.batch, limit)
    check_out_file(json_out, "--json")
    check_out_file(md_out, "--md")
    scored = ScoredData(**given(val=scored_val(val, data, split), dataset=dataset, limit=limit))
    check_dataset(scored)  # a wrong --val stops here, before minutes of timing
    if cpp is not None:
        check_cpp(cpp, artifacts, source)
    if source:
        check_source(source)
    result = run_bench(artifacts, settings, progress)
    run_options = settings.runner_request()
    if scored.val:
        add_accuracy(result, scored, run_options, progress)
    if source:
        add_end_to_end(result, source, run_options)
    if cpp is not None:
        add_cpp_rows(result, cpp, source, threads)
    show_results(result, f"edgeseg bench: {report.device_label(result['device'])}", json_out, md_out, wide=wide)
    report.check_rows(result)


def register(app: typer.Typer) -> None:
    app.command("bench")(bench_cmd)
