"""`tune`: build every valid candidate, measure each here, pick by the objective.

Everything a user can get wrong (val set and its labels, budgets, device, calibration) is refused
before the first build. Builds and accuracy are reused on a re-run (stage keys, measure.Cache);
latencies never are: one interleaved run times every candidate together, each run. Output tails
are tried only on the precisions still in the running after accuracy is known.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

import edgeseg.tune.build as build
import edgeseg.tune.measure as measure
from edgeseg.artifacts import read_artifact
from edgeseg.data.calibset import load_calibset, make_manifest, refuse_overlap
from edgeseg.data.contract import DatasetInfo
from edgeseg.data.datasets import open_dataset, val_split
from edgeseg.errors import EdgesegError, OptionError
from edgeseg.errors import field as f
from edgeseg.platform import hardware
from edgeseg.platform.devices import check_profile, load_profile
from edgeseg.platform.hardware import physical_cores
from edgeseg.progress import phase
from edgeseg.tune.candidates import Candidate, accuracy_control, cpu_candidates, cpu_facts
from edgeseg.tune.choose import accurate_enough, choose
from edgeseg.tune.options import TuneOptions
from edgeseg.tune.gpu import gpu_candidates
from edgeseg.tune.record import deliver, sweep_temporaries, with_ratios, write_all
from edgeseg.tune.throughput import streamed
from edgeseg.workdir import locked

log = logging.getLogger(__name__)
DEFAULT_CALIB = 300  # train images drawn when no calibration set is given (NVIDIA advises >= 300-500)


@dataclass
class TuneResult:
    path: Path  # the chosen artifact, copied into the output folder
    report: dict


def open_val(o: TuneOptions):
    """The val set, every sample labelled and every label's values read and checked now: a bad
    label found by the first accuracy pass would come after all the builds."""
    root, split = val_split(o.val)
    if not root.is_dir():
        raise OptionError(f"{f('val')} {o.val}: no such folder or list file")
    ds = open_dataset(root, o.dataset, split, o.val_limit, DatasetInfo.named(o.dataset))
    unlabelled = [s.image.name for s in ds.samples if s.label is None]
    if unlabelled:
        raise OptionError(f"{f('val')} {o.val}: {len(unlabelled)} images without labels (first: {unlabelled[0]}); "
                           "tune needs labels to measure mIoU")
    for s in ds.samples:
        try:
            ds.load(s)
        except EdgesegError as exc:
            raise OptionError(f"{f('val')} {o.val}: {exc}") from None
    return ds


def check_device(name: str):
    """The profile, refused when this machine cannot run it or tune has no candidates for it."""
    profile = load_profile(name)
    check_profile(profile, hardware.detect())
    if profile.jetson:
        raise OptionError(f"{f('device')} {name}: tune has no candidates for Jetson boards yet; use {f('device')} "
                          "cpu or cuda")
    return profile


def calibration(o: TuneOptions, out_dir: Path, ds):
    """The calibration set: o.calib, else DEFAULT_CALIB images drawn from ROOT's train split."""
    if o.calib:
        calib = load_calibset(o.calib, o.calib_data)
    else:
        root = val_split(o.val)[0]
        manifest = out_dir / f"calib-train-{DEFAULT_CALIB}.txt"
        try:
            calib = load_calibset(manifest) if manifest.is_file() else \
                make_manifest(root, o.dataset, "train", DEFAULT_CALIB, 0, manifest)
        except EdgesegError as exc:
            raise OptionError(f"INT8 candidates need calibration images: give {f('calib')} (and {f('calib_data')}); "
                               f"none found in {root}'s train split ({exc})") from None
    refuse_overlap(calib, [s.image for s in ds.samples])
    return calib


def tune(ckpt, out_dir, o: TuneOptions, progress=None) -> TuneResult:
    """Build, measure, choose, record; returns the chosen artifact's path and the report."""
    ckpt, out_dir = Path(ckpt), Path(out_dir)
    o.check()
    if not ckpt.is_file():
        raise EdgesegError(f"{ckpt}: no such file (the checkpoint to tune)")
    profile = check_device(o.device)
    ds = open_val(o)
    if profile.gpu:
        cands, skipped = gpu_candidates()
    else:
        cands, skipped = cpu_candidates(cpu_facts())
    out_dir.mkdir(parents=True, exist_ok=True)
    with locked(out_dir, "edgeseg tune"):
        work = out_dir / "candidates"
        sweep_temporaries(work)
        calib = calibration(o, out_dir, ds) if any(c.calib for c in cands) else None
        threads = o.threads or physical_cores()
        graphs = {c.graph for c in cands}
        with phase(progress, None, f"tune: building {len(graphs)} graphs"):
            built = build.build_graphs(ckpt, work, o, graphs, calib, progress)
        state = Measuring(measure.machine(threads), ds, o, measure.Cache(work / "measurements.json"), built, progress)
        rows = state.score(cands)
        rows += accuracy_controlled(rows, o, state, calib, skipped)
        rows += sized(rows, o, state, ckpt, work, calib, progress)
        tailed, out = tail_candidates(rows, o, len(rows))
        rows += state.score(tailed)
        skipped += out
        rows += state.score(threaded(rows, o, threads))
        if o.objective == "throughput":
            rows += state.score(streamed(rows, o, threads))
        state.time(rows)
        return finish(ckpt, out_dir, o, with_ratios(rows), skipped, state, calib)


