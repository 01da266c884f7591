"""`edgeseg fleet head|join|ls|bench`: devices on a Ray cluster, benchmarked from one machine."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path
from typing import Optional

import typer

from edgeseg.cli.common import console, parse_size

app = typer.Typer(help="Benchmark on many devices at once: targets join a Ray cluster, the head runs the table.",
                  no_args_is_help=True)

QUANTIZED = ("int8", "fp8")  # precisions exported with calibration (--calib, --calib-data)
RAY_HELP = "Ray head HOST:PORT, or 'local' for a private cluster on this machine (it is its only target)"


def _ray_cmd() -> list[str]:
    import shutil
    import sys

    from edgeseg.fleet.cluster import import_ray

    import_ray()
    found = shutil.which("ray")
    return [found] if found else [sys.executable, "-m", "ray.scripts.scripts"]


def _start(argv: list[str], dry_run: bool, block: bool = False) -> None:
    from edgeseg.errors import EdgesegError

    console(stderr=True).print(shlex.join(argv), markup=False, highlight=False, soft_wrap=True)
    if dry_run:
        return
    if block:  # in the foreground: Ray's own output as it comes, until stopped
        raise SystemExit(subprocess.run(argv).returncode)
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        lines = [ln for ln in (done.stderr or done.stdout).splitlines() if ln.strip()]
        raise EdgesegError(f"ray start failed (exit {done.returncode}): {lines[-1].strip() if lines else 'no output'}")
    typer.echo(done.stdout.strip())


@app.command("head")
def head_cmd(
    port: int = typer.Option(6379, help="port the head listens on"),
    target: bool = typer.Option(True, "--target/--no-target", help="also offer this machine as a target"),
    profile: Optional[str] = typer.Option(None, help="device profile to advertise (default: detected)"),
    block: bool = typer.Option(False, help="stay in the foreground (for systemd units and containers)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="print the ray start command, do not run it"),
):
    """Start a Ray head here (`ray start --head`), advertising this machine as a target."""
    from edgeseg.fleet.targets import advertise, start_argv

    resources, labels = advertise(profile) if target else ({}, {})
    _start(start_argv(_ray_cmd(), resources, labels, port=port, block=block), dry_run, block)


@app.command("join")
def join_cmd(
    head: str = typer.Argument(..., help="the head's HOST:PORT"),
    profile: Optional[str] = typer.Option(None, help="device profile to advertise (default: detected from this machine)"),
    tag: Optional[str] = typer.Option(None, help="a second target of the same profile on this node: edgeseg/PROFILE#TAG"),
    block: bool = typer.Option(False, help="stay in the foreground (for systemd units and containers)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="print the ray start command, do not run it"),
):
    """Join a fleet: this device's profile as a Ray resource, its runtimes as node labels."""
    from edgeseg.fleet.cluster import check_reachable
    from edgeseg.fleet.targets import advertise, start_argv

    resources, labels = advertise(profile, tag)
    argv = start_argv(_ray_cmd(), resources, labels, head=head, block=block)
    if not dry_run:
        check_reachable(head)
    _start(argv, dry_run, block)


def _local_args(address: str) -> dict:
    from edgeseg.fleet.targets import advertise

    if address != "local":
        return {}
    resources, labels = advertise()
    return {"resources": resources, "labels": labels}


