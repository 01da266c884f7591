"""`edgeseg bench ARTIFACT...`: latency statistics per backend, optionally with mIoU and drop."""

from __future__ import annotations

import logging
from typing import Optional

import typer

from edgeseg.cli.common import console, parse_size, progress, write_reports

log = logging.getLogger(__name__)


def bench_cmd(
    artifacts: list[str] = typer.Argument(..., help="checkpoints, ONNX models, engines; the first is the accuracy reference"),
    device: str = typer.Option("cpu", help="device profile (edgeseg/platform/devices.json): cpu | cuda | jetson-orin | "
                                           "jetson-orin-nx | jetson-orin-nano | jetson-xavier; checked against this machine"),
    input_size: Optional[str] = typer.Option(None, help="HxW for dynamic inputs (default: the artifact's, else the profile's first)"),
    batch: int = typer.Option(1, help="batch size"),
    warmup: int = typer.Option(10, help="untimed iterations first"),
    iters: Optional[int] = typer.Option(None, help="timed iterations (default 100)"),
    duration: Optional[float] = typer.Option(None, help="time for S seconds instead of --iters"),
    threads: Optional[int] = typer.Option(None, help="CPU threads (ONNX Runtime intra-op, PyTorch); default: the backend's"),
    provider: Optional[str] = typer.Option(None, help="ONNX Runtime provider: cpu | cuda | tensorrt (default: cpu, "
                                                      "or cuda for GPU profiles)"),
    backend: Optional[str] = typer.Option(None, help="ONNX models: onnxruntime | openvino[:DEVICE] (default: the "
                                                     "device profile's fastest installed one; each row names it)"),
    variant: Optional[str] = typer.Option(None, help="--variant for checkpoints (s2fpn34m)"),
    cuda_graph: bool = typer.Option(False, "--cuda-graph", help="TensorRT engines: replay a captured CUDA graph"),
    data: Optional[str] = typer.Option(None, help="dataset root: also measure mIoU and drop against the first artifact"),
    dataset: str = typer.Option("camvid", help="camvid | cityscapes | folder"),
    split: str = typer.Option("val", help="split or list file for --data"),
    limit: Optional[int] = typer.Option(None, help="evaluate at most N images"),
    max_memory_gb: Optional[float] = typer.Option(None, help="refuse runs estimated above this many GB (default: the memory available now)"),
    source: Optional[str] = typer.Option(None, "--source", help="also run this video (or image folder) end to end: "
                                                                "end-to-end FPS next to the model's"),
    json_out: Optional[str] = typer.Option(None, "--json", help="write results JSON (for `edgeseg compare`)"),
    md_out: Optional[str] = typer.Option(None, "--md", help="write the table as Markdown"),
):
    """Warm-up, timed iterations; mean/median/p90/p99 latency, FPS, GPU compute vs end-to-end, power on Jetson."""
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
    _show(result, json_out, md_out)
    report.check_rows(result)


def _show(result: dict, json_out, md_out) -> None:
    """The table and how it was measured on stdout; JSON and Markdown files when asked."""
    from edgeseg.bench import report

    rows, notes = report.load_rows_from(result), report.describe(result)
    title = f"edgeseg bench: {report.device_label(result['device'])}"
    out = console()
    out.print(report.rich_table(rows, title))
    for line in notes:
        out.print(line, style="dim", markup=False, highlight=False)
    write_reports(json_out, result, md=(md_out, lambda: report.markdown(rows, title, notes)))


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
