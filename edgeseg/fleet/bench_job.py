"""`fleet bench` from start to end: inputs and precisions checked before any cluster is
contacted, checkpoints exported here once per precision, then every target benchmarked."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from edgeseg.artifacts import read_artifact
from edgeseg.bench.benchmark import ScoredData
from edgeseg.data.contract import DatasetInfo
from edgeseg.data.datasets import open_dataset, val_split
from edgeseg.errors import EdgesegError, OptionError, field
from edgeseg.export.options import PRECISIONS, QUANTIZED, ExportOptions, QuantOptions
from edgeseg.export.pipeline import run_export
from edgeseg.fleet.bench import FleetBenchSettings, bench_fleet
from edgeseg.fleet.cluster import connected
from edgeseg.fleet.packing import pack_samples
from edgeseg.fleet.targets import advertise, list_targets, select


def choose_precisions(names, inputs: list[str], quant: QuantOptions, timeout: float) -> tuple[str, ...]:
    """The precisions to export (`names`, None: the settings' default), checked with the inputs and the
    timeout before any cluster is contacted."""
    if timeout <= 0:
        raise OptionError(f"{field('timeout')} must be positive, got {timeout}")
    for item in inputs:
        if not Path(item).is_file():
            raise EdgesegError(f"{item}: no such file")
        if Path(item).suffix.lower() not in (".onnx", ".pth", ".pt"):
            raise EdgesegError(f"{item}: fleet bench takes checkpoints (.pth) or ONNX models; engines are built on "
                               "each target from the ONNX")
    chosen = list(FleetBenchSettings.precisions if names is None else names)
    bad = [p for p in chosen if p not in PRECISIONS]
    if bad or not chosen:
        raise OptionError(f"{field('precisions')} takes a comma list of {', '.join(PRECISIONS)}, got "
                          f"{','.join(chosen)!r}")
    quantized = [p for p in chosen if p in QUANTIZED]
    if quantized and not quant.calib and any(not i.lower().endswith(".onnx") for i in inputs):
        raise OptionError(f"{field('precisions')} {quantized[0]} exports with calibration: give {field('quant.calib')} "
                          "(a manifest from `edgeseg calib make`)")
    return tuple(chosen)


def export_inputs(inputs: list[str], precisions, work_dir, base: ExportOptions, say=None) -> list[str]:
    """ONNX models as given; every checkpoint exported once per precision (on this machine), the
    quantized ones with `base.quant` (INT8 and FP8 alike)."""
    out = []
    for item in inputs:
        path = Path(item)
        if path.suffix.lower() == ".onnx":
            out.append(str(path))
            continue
        for p in precisions:
            quant = base.quant if p in QUANTIZED else QuantOptions()
            if say:
                say(f"exporting {path.name} as {p}")
            out.append(str(run_export(path, work_dir, replace(base, precision=p, quant=quant)).final))
    return out


def _data(data: ScoredData, first: str) -> dict | None:
    if not data.val:
        return None
    info = DatasetInfo.from_dict(read_artifact(first).dataset) if data.dataset == "folder" else None
    root, split = val_split(data.val)
    ds = open_dataset(root, data.dataset, split, data.limit, info)
    return {"packed": pack_samples(ds.samples), "info": ds.info, "split": ds.split, "lut": ds.lut}


def local_args(address: str) -> dict:
    """A private cluster ('local') advertises this machine as its only target."""
    if address != "local":
        return {}
    resources, labels = advertise()
    return {"resources": resources, "labels": labels}


def run_fleet_bench(inputs: list[str], address: str, wanted: list[str] | None, settings: FleetBenchSettings,
                    export: ExportOptions, data: ScoredData, work_dir, say=None) -> tuple[dict, list]:
    """(fleet result, targets): export here, build and time on every chosen target.
    `settings.precisions` must come from `choose_precisions`; `say(line)` reports progress."""
    say = say or (lambda line: None)
    with connected(address, **local_args(address)) as r:
        targets = select(list_targets(r), wanted, address)
        say(f"targets: {', '.join(t.name for t in targets)}")
        paths = export_inputs(inputs, settings.precisions, work_dir, export, say)
        settings = replace(settings, data=_data(data, paths[0]))
        result = bench_fleet(paths, targets, settings, r,
                             on_done=lambda name, ok, v: say(f"{name}: {'done' if ok else 'failed: ' + v}"))
    return result, targets
