"""What a tune run leaves: tune.json, tune.md, the mIoU-vs-FPS plot (Pareto front, pick, budget
line, machine), and the pick itself (a copy of the winning artifact whose sidecar holds the
`tuned` record; an earlier run's other pick is removed, so one `*.tuned.*` stays)."""

from __future__ import annotations

import contextlib
import logging
import shutil
from pathlib import Path

from edgeseg.artifacts import atomic_path, read_sidecar, sidecar_path, write_json, write_sidecar
from edgeseg.bench.plot import DPI, figure
from edgeseg.tune.choose import pareto

log = logging.getLogger(__name__)
COLUMNS = ("name", "precision", "backend", "pipeline_ms", "median_ms", "x_fp32_ov", "throughput_fps", "miou",
           "miou_drop", "class_drop", "agreement", "cached")


def with_ratios(rows: list[dict]) -> list[dict]:
    """Each row's pipeline latency as a multiple of FP32 on OpenVINO's (else ONNX Runtime's) in the
    same run."""
    base = next((r for r in rows if r["name"] == "fp32 openvino" and r.get("pipeline_ms")), None) or \
        next((r for r in rows if r["precision"] == "fp32" and not r.get("tail") and r.get("pipeline_ms")), None)
    for r in rows:
        if base and r.get("pipeline_ms"):
            r["x_fp32_ov"] = round(r["pipeline_ms"] / base["pipeline_ms"], 3)
    return rows


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [f"# edgeseg tune: {Path(report['checkpoint']).name} at {report['input_size'][0]}x{report['input_size'][1]}",
             "", f"- machine: {m['cpu']} ({m['arch']}), ISA: {', '.join(m['isa']) or 'none read'}"
             f"{'; ' + m['isa_cap'] if m.get('isa_cap') else ''}, {m['threads']} threads",
             "- versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()),
             f"- val: {report['val']} ({report['val_images']} images); objective: {_objective(report)}",
             f"- calibration: {report['calib']}", f"- protocol: {_protocol(report['protocol'])}",
             f"- load average (1, 5, 15 min) before and after timing: {_load(report.get('timing_load'))}", "",
             "pipeline: the model plus the host's work to a full-size class map (what the choice uses); "
             "model: `infer` alone. Timed together in one interleaved run; accuracy reused by artifact hash "
             "(reused = yes).", "",
             "| candidate | precision | backend | pipeline ms | model ms | x FP32 (OV) | throughput FPS | mIoU | drop "
             "| worst class drop | agreement % | accuracy reused |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in report["candidates"]:
        if r.get("error"):
            lines.append(f"| {r['name']} | {r['precision']} | {r['backend']} | not built: {r['error'][:120]} "
                         "| | | | | | | | |")
            continue
        mark = "**" if r["name"] == _pick(report) else ""
        cells = [f"{mark}{r['name']}{mark}", r["precision"], r["backend"]] + [_fmt(r.get(c)) for c in COLUMNS[3:]]
        lines.append("| " + " | ".join(cells) + " |")
    for s in report.get("skipped", []):
        lines.append(f"| {s['name']} | | | skipped: {s['reason']} | | | | | | | | |")
    front = ", ".join(r["name"] for r in pareto(report["candidates"]))
    lines += ["", f"Pareto front (no other candidate is both faster and more accurate), fastest first: {front}",
              "", (f"**Chosen: {report['chosen']['name']}** ({report['chosen']['path']}): {report['why']}"
                   if report.get("chosen") else f"**Nothing chosen**: {report['why']}"), ""]
    return "\n".join(lines)


def _pick(report: dict) -> str | None:
    return (report.get("chosen") or {}).get("name")


def _objective(report: dict) -> str:
    obj = report.get("objective")
    return obj["text"] if isinstance(obj, dict) else f"fastest within {report['budget']} mIoU points"


def _load(load: dict | None) -> str:
    if not load:
        return "not read"
    return f"{', '.join(map(str, load.get('before') or []))} / {', '.join(map(str, load.get('after') or []))}"


def _protocol(p: dict) -> str:
    return (f"{p['warmup']} warm-up runs each, then {p['rounds']} interleaved rounds of {p['iters']} timed runs per "
            "candidate; median of the rounds' medians")


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def plot(report: dict, path: Path) -> None:
    """mIoU against pipeline FPS of every measured candidate: the Pareto front, the pick (a star),
    the budget (the mIoU floor, or the minimum frame rate's line) and the machine (the legend's device)."""
    m = report["machine"]
    device = f"{m['cpu']} ({'/'.join((m.get('isa') or ['ISA not read'])[:3])}), {m['threads']} threads"
    if m.get("isa_cap"):
        device += f", {m['isa_cap'].split(' ')[0]}"
    rows = [r for r in report["candidates"] if r.get("pipeline_ms") and r.get("miou") is not None]
    points = [{"artifact": r["name"], "precision": r["precision"], "backend": r["backend"], "device": device,
               "fps": round(1000.0 / r["pipeline_ms"], 3), "miou": r["miou"]} for r in rows]
    fig, _ = figure(points, f"edgeseg tune: mIoU vs pipeline FPS at {report['input_size'][0]}x{report['input_size'][1]}")
    ax = fig.axes[0]
    ax.set_xlabel("FPS of the pipeline (model + host work to a full-size class map; median)")
    notes = []
    pick = next((p for p, r in zip(points, rows) if r["name"] == _pick(report)), None)
    if pick:
        ax.scatter([pick["fps"]], [pick["miou"]], marker="*", s=320, color="#ffbf00", edgecolors="black", zorder=6)
        notes.append(f"star: the pick, {pick['artifact']}")
    obj = report.get("objective") or {}
    ref = next((r for r in rows if r["name"] == "fp32 onnxruntime"), None)
    if obj.get("min_fps"):
        ax.axvline(obj["min_fps"], color="#555555", linestyle="dashed", linewidth=1, zorder=1)
        notes.append(f"dashed: the minimum rate, {obj['min_fps']:g} FPS")
    elif ref is not None:
        floor = ref["miou"] - report["budget"]
        ax.axhline(floor, color="#555555", linestyle="dashed", linewidth=1, zorder=1)
        notes.append(f"dashed: the budget, FP32 mIoU - {report['budget']:g} = {floor:.2f}")
    fig.text(0.09, 0.015, "; ".join(notes), fontsize=9, color="#333333")  # the legend stays where labels avoid it
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI)


