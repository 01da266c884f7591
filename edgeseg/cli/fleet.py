"""`edgeseg fleet head|join|ls|bench`: devices on a Ray cluster, benchmarked from one machine."""

from __future__ import annotations

import shlex
import subprocess
from typing import Annotated, Optional

import typer

from edgeseg.cli.common import (CLUSTER, MODEL, OUTPUT, Batch, Calib, CalibData, DataAsCalibRoot, DatasetKind, Duration,
                                InputSize, Iters, Limit, MdOut, OldData, OldSplit, Threads, Val, Variant, Warmup, console,
                                Names, deprecated_alias, given, names_fields, parse_names, scored_val, show_results,
                                write_reports)

app = typer.Typer(help="Benchmark on many devices at once: targets join a Ray cluster, the head runs the table.",
                  no_args_is_help=True)

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
    from edgeseg.fleet.bench_job import local_args
    from edgeseg.fleet.targets import RUNTIMES, label_value, list_targets

    with connected(ray, **local_args(ray)) as r:
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


@app.command("bench")
@names_fields  # the library's field paths named as this command's flags
def bench_cmd(
    inputs: Annotated[list[str], typer.Argument(help="checkpoints (exported here once per precision) or ONNX models")],
    ray: Annotated[str, typer.Option("--ray", help=RAY_HELP, rich_help_panel=CLUSTER)],
    targets: Annotated[Optional[Names], typer.Option(parser=parse_names, metavar="A,B", help="comma list of targets: "
                                                     "profile names, target names or hosts (default: every target)",
                                                     rich_help_panel=CLUSTER)] = None,
    devices: Annotated[Optional[Names], typer.Option(parser=parse_names, hidden=True,
                                                     help="deprecated: --targets")] = None,
    timeout: Annotated[Optional[float], typer.Option(help="seconds before a target that has not answered fails its "
                                                     "rows (default 1800)", rich_help_panel=CLUSTER)] = None,
    precisions: Annotated[Optional[Names], typer.Option(parser=parse_names, metavar="A,B", help="checkpoints: "
                                                        "precisions to export (default fp32,fp16); each target runs "
                                                        "those its profile lists", rich_help_panel=MODEL)] = None,
    input_size: InputSize = None,
    variant: Variant = None,
    work_dir: Annotated[str, typer.Option(help="where checkpoints are exported", rich_help_panel=OUTPUT)] = "fleet-out",
    calib: Calib = None,
    calib_data: CalibData = None,
    batch: Batch = None,
    warmup: Warmup = None,
    iters: Iters = None,
    duration: Duration = None,
    threads: Threads = None,
    val: Val = None,
    data: OldData = None,
    split: OldSplit = None,
    dataset: DatasetKind = None,
    limit: Limit = None,
    json_out: Annotated[Optional[str], typer.Option("--json", help="also write every target's results (readable "
                                                    "by `edgeseg compare`)", rich_help_panel=OUTPUT)] = None,
    md_out: MdOut = None,
    plot: Annotated[Optional[str], typer.Option(help="write mIoU vs FPS with the Pareto front (PNG)",
                                                rich_help_panel=OUTPUT)] = None,
):
    """Export once here, build and time on every target, one table (as `edgeseg compare` writes it)."""
    from dataclasses import replace

    from edgeseg.bench.speed import check_budget, default_iters
    from edgeseg.export.options import ContractOptions, ExportOptions, QuantOptions
    from edgeseg.fleet.bench import FleetBenchSettings, check_fleet
    from edgeseg.bench.benchmark import ScoredData
    from edgeseg.fleet.bench_job import choose_precisions, run_fleet_bench
    from edgeseg.filesystem import check_out_file

    settings = FleetBenchSettings(iters=default_iters(iters, duration), **given(
        input_size=input_size, batch=batch, warmup=warmup, duration=duration, threads=threads, timeout=timeout))
    check_budget(settings.warmup, settings.iters, settings.duration, settings.batch, limit)
    for path, flag in ((json_out, "--json"), (md_out, "--md"), (plot, "--plot")):
        check_out_file(path, flag)  # before the cluster: never a fleet run whose results cannot be written
    quant = QuantOptions(calib=calib, calib_data=calib_data)
    settings = replace(settings, precisions=choose_precisions(precisions, inputs, quant, settings.timeout))
    scored = ScoredData(**given(val=scored_val(val, data, split), dataset=dataset, limit=limit))
    export = ExportOptions(contract=ContractOptions(dataset=None if scored.dataset == "folder" else scored.dataset,
                                                    variant=variant, input_size=input_size), quant=quant)
    err = console(stderr=True)
    named = deprecated_alias(targets, devices, "--devices", "--targets")
    result, reached = run_fleet_bench(inputs, ray, list(named) if named else None, settings, export, scored,
                                      work_dir, lambda line: err.print(line, markup=False))
    show_results(result, f"edgeseg fleet bench: {len(reached)} targets", json_out, md_out, plot, notes=())
    check_fleet(result)