def accuracy_controlled(rows: list[dict], o: TuneOptions, state, calib, skipped: list) -> list[dict]:
    """NNCF with accuracy control, built and scored only when plain NNCF INT8 misses the budget."""
    nncf = next((r for r in rows if r["graph"] == "nncf" and r.get("miou_drop") is not None), None)
    if nncf is None:
        return []
    if nncf["miou_drop"] <= o.max_miou_drop or o.min_fps is not None:
        skipped.append({"name": "nncf-ac-int8 openvino", "reason": "NNCF INT8 is within the budget already"
                        if o.min_fps is None else "a minimum frame rate ranks by mIoU: every candidate is in the running"})
        return []
    ds, fp32 = state.ds, state.built["fp32"]
    metric = build.miou_metric(ds.info.num_classes, ds.info.ignore_index)
    items = build.val_items(ds, _preprocess(fp32))
    with phase(state.progress, None, "tune: NNCF INT8 with accuracy control"):
        state.built["nncf-ac"] = build._try(lambda: build.nncf_ir(fp32, calib, (items, metric, o.max_miou_drop, o.val)))
    return state.score([accuracy_control(len(rows))])


def sized(rows: list[dict], o: TuneOptions, state, ckpt, work: Path, calib, progress) -> list[dict]:
    """The candidates still in the running, built and scored at each other of o.input_sizes
    (scored at the labels' resolution, as eval resizes: logits bilinear, class maps nearest)."""
    out: list[dict] = []
    for size in (s for s in o.input_sizes if s != state.size):
        keep = [r for r in rows if r.get("miou") is not None and not r.get("tail") and not r.get("size")
                and accurate_enough(r, o.rule)]
        if not keep:
            break
        built = build.build_graphs(ckpt, work, replace(o, input_size=size), {r["graph"] for r in keep}, calib, progress)
        if "nncf-ac" in state.built and any(r["graph"] == "nncf-ac" for r in keep):
            built["nncf-ac"] = "accuracy control is built at the first size only"
        state.builts[size] = built
        cands = [replace(Candidate.from_row(r), name=f"{r['name']} @{size[0]}x{size[1]}",
                         order=len(rows) + len(out) + i, size=size) for i, r in enumerate(keep)]
        out += state.score(cands)
    return out


def threaded(rows: list[dict], o: TuneOptions, threads: int) -> list[Candidate]:
    """Each other count of o.thread_counts on each candidate still in the running (tails and sizes
    included), scored and timed like any candidate: the same file, another runtime setting."""
    keep = [r for r in rows if r.get("miou") is not None and not r.get("threads") and accurate_enough(r, o.rule)]
    out = []
    for t in (t for t in o.thread_counts if t != threads):
        out += [replace(Candidate.from_row(r), name=f"{r['name']} {t}t", order=len(rows) + len(out) + i, threads=t)
                for i, r in enumerate(keep)]
    return out


def tail_candidates(rows: list[dict], o: TuneOptions, start: int) -> tuple[list[Candidate], list[dict]]:
    """Each class-map tail on each base candidate still in the running (accurate enough for the
    objective; measured), so the search grows with what can win, not with every product of axes."""
    extra = [t for t in o.tails if t != "logits"]
    out, skipped = [], []
    for r in rows:
        if not extra or r.get("miou") is None or r.get("tail"):
            continue
        if not accurate_enough(r, o.rule):
            skipped.append({"name": f"{r['name']} + tails", "reason": "over the accuracy budget already as logits"})
            continue
        for t in extra:
            base = Candidate.from_row(r)
            out.append(replace(base, name=f"{r['name']} {t}", order=start + len(out), tail=t))
    return out, skipped


def _preprocess(onnx_path: Path) -> dict:
    return read_artifact(onnx_path).preprocess