def deliver(winner_path: Path, out_dir: Path, tuned: dict) -> Path:
    """Copy the winning artifact (and an IR's .bin) into `out_dir`; its sidecar gains `tuned`.
    An earlier pick of another name is removed: one folder, one pick."""
    src = Path(winner_path)
    dest = out_dir / f"{src.stem}.tuned{src.suffix}"
    if src.suffix == ".xml":
        _copy(src.with_suffix(".bin"), dest.with_suffix(".bin"))
    _copy(src, dest)
    meta = read_sidecar(sidecar_path(src)) if sidecar_path(src).is_file() else {}  # a checkpoint has none
    if "files" in meta:  # the set's files as named beside the pick: an IR's .bin (nothing else is copied)
        copied = {src.with_suffix(".bin").name: dest.with_suffix(".bin").name} if src.suffix == ".xml" else {}
        meta["files"] = {copied[n]: sha for n, sha in meta["files"].items() if n in copied}
    write_sidecar(dest, {**meta, "tuned": tuned})
    keep = {dest, dest.with_suffix(".bin"), sidecar_path(dest)}
    for old in out_dir.glob("*.tuned.*"):
        if old not in keep and old.is_file() and not old.is_symlink():
            old.unlink()
            log.info("removed the earlier pick %s", old.name)
    return dest


def sweep_temporaries(work: Path) -> None:
    """Remove `.ir-*` folders a killed run left (IR writes; the caller holds the folder's lock)."""
    if not work.is_dir():
        return
    for tmp in work.rglob(".ir-*"):
        if tmp.is_dir() and not tmp.is_symlink():
            with contextlib.suppress(OSError):
                shutil.rmtree(tmp)
                log.info("removed %s, left by a killed run", tmp)


def _copy(src: Path, dest: Path) -> None:
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)


def write_all(report: dict, out_dir: Path, plot_rows: bool = True) -> None:
    write_json(out_dir / "tune.json", report)
    with atomic_path(out_dir / "tune.md") as tmp:
        Path(tmp).write_text(markdown(report))
    if plot_rows:
        try:
            plot(report, out_dir / "tune.png")
        except Exception as exc:  # matplotlib missing: the table and JSON hold the same figures
            report["plot"] = f"not drawn ({exc})"