@app.command("tune")
@names_fields  # parameters named as TuneOptions' fields: its errors name these flags
def tune_cmd(
    checkpoint: Optional[str] = typer.Argument(None, help="trained checkpoint (.pth); travels to every target; "
                                                          "not with --check"),
    ray: str = typer.Option(..., "--ray", help=RAY_HELP),
    val: Optional[str] = typer.Option(None, help="labelled validation data here, ROOT[:SPLIT] or a list file (required)"),
    targets: Optional[Names] = typer.Option(None, parser=parse_names, metavar="A,B",
                                            help="comma list of targets (default: every target)"),
    devices: Optional[Names] = typer.Option(None, parser=parse_names, hidden=True, help="deprecated: --targets"),
    max_miou_drop: Optional[float] = typer.Option(None, help="accuracy budget in mIoU points (default 0.3)"),
    calib: Optional[str] = typer.Option(None, help="INT8 calibration manifest, list or folder (default: 300 images "
                                                   "of ROOT's train split)"),
    calib_data: CalibData = None,
    data: DataAsCalibRoot = None,
    input_size: InputSize = None,
    dataset: Optional[str] = typer.Option(None, help="camvid (default) | cityscapes"),
    threads: Optional[int] = typer.Option(None, help="CPU threads on each target (default: its physical cores)"),
    val_limit: Optional[int] = typer.Option(None, help="use the first N validation images"),
    rounds: Optional[int] = typer.Option(None, help="interleaved timing rounds (default 10)"),
    iters: Optional[int] = typer.Option(None, help="timed inferences per candidate per round (default 10)"),
    timeout: float = typer.Option(7200.0, help="seconds before a target that has not answered fails"),
    work_dir: str = typer.Option("fleet-tune", help="where a default calibration manifest is drawn"),
    json_out: Optional[str] = typer.Option(None, "--json", help="write every target's report (what --check reads)"),
    md_out: Optional[str] = typer.Option(None, "--md", help="write the table as Markdown"),
    tails: Optional[str] = typer.Option(None, help="output tails to try (see `edgeseg tune --help`; default: all)"),
    min_fps: Optional[float] = typer.Option(None, help="the most accurate candidate whose pipeline reaches this rate"),
    max_class_drop: Optional[float] = typer.Option(None, help="bound the worst single class's IoU drop (points)"),
    objective: Optional[str] = typer.Option(None, help="latency (default) | throughput (see `edgeseg tune --help`)"),
    check: Optional[str] = typer.Option(None, help="regression gate: re-measure each target's pick recorded in this "
                                                   "--json report on that target; exit 1 when any regressed"),
    tolerance: float = typer.Option(0.10, help="with --check: pipeline latency growth allowed (0.1 = 10 %)"),
):
    """`edgeseg tune` on every target at once: each builds and measures its own candidates; one table of picks."""
    from edgeseg.errors import EdgesegError
    from edgeseg.tune import tune_options
    from edgeseg.tune.fleet import markdown, run_fleet_tune

    err = console(stderr=True)
    say = lambda line: err.print(line, markup=False)  # noqa: E731
    targets = deprecated_alias(targets, devices, "--devices", "--targets")  # a fleet node is a target
    if check:
        if checkpoint:
            raise EdgesegError("--check re-measures a recorded fleet tune report: give no checkpoint with it")
        return _check_fleet(check, ray, targets, tolerance, timeout, say)
    if not checkpoint:
        raise EdgesegError("fleet tune needs a CHECKPOINT (or --check REPORT.json)")
    calib_data = deprecated_alias(calib_data, data, "--data", "--calib-data")
    opts = tune_options(val=val, max_miou_drop=max_miou_drop, calib=calib, calib_data=calib_data,
                        input_size=input_size, dataset=dataset, threads=threads, val_limit=val_limit, rounds=rounds,
                        iters=iters, min_fps=min_fps, max_class_drop=max_class_drop, objective=objective,
                        tails=None if tails is None else tuple(parse_names(tails) or ())).check()
    rows, title = run_fleet_tune(checkpoint, ray, list(targets) if targets else None, opts, work_dir, timeout, say)
    text = markdown(rows, title)
    write_reports(json_out, {"title": title, "targets": rows}, md=(md_out, lambda: text))
    typer.echo(text)


def _check_fleet(record: str, ray: str, targets, tolerance: float, timeout: float, say) -> None:
    """One line per recorded target on stderr; exit 1 when any regressed or could not be checked."""
    from edgeseg.tune.fleet import check_fleet_tune

    verdicts = check_fleet_tune(record, ray, list(targets) if targets else None, tolerance, timeout, say)
    failed = [v for v in verdicts if not v["ok"]]
    for v in verdicts:
        say(f"{v['target']}: {'ok' if v['ok'] else 'REGRESSION'}: {v['reason']}")
    if failed:
        raise typer.Exit(1)
    typer.echo(f"ok: {len(verdicts)} targets checked")


def register(main_app: typer.Typer) -> None:
    main_app.add_typer(app, name="fleet")
