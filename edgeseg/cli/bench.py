"""`edgeseg bench ARTIFACT...`: latency statistics per backend, optionally with mIoU and drop."""

from __future__ import annotations

import logging
from typing import Annotated, Optional

import typer

from edgeseg.cli.common import (MODEL, OUTPUT, RUN, Batch, Data, DatasetKind, Duration, Iters, Limit, MaxMemory, MdOut,
                                Split, Threads, Variant, Warmup, parse_size, progress, show_results)

log = logging.getLogger(__name__)


def bench_cmd(
    artifacts: Annotated[list[str], typer.Argument(help="checkpoints, ONNX models, engines; the first is the accuracy "
                                                        "reference")],
    device: Annotated[str, typer.Option(help="device profile (edgeseg/platform/devices.json): cpu | cuda | "
                                        "jetson-orin | jetson-orin-nx | jetson-orin-nano | jetson-xavier; checked "
                                        "against this machine", rich_help_panel=RUN)] = "cpu",
    provider: Annotated[Optional[str], typer.Option(help="ONNX Runtime provider: cpu | cuda | tensorrt (default: "
                                                    "cpu, or cuda for GPU profiles)", rich_help_panel=RUN)] = None,
    backend: Annotated[Optional[str], typer.Option(help="ONNX models: onnxruntime | openvino[:DEVICE] (default: the "
                                                   "device profile's fastest installed one; each row names it)",
                                                   rich_help_panel=RUN)] = None,
    cuda_graph: Annotated[bool, typer.Option("--cuda-graph", help="TensorRT engines: replay a captured CUDA graph",
                                             rich_help_panel=RUN)] = False,
    input_size: Annotated[Optional[str], typer.Option(help="HxW for dynamic inputs (default: the artifact's, else "
                                                      "the profile's first)", rich_help_panel=MODEL)] = None,
    variant: Variant = None,
    batch: Batch = 1,
    warmup: Warmup = 10,
    iters: Iters = None,
    duration: Duration = None,
    threads: Threads = None,
    data: Data = None,
    dataset: DatasetKind = "camvid",
    split: Split = "val",
    limit: Limit = None,
    max_memory_gb: MaxMemory = None,
    json_out: Annotated[Optional[str], typer.Option("--json", help="write results JSON (for `edgeseg compare`)",
                                                    rich_help_panel=OUTPUT)] = None,
    md_out: MdOut = None,
    source: Annotated[Optional[str], typer.Option("--source", help="also run this video (or image folder) end to "
                                                  "end: end-to-end FPS next to the model's", rich_help_panel=RUN)] = None,
):
    """Warm-up, timed iterations; mean/median/p90/p99 latency, FPS, GPU compute vs end-to-end, power on Jetson."""
    from edgeseg.bench import report
    from edgeseg.bench.run import BenchSettings, run_bench
    from edgeseg.bench import report
    from edgeseg.bench.speed import check_budget, default_iters
    from edgeseg.platform.devices import load_profile

    from edgeseg.memory import set_limit_gb
    from edgeseg.outputs import check_out_file

    set_limit_gb(max_memory_gb)
    iters = default_iters(iters, duration)
    check_budget(warmup, iters, duration, batch, limit)
    check_out_file(json_out, "--json")
    check_out_file(md_out, "--md")
    size = parse_size(input_size)
    profile = load_profile(device)
    provider = provider or ("cuda" if profile.gpu else "cpu")
    options = {"input_size": size, "variant": variant, "cuda_graph": cuda_graph,
               "device": "cuda" if profile.gpu and provider != "cpu" else "cpu"}
    ds_args = (data, dataset, split, limit)
    if data and dataset != "folder":
        _open_dataset(ds_args, None)  # a wrong --data stops here, before minutes of timing
    if source:
        from edgeseg.video.bench import check_source

        check_source(source)
    settings = BenchSettings(device, size, batch, warmup, iters, duration, threads, provider, options, backend)
    result = run_bench(artifacts, settings)
    if data:
        _add_accuracy(result, ds_args, {"provider": provider, "threads": threads, **options})
    if source:
        from edgeseg.video.bench import add_end_to_end

        add_end_to_end(result, source, {"provider": provider, "threads": threads, **options})
    show_results(result, f"edgeseg bench: {report.device_label(result['device'])}", json_out, md_out)
    report.check_rows(result)


def _open_dataset(ds_args, runner):
    from edgeseg.data.contract import DatasetInfo
    from edgeseg.data.datasets import open_dataset

    data, kind, split, limit = ds_args
    info = DatasetInfo.from_dict(runner.metadata.get("dataset")) if kind == "folder" and runner else None
    return open_dataset(data, kind, split, limit, info)


def _add_accuracy(result: dict, ds_args, options: dict) -> None:
    """mIoU and drop for the rows that ran; the first of them is the reference. Never fails the table."""
    from edgeseg.bench.accuracy import evaluate
    from edgeseg.bench.run import attach_accuracy
    from edgeseg.runtime import open_runner

    paths = [r["path"] for r in result["rows"] if r["status"] == "ok"]
    backends = [r["backend"] for r in result["rows"] if r["status"] == "ok"]  # accuracy of what was timed
    if not paths:
        result["accuracy"] = {"error": "no artifact ran"}
        return
    runners = []
    try:
        for p, b in zip(paths, backends):
            runners.append(open_runner(p, b, **options).activate())
        ds = _open_dataset(ds_args, runners[0])
        with progress(len(ds), "evaluating") as step:
            attach_accuracy(result, evaluate(runners, ds, progress=step).to_dict())
        result["accuracy"]["reference"] = paths[0]
    except Exception as exc:  # the timings stand even when accuracy cannot be measured
        reason = f"{type(exc).__name__}: {exc}" if not str(exc) else str(exc)
        result["accuracy"] = {"error": reason.strip().splitlines()[0][:300]}
        log.warning("accuracy not measured: %s", result["accuracy"]["error"])
    finally:
        for r in runners:
            r.deactivate()


def register(app: typer.Typer) -> None:
    app.command("bench")(bench_cmd)