@app.command("ls")
def ls_cmd(
    ray: str = typer.Option(..., "--ray", help=RAY_HELP),
    json_out: bool = typer.Option(False, "--json", help="print the targets as JSON"),
):
    """List the targets of a fleet and what each can run."""
    from rich.table import Table

    import edgeseg
    from edgeseg.cli.common import print_json
    from edgeseg.fleet.cluster import connected
    from edgeseg.fleet.targets import RUNTIMES, label_value, list_targets

    with connected(ray, **_local_args(ray)) as r:
        targets = list_targets(r)
    if json_out:
        print_json({"targets": [{"name": t.name, "profile": t.profile, "host": t.host, "resource": t.resource,
                                 "node_id": t.node_id, **t.runs()} for t in targets]})
        return
    table = Table(title=f"edgeseg fleet at {ray}: {len(targets)} targets")
    for col in ("target", "profile", "board", "edgeseg", *RUNTIMES):
        table.add_column(col)
    mine = label_value(edgeseg.__version__)
    for t in targets:
        runs = t.runs()
        version = runs.get("version", "?") + ("" if runs.get("version") == mine else f" (head {mine})")
        table.add_row(t.name, t.profile, runs.get("board", "?"), version, *(runs.get(k, "?") for k in RUNTIMES))
    console().print(table)


def _artifacts(inputs: list[str], precisions: list[str], work_dir: str, export_args: dict, err) -> list[str]:
    """ONNX models as given; every checkpoint exported once per precision (on this machine)."""
    from edgeseg.export.options import ExportOptions
    from edgeseg.export.pipeline import run_export

    out = []
    for item in inputs:
        path = Path(item)
        if path.suffix.lower() == ".onnx":
            out.append(str(path))
            continue
        for p in precisions:
            quant = {k: v for k, v in export_args["quant"].items() if v is not None} if p in QUANTIZED else {}
            options = ExportOptions(precision=p, dataset=export_args["dataset"], variant=export_args["variant"],
                                    input_size=export_args["input_size"], quant=quant)
            err.print(f"exporting {path.name} as {p}", style="dim", markup=False)
            out.append(str(run_export(path, work_dir, options).final))
    return out


def _precisions(text: str, inputs: list[str], calib: Optional[str]) -> list[str]:
    """The precisions to export, checked with the inputs before any cluster is contacted."""
    from edgeseg.errors import EdgesegError
    from edgeseg.export.options import PRECISIONS

    for item in inputs:
        if not Path(item).is_file():
            raise EdgesegError(f"{item}: no such file")
        if Path(item).suffix.lower() not in (".onnx", ".pth", ".pt"):
            raise EdgesegError(f"{item}: fleet bench takes checkpoints (.pth) or ONNX models; engines are built on "
                               "each target from the ONNX")

    chosen = [p.strip() for p in text.split(",") if p.strip()]
    bad = [p for p in chosen if p not in PRECISIONS]
    if bad or not chosen:
        raise EdgesegError(f"--precisions takes a comma list of {', '.join(PRECISIONS)}, got {text!r}")
    needs = [p for p in chosen if p in QUANTIZED]
    if needs and not calib and any(not i.lower().endswith(".onnx") for i in inputs):
        raise EdgesegError(f"--precisions {needs[0]} exports with calibration: give --calib (a manifest from "
                           "`edgeseg calib make`)")
    return chosen


def _data(data: Optional[str], dataset: str, split: str, limit: Optional[int], first: str) -> dict | None:
    from edgeseg.artifacts import read_metadata
    from edgeseg.data.contract import DatasetInfo
    from edgeseg.data.datasets import open_dataset
    from edgeseg.fleet.packing import pack_samples

    if not data:
        return None
    info = DatasetInfo.from_dict(read_metadata(first).get("dataset")) if dataset == "folder" else None
    ds = open_dataset(data, dataset, split, limit, info)
    return {"packed": pack_samples(ds.samples), "info": ds.info, "split": ds.split, "lut": ds.lut}