def finish(ckpt, out_dir, o, rows, skipped, state, calib) -> TuneResult:
    """Choose and deliver; the tables are written even when nothing meets the objective (the
    figures say why), and then the run is refused."""
    size = state.size
    report = {"checkpoint": str(ckpt), "input_size": list(size), "budget": o.max_miou_drop,
              "objective": {"max_miou_drop": o.max_miou_drop, "max_class_drop": o.max_class_drop,
                            "min_fps": o.min_fps, "throughput": o.rule.throughput, "text": o.rule.describe()},
              "val": o.val, "val_images": len(state.ds), "val_id": state.val, "dataset": o.dataset,
              "val_limit": o.val_limit, "threads": state.machine["threads"],
              "calib": f"{calib.source} ({len(calib)} images)" if calib else None,
              "protocol": o.protocol.to_dict(), "machine": state.machine, "timing_load": state.load,
              "candidates": rows, "skipped": skipped, "chosen": None, "why": None}
    try:
        winner, why = choose(rows, o.rule)
    except EdgesegError as exc:
        write_all({**report, "why": str(exc)}, out_dir)
        raise
    tuned = {"chosen": winner["name"], "streams": winner.get("streams"), "why": why, "budget": o.max_miou_drop, "objective": o.rule.describe(),
             "machine": state.machine, "input_size": list(size), "val": o.val, "val_images": len(state.ds),
             "candidates": [{k: v for k, v in r.items() if k not in ("order", "per_class_iou")} for r in rows]}
    dest = deliver(Path(winner["path"]), out_dir, tuned)
    report.update(chosen={"name": winner["name"], "path": str(dest), "source": winner["path"]}, why=why)
    write_all(report, out_dir)
    return TuneResult(dest, report)


class Measuring:
    """Scores candidates (accuracy reused by key) against the FP32 ONNX Runtime reference, then
    times every scored candidate together in one interleaved run."""

    def __init__(self, machine: dict, ds, o: TuneOptions, cache: measure.Cache, built: dict, progress=None):
        self.machine, self.ds, self.o, self.cache, self.built = machine, ds, o, cache, built
        self.progress = progress
        self.size = tuple(read_artifact(built["fp32"]).preprocess["input_size"])
        self.val = measure.val_id(ds)
        self.load: dict | None = None
        self.builts = {self.size: built}

    def score(self, cands) -> list[dict]:
        rows, todo = [], []
        for c in cands:
            path = build.artifact(c, self.builts.get(tuple(c.size or self.size), self.built))
            row = {**c.to_dict(), "path": str(path) if isinstance(path, Path) else None}
            if not isinstance(path, Path):
                row["error"] = path
            else:
                row["sha256"] = measure.artifact_sha(path)
                row["key"] = measure.key(row["sha256"], c, self.machine, self.val, c.size or self.size)
                cached = self.cache.get(row["key"], row["sha256"])
                if cached:
                    row.update(cached, cached=True)
                else:
                    todo.append((c, path, row))
            rows.append(row)
        if todo:
            runners = self._open([(self._reference(), self.built["fp32"])])
            kept = []
            for c, p, row in todo:  # a runtime that cannot compile one candidate must not sink the others
                try:
                    runners += self._open([(c, p)])
                    kept.append((c, p, row))
                except EdgesegError as exc:
                    row["error"] = str(exc)
            todo = kept
            try:
                with phase(self.progress, None, f"tune: scoring {len(todo)} candidates on {len(self.ds)} images"):
                    scores = measure.accuracy(runners, self.ds)[1:]
            finally:
                measure.close(runners)
            for (_, _, row), figures in zip(todo, scores):
                self.cache.put(row["key"], row["sha256"], figures)
                row.update(figures, cached=False)
        return rows

    def time(self, rows) -> None:
        """One interleaved run over every scored row: latencies only compare within one run."""
        scored = [r for r in rows if r.get("miou") is not None]
        runners = self._open([(Candidate.from_row(r), Path(r["path"])) for r in scored])
        try:
            with phase(self.progress, None, f"tune: timing {len(scored)} candidates, {self.o.protocol.rounds} rounds"):
                times = measure.latency(runners, self.size, self.o.protocol)
            if self.o.objective == "throughput":
                with phase(self.progress, None, f"tune: throughput of {len(scored)} candidates"):
                    for t, fps in zip(times, measure.throughputs(runners, self.size, self.o.protocol)):
                        t["throughput_fps"] = fps
        finally:
            measure.close(runners)
        for row, t in zip(scored, times):
            row.update(t)
        self.load = times[0]["load"] if times else None

    def _open(self, items):
        return measure.open_runners(items, self.machine["threads"], self.size, self.o.dataset)

    @staticmethod
    def _reference() -> Candidate:
        return Candidate("reference", "fp32", "onnxruntime", "fp32", -1)
