"""What a tune run leaves: tune.json, tune.md, the mIoU-vs-latency plot, and the pick itself
(a copy of the winning artifact whose sidecar holds the `tuned` record)."""

from __future__ import annotations

import shutil
from pathlib import Path

from edgeseg.artifacts import atomic_path, read_sidecar, sidecar_path, write_json, write_sidecar
from edgeseg.bench.plot import draw

COLUMNS = ("name", "precision", "backend", "median_ms", "x_fp32_ov", "miou", "miou_drop", "agreement", "cached")


def with_ratios(rows: list[dict]) -> list[dict]:
    """Each row's latency as a multiple of FP32 on OpenVINO (else on ONNX Runtime) of the same run."""
    base = next((r for r in rows if r["name"] == "fp32 openvino" and r.get("median_ms")), None) or \
        next((r for r in rows if r["precision"] == "fp32" and r.get("median_ms")), None)
    for r in rows:
        if base and r.get("median_ms"):
            r["x_fp32_ov"] = round(r["median_ms"] / base["median_ms"], 3)
    return rows


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [f"# edgeseg tune: {Path(report['checkpoint']).name} at {report['input_size'][0]}x{report['input_size'][1]}",
             "", f"- machine: {m['cpu']} ({m['arch']}), ISA: {', '.join(m['isa']) or 'none read'}, "
             f"{m['threads']} threads", "- versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()),
             f"- val: {report['val']} ({report['val_images']} images); budget: {report['budget']} mIoU points",
             f"- calibration: {report['calib']}", f"- protocol: {_protocol(report['protocol'])}", "",
             "| candidate | precision | backend | median ms | x FP32 (OV) | mIoU | drop | agreement % | reused |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in report["candidates"]:
        if r.get("error"):
            lines.append(f"| {r['name']} | {r['precision']} | {r['backend']} | not built: {r['error'][:120]} | | | | | |")
            continue
        mark = "**" if r["name"] == report["chosen"]["name"] else ""
        cells = [f"{mark}{r['name']}{mark}", r["precision"], r["backend"]] + [_fmt(r.get(c)) for c in COLUMNS[3:]]
        lines.append("| " + " | ".join(cells) + " |")
    for s in report.get("skipped", []):
        lines.append(f"| {s['name']} | | | skipped: {s['reason']} | | | | | |")
    lines += ["", f"**Chosen: {report['chosen']['name']}** ({report['chosen']['path']}): {report['why']}", ""]
    return "\n".join(lines)


def _protocol(p: dict) -> str:
    return (f"{p['warmup']} warm-up runs each, then {p['rounds']} interleaved rounds of {p['iters']} timed runs per "
            "candidate; median of the rounds' medians")


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def plot(rows: list[dict], path: Path, title: str) -> None:
    """mIoU against FPS (1000 / median ms) of every measured candidate, via bench/plot.py."""
    points = [{"artifact": r["name"], "precision": r["precision"], "backend": r["backend"],
               "fps": round(1000.0 / r["median_ms"], 3), "miou": r["miou"]}
              for r in rows if r.get("median_ms") and r.get("miou") is not None]
    draw(points, path, title)


def deliver(winner_path: Path, out_dir: Path, tuned: dict) -> Path:
    """Copy the winning artifact (and an IR's .bin) into `out_dir`; its sidecar gains `tuned`."""
    src = Path(winner_path)
    dest = out_dir / f"{src.stem}.tuned{src.suffix}"
    if src.suffix == ".xml":
        _copy(src.with_suffix(".bin"), dest.with_suffix(".bin"))
    _copy(src, dest)
    meta = read_sidecar(sidecar_path(src)) if sidecar_path(src).is_file() else {}  # a checkpoint has none
    write_sidecar(dest, {**meta, "tuned": tuned})
    return dest


def _copy(src: Path, dest: Path) -> None:
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)


def write_all(report: dict, out_dir: Path, plot_rows: bool = True) -> None:
    write_json(out_dir / "tune.json", report)
    with atomic_path(out_dir / "tune.md") as tmp:
        Path(tmp).write_text(markdown(report))
    if plot_rows:
        try:
            plot(report["candidates"], out_dir / "tune.png", f"edgeseg tune on {report['machine']['cpu']}")
        except Exception as exc:  # matplotlib missing: the table and JSON hold the same figures
            report["plot"] = f"not drawn ({exc})"