@app.command("bench")
def bench_cmd(
    inputs: list[str] = typer.Argument(..., help="checkpoints (exported here once per precision) or ONNX models"),
    ray: str = typer.Option(..., "--ray", help=RAY_HELP),
    devices: Optional[str] = typer.Option(None, help="comma list of targets: profile names, target names or hosts "
                                                     "(default: every target)"),
    precisions: str = typer.Option("fp32,fp16", help="checkpoints: precisions to export; each target runs those "
                                                     "its profile lists"),
    calib: Optional[str] = typer.Option(None, help="INT8/FP8: calibration manifest, list file or folder"),
    calib_data: Optional[str] = typer.Option(None, help="INT8/FP8: dataset root the manifest is relative to"),
    input_size: Optional[str] = typer.Option(None, help="HxW (export size of checkpoints; timing size of dynamic models)"),
    variant: Optional[str] = typer.Option(None, help="--variant for checkpoints (s2fpn34m)"),
    batch: int = typer.Option(1, help="batch size"),
    warmup: int = typer.Option(10, help="untimed iterations first"),
    iters: Optional[int] = typer.Option(None, help="timed iterations (default 100)"),
    duration: Optional[float] = typer.Option(None, help="time for S seconds instead of --iters"),
    threads: Optional[int] = typer.Option(None, help="CPU threads on CPU targets (default: the backend's)"),
    data: Optional[str] = typer.Option(None, help="dataset root here: its images travel to each target for mIoU"),
    dataset: str = typer.Option("camvid", help="camvid | cityscapes | folder"),
    split: str = typer.Option("val", help="split or list file for --data"),
    limit: Optional[int] = typer.Option(None, help="evaluate at most N images"),
    work_dir: str = typer.Option("fleet-out", help="where checkpoints are exported"),
    timeout: float = typer.Option(1800.0, help="seconds before a target that has not answered fails its rows"),
    json_out: Optional[str] = typer.Option(None, "--json", help="also write every target's results (readable by "
                                                                "`edgeseg compare`)"),
    md_out: Optional[str] = typer.Option(None, "--md", help="write the table as Markdown"),
    plot: Optional[str] = typer.Option(None, help="write mIoU vs FPS with the Pareto front (PNG)"),
):
    """Export once here, build and time on every target, one table (as `edgeseg compare` writes it)."""
    from edgeseg.artifacts import atomic_path, write_json
    from edgeseg.bench import report
    from edgeseg.bench.speed import check_budget, default_iters
    from edgeseg.errors import EdgesegError
    from edgeseg.fleet.bench import FleetBenchSettings, bench_fleet, check_fleet
    from edgeseg.fleet.cluster import connected
    from edgeseg.fleet.targets import list_targets, select
    from edgeseg.outputs import check_out_file

    iters = default_iters(iters, duration)
    check_budget(warmup, iters, duration, batch, limit)
    for path, flag in ((json_out, "--json"), (md_out, "--md"), (plot, "--plot")):
        check_out_file(path, flag)
    if timeout <= 0:
        raise EdgesegError(f"--timeout must be positive, got {timeout}")
    chosen = _precisions(precisions, inputs, calib)
    size = parse_size(input_size)
    err = console(stderr=True)
    with connected(ray, **_local_args(ray)) as r:
        targets = select(list_targets(r), devices.split(",") if devices else None, ray)
        err.print(f"targets: {', '.join(t.name for t in targets)}", markup=False)
        export_args = {"dataset": None if dataset == "folder" else dataset, "variant": variant, "input_size": size,
                       "quant": {"calib": calib, "data": calib_data}}
        paths = _artifacts(inputs, chosen, work_dir, export_args, err)
        settings = FleetBenchSettings(tuple(chosen), size, batch, warmup, iters, duration, threads, timeout,
                                      _data(data, dataset, split, limit, paths[0]))
        result = bench_fleet(paths, targets, settings, r,
                             on_done=lambda name, ok, v: err.print(f"{name}: {'done' if ok else 'failed: ' + v}",
                                                                   markup=False))
    if json_out:
        write_json(json_out, result)
    rows = report.load_rows_from(result)
    title = f"edgeseg fleet bench: {len(targets)} targets"
    console().print(report.rich_table(rows, title))
    if md_out:
        with atomic_path(md_out) as tmp:
            Path(tmp).write_text(report.markdown(rows, title))
    if plot:
        from edgeseg.bench.plot import draw

        err.print(f"plot: {draw(rows, plot, title)} rows", markup=False)
    check_fleet(result)


@app.command("tune")
def tune_cmd(
    checkpoint: str = typer.Argument(..., help="trained checkpoint (.pth); travels to every target"),
    ray: str = typer.Option(..., "--ray", help=RAY_HELP),
    val: Optional[str] = typer.Option(None, help="labelled validation data here, ROOT[:SPLIT] or a list file (required)"),
    devices: Optional[str] = typer.Option(None, help="comma list of targets (default: every target)"),
    max_miou_drop: float = typer.Option(0.3, help="accuracy budget in mIoU points"),
    calib: Optional[str] = typer.Option(None, help="INT8 calibration manifest, list or folder (default: 300 images "
                                                   "of ROOT's train split)"),
    calib_data: Optional[str] = typer.Option(None, "--data", help="dataset root that --calib paths are relative to"),
    input_size: Optional[str] = typer.Option(None, help="HxW (default: the dataset's)"),
    dataset: str = typer.Option("camvid", help="camvid | cityscapes"),
    threads: Optional[int] = typer.Option(None, help="CPU threads on each target (default: its physical cores)"),
    val_limit: Optional[int] = typer.Option(None, help="use the first N validation images"),
    rounds: int = typer.Option(10, help="interleaved timing rounds"),
    iters: int = typer.Option(10, help="timed inferences per candidate per round"),
    timeout: float = typer.Option(7200.0, help="seconds before a target that has not answered fails"),
    work_dir: str = typer.Option("fleet-tune", help="where a default calibration manifest is drawn"),
    json_out: Optional[str] = typer.Option(None, "--json", help="write every target's report"),
    md_out: Optional[str] = typer.Option(None, "--md", help="write the table as Markdown"),
):
    """`edgeseg tune` on every target at once: each builds and measures its own candidates; one table of picks."""
    from edgeseg.artifacts import atomic_path, write_json
    from edgeseg.errors import EdgesegError
    from edgeseg.fleet.cluster import connected
    from edgeseg.fleet.targets import list_targets, select
    from edgeseg.tune.fleet import markdown, tune_fleet
    from edgeseg.tune import TuneOptions
    from edgeseg.tune.measure import Protocol
    from edgeseg.tune.run import calibration, open_val

    if not Path(checkpoint).is_file():
        raise EdgesegError(f"{checkpoint}: no such file (the checkpoint to tune)")
    opts = TuneOptions(val=val, max_miou_drop=max_miou_drop, calib=calib, calib_data=calib_data,
                       input_size=parse_size(input_size), dataset=dataset, threads=threads, val_limit=val_limit,
                       protocol=Protocol(rounds=rounds, iters=iters))
    ds = open_val(opts)
    Path(work_dir).mkdir(parents=True, exist_ok=True)
    calib_set = calibration(opts, Path(work_dir), ds)
    options = {"max_miou_drop": max_miou_drop, "input_size": opts.input_size, "dataset": dataset, "variant": None,
               "threads": threads, "val_limit": None, "protocol": opts.protocol.to_dict()}
    err = console(stderr=True)
    with connected(ray, **_local_args(ray)) as r:
        targets = select(list_targets(r), devices.split(",") if devices else None, ray)
        err.print(f"targets: {', '.join(t.name for t in targets)}", markup=False)
        rows = tune_fleet(checkpoint, ds, calib_set, targets, options, r, timeout,
                          on_done=lambda name, ok, v: err.print(f"{name}: {'done' if ok else 'failed: ' + v}",
                                                                markup=False))
    title = f"edgeseg.tune.fleet: {len(targets)} targets, budget {max_miou_drop} mIoU"
    if json_out:
        write_json(json_out, {"title": title, "targets": rows})
    text = markdown(rows, title)
    if md_out:
        with atomic_path(md_out) as tmp:
            Path(tmp).write_text(text)
    typer.echo(text)


def register(main_app: typer.Typer) -> None:
    main_app.add_typer(app, name="fleet")
