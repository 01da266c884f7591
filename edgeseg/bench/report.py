"""One accuracy/speed table from bench and eval JSON files, for screen, Markdown and CSV.

Results JSON (`edgeseg bench --json`, format "edgeseg-bench/1"):
  {"format", "created", "device": {profile, machine, cpu, cores, threads, gpus, jetson_model, l4t,
   is_jetson, power_mode?, clocks?}, "versions": {edgeseg, python, onnxruntime, ...},
   "settings": {batch, warmup, iters, duration, threads, provider, input_size},
   "rows": [{path, status: "ok"|"failed", reason, backend, description, precision, input,
             end_to_end: stats, gpu_compute?/h2d?/d2h?: stats, cpu_threads, timed_s,
             power?, power_w?, fps_per_watt?, miou?, miou_drop?, agreement?,
             video?: {source, frames_out, e2e_fps, e2e_mode, requests, model_fps (async), model_mode,
                      e2e_over_model, model: {sync, async}, latency_p50_ms, latency_p99_ms, stages}}],
   "accuracy"?: {dataset, split, images, resize, reference}, "cpp"?: {program, runtime}}
A `--cpp` row (backend "OpenVINO C++") has edgeseg-cpp's model-only sync timing as end_to_end, and video.
where stats = {count, mean_ms, median_ms, p90_ms, p95_ms, p99_ms, min_ms, max_ms, std_ms, fps, fps_mean}.
Fleet JSON (`edgeseg fleet bench --json`, format "edgeseg-fleet/1"): {"format", "created",
"targets": [bench results as above, each device with "target" and "host"]}.
Eval JSON (`edgeseg eval --json`): {dataset, split, images, artifacts: [{path, backend, precision,
miou, pixel_acc, per_class_iou, miou_drop, agreement}]}.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from edgeseg.bench.tables import markdown_table, over_budget
from edgeseg.errors import EdgesegError

BENCH_FORMAT = "edgeseg-bench/1"
NO_DEVICE = "-"  # rows from eval files: accuracy only, measured on no particular device

# (header, row key, decimals, shown even when empty). GPU columns use trtexec's names.
COLUMNS = [
    ("artifact", "artifact", None, True), ("precision", "precision", None, True),
    ("backend", "backend", None, True), ("device", "device", None, True), ("threads", "threads", 0, False),
    ("median ms", "median_ms", 2, True), ("p99 ms", "p99_ms", 2, False), ("FPS", "fps", 1, True),
    ("GPU Compute ms", "gpu_ms", 2, False), ("H2D ms", "h2d_ms", 3, False), ("D2H ms", "d2h_ms", 3, False),
    ("W", "power_w", 2, False), ("FPS/W", "fps_per_watt", 2, False),
    ("async FPS", "async_fps", 1, False), ("e2e FPS", "e2e_fps", 1, False), ("e2e/model", "e2e_ratio", 2, False), ("e2e p99 ms", "e2e_p99_ms", 1, False),
    ("mIoU", "miou", 2, True), ("drop", "drop", 3, True), ("status", "status", None, True),
]
CSV_KEYS = ["artifact", "precision", "backend", "device", "threads", "median_ms", "mean_ms", "p90_ms", "p99_ms",
            "fps", "fps_mean", "gpu_ms", "h2d_ms", "d2h_ms", "power_w", "fps_per_watt", "async_fps", "e2e_fps", "e2e_ratio",
            "e2e_p50_ms", "e2e_p99_ms", "miou", "drop",
            "agreement", "status", "reason", "path"]


# -- reading -------------------------------------------------------------------------------
def load_rows(paths) -> list[dict]:
    """Normalised rows from `edgeseg bench --json` and `edgeseg eval --json` files."""
    rows = []
    for p in paths:
        data = _read_json(p)
        rows += _rows_of(data, p)
    return _merge(rows)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _read_json(p):
    """The JSON in `p`, or one line: unreadable, not JSON, nested too deep, or holding NaN/Infinity."""
    try:
        return json.loads(Path(p).read_text(), parse_constant=_refuse_constant)
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise EdgesegError(f"{p}: not a readable results JSON ({exc})") from None
    except RecursionError:
        raise EdgesegError(f"{p}: not a results JSON (nested too deeply to read)") from None


def load_rows_from(data: dict) -> list[dict]:
    return _merge(_rows_of(data, "results"))


def _rows_of(data, source) -> list[dict]:
    if isinstance(data, dict) and isinstance(data.get("targets"), list):  # `edgeseg fleet bench --json`
        return [row for result in data["targets"] for row in _rows_of(result, source)]
    if isinstance(data, dict) and isinstance(data.get("rows"), list):
        if data.get("format", BENCH_FORMAT) != BENCH_FORMAT:
            raise EdgesegError(f"{source}: bench results in format {data['format']!r}; "
                               f"this edgeseg reads {BENCH_FORMAT}")
        _check_entries(data["rows"], source, "rows")
        device = data.get("device", {})
        if not isinstance(device, dict):
            raise EdgesegError(f"{source}: 'device' is a JSON {type(device).__name__}, not an object")
        _field(device, "gpus", list, source)
        _field(device, "power_mode", dict, source)
        label = device_label(device)
        return [_bench_row(r, label) for r in data["rows"]]
    if isinstance(data, dict) and isinstance(data.get("artifacts"), list):
        _check_entries(data["artifacts"], source, "artifacts")
        return [{"artifact": Path(a["path"]).name, "path": a["path"], "precision": a.get("precision"),
                 "backend": a.get("backend"), "device": NO_DEVICE, "miou": a.get("miou"), "drop": a.get("miou_drop"),
                 "agreement": a.get("agreement"), "status": over_budget(a.get("miou_drop")) or "ok"}
                for a in data["artifacts"]]
    raise EdgesegError(f"{source}: neither bench nor eval results (no 'rows' or 'artifacts')")


_NUMBERS = ("miou", "miou_drop", "agreement", "power_w", "fps_per_watt", "h2d_ms", "d2h_ms", "cpu_threads")
LARGEST = 1e12  # no measured ms, FPS, W or % comes near; beyond it a figure is damaged (and breaks plots)


def _bad_number(v) -> bool:
    return v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not abs(v) < LARGEST)


def _check_entries(entries: list, source, key: str) -> None:
    """Every entry an object with a path and numbers where numbers belong, or one line naming the bad one."""
    for i, e in enumerate(entries):
        where = f"{source}: {key}[{i}]"
        if not isinstance(e, dict):
            raise EdgesegError(f"{where} is a JSON {type(e).__name__}, not an object")
        if not isinstance(e.get("path"), str) or not e["path"]:
            raise EdgesegError(f"{where} has no 'path' string")
        for k in _NUMBERS:
            if _bad_number(e.get(k)):
                raise EdgesegError(f"{where}: {k!r} must be a number below {LARGEST:g}, got {e[k]!r}")
        for k in ("end_to_end", "gpu_compute"):
            stats = e.get(k)
            if stats is None:
                continue
            if not isinstance(stats, dict):
                raise EdgesegError(f"{where}: {k!r} must be an object of statistics, got {stats!r}")
            bad = [s for s, v in stats.items() if _bad_number(v)]
            if bad:
                raise EdgesegError(f"{where}: {k}.{bad[0]} must be a number below {LARGEST:g}, got {stats[bad[0]]!r}")


def device_label(device: dict) -> str:
    """'profile: what ran it' - the board for Jetsons (with power mode), the GPU or the CPU otherwise.

    Fleet results name the target (profile@host) instead of the bare profile.
    """
    profile = device.get("profile", "?")
    shown = device.get("target") or profile
    if device.get("is_jetson") or device.get("jetson_model"):
        name = device.get("jetson_model") or "Jetson"
        mode = _field(device, "power_mode", dict).get("mode")
        return f"{shown}: {name}" + (f" {mode}" if mode else "")
    gpus = _field(device, "gpus", list)
    if profile != "cpu" and gpus:
        first = gpus[0] if isinstance(gpus[0], dict) else {}
        return f"{shown}: {first.get('name', 'GPU')}"
    isa = device.get("isa")
    isa = isa if isinstance(isa, list) and all(isinstance(x, str) for x in isa) else None
    return f"{shown}: {device.get('cpu', '?')}" + (f" ({', '.join(isa)})" if isa else "")


def _field(device: dict, key: str, kind: type, source="results"):
    """device[key] when it has the JSON type our files write there, else one line saying it does not."""
    value = device.get(key) or kind()
    if not isinstance(value, kind):
        what = "an object" if kind is dict else "a list"
        raise EdgesegError(f"{source}: device.{key} must be {what}, got {value!r}")
    return value


def _bench_row(r: dict, device: str) -> dict:
    e2e = r.get("end_to_end") or {}
    ok = r.get("status") == "ok"
    return {"artifact": Path(r["path"]).name, "path": r["path"], "precision": r.get("precision"),
            "backend": r.get("backend"), "device": device, "threads": r.get("cpu_threads"),
            "median_ms": e2e.get("median_ms"), "mean_ms": e2e.get("mean_ms"), "p90_ms": e2e.get("p90_ms"),
            "p99_ms": e2e.get("p99_ms"), "fps": e2e.get("fps"), "fps_mean": e2e.get("fps_mean"),
            "gpu_ms": (r.get("gpu_compute") or {}).get("median_ms"), "h2d_ms": r.get("h2d_ms"),
            "d2h_ms": r.get("d2h_ms"), "power_w": r.get("power_w"), "fps_per_watt": r.get("fps_per_watt"),
            "miou": r.get("miou"), "drop": r.get("miou_drop"), "agreement": r.get("agreement"),
            **_video_cells(r.get("video")),
            "status": (over_budget(r.get("miou_drop")) or ("ok" + (f" ({r['verification']})" if r.get("verification")
                                                                    else ""))) if ok
            else f"{r.get('status') or 'failed'}: {r.get('reason') or 'no reason recorded'}",
            "reason": None if ok else r.get("reason")}


def check_rows(result: dict) -> None:
    """After the table is shown: a run where a requested row failed, or nothing ran, must not exit 0.

    Rows marked "skipped" (a precision the device's profile does not run) are not failures, but
    a run where every row was skipped measured nothing and fails too.
    """
    rows = result["rows"]
    failed = [r for r in rows if r.get("status") not in ("ok", "skipped")]
    if failed:
        first = failed[0]
        reason = first.get("reason") or "no reason recorded"
        where = reason if first["path"] in reason else f"{first['path']}: {reason}"
        raise EdgesegError(f"{len(failed)} of {len(rows)} benchmark rows failed (first: {where})")
    if not any(r.get("status") == "ok" for r in rows):
        first = rows[0].get("reason") if rows else None
        raise EdgesegError("nothing was measured" + (f": {first}" if first else ""))
    if (result.get("accuracy") or {}).get("error"):
        raise EdgesegError(f"accuracy asked with --data but not measured: {result['accuracy']['error']}")


def _video_cells(video) -> dict:
    """End-to-end columns from a row's `video` (`edgeseg bench --source`); empty when absent."""
    if not isinstance(video, dict):
        return {}
    return {"async_fps": video.get("model_fps"), "e2e_fps": video.get("e2e_fps"), "e2e_ratio": video.get("e2e_over_model"),
            "e2e_p50_ms": video.get("latency_p50_ms"), "e2e_p99_ms": video.get("latency_p99_ms")}


def _merge(rows: list[dict]) -> list[dict]:
    """Eval rows fill the accuracy of timed rows of the same artifact on the same runtime (an mIoU
    measured on ONNX Runtime is not OpenVINO's for the same file); unmatched eval rows stay as rows."""
    evals = [r for r in rows if r["device"] == NO_DEVICE]
    timed = [r for r in rows if r["device"] != NO_DEVICE]
    used = set()
    for r in timed:
        match = _find(r["path"], [e for e in evals if e.get("backend") == r.get("backend")])
        if match is not None:
            used.add(id(match))
            if r.get("miou") is None:
                r.update(miou=match["miou"], drop=match["drop"], agreement=match.get("agreement"))
                if r["status"].startswith("ok") and match["status"] != "ok":
                    r["status"] = match["status"]
    return timed + [e for e in evals if id(e) not in used]


def _find(path: str, evals: list[dict]) -> dict | None:
    """Same path as written, else same resolved path, else the one eval row with that file name."""
    for key in (lambda p: p, lambda p: str(Path(p).resolve())):
        hits = [e for e in evals if key(e["path"]) == key(path)]
        if hits:
            return hits[-1]
    named = [e for e in evals if Path(e["path"]).name == Path(path).name]
    return named[0] if len(named) == 1 else None


# -- writing -------------------------------------------------------------------------------
def _fmt(v, digits) -> str:
    if v is None:
        return "-"
    return str(v) if digits is None else f"{v:.{digits}f}"


def visible_columns(rows) -> list[tuple]:
    """Always the core columns; optional ones (GPU times, power, threads) only when some row has them."""
    return [c for c in COLUMNS if c[3] or any(r.get(c[1]) is not None for r in rows)]


def _cells(r: dict, columns) -> list[str]:
    def digits_for(key, digits):  # 2.3 FPS on a small CPU deserves a second decimal
        v = r.get(key)
        return 2 if key in ("fps", "fps_per_watt") and v is not None and v < 10 else digits

    return [_fmt(r.get(key), digits_for(key, digits)) for _, key, digits, _ in columns]


def split_constant(rows, columns) -> tuple[list[tuple], list[str]]:
    """(the columns whose cells differ between rows, "header: value" of those the same in every row),
    so a table of many rows shows what distinguishes them and names the rest once, below it."""
    if len(rows) < 2:
        return columns, []
    kept, same = [], []
    for c in columns:
        cells = {cell for cell in (_cells(r, [c])[0] for r in rows)}
        if c[1] != "artifact" and len(cells) == 1:
            same.append(f"{c[0]}: {cells.pop()}")
        else:
            kept.append(c)
    return kept, same


def _min_width(header: str, cells: list[str]) -> int:
    """Wide enough for the longest word of the header and of the cells (a number is one word): a
    narrow console wraps a cell between words, never inside one ("precis/ion")."""
    return max(len(w) for text in (header, *cells) for w in text.split() or [""])


def rich_table(rows, title="accuracy / speed", wide: bool = False):
    """The table for the console; columns the same in every row go to a caption below it unless `wide`."""
    from rich.table import Table

    columns, same = (visible_columns(rows), []) if wide else split_constant(rows, visible_columns(rows))
    t = Table(title=title, caption="every row: " + ", ".join(same) if same else None, caption_justify="left",
              pad_edge=False)
    cells = [_cells(r, columns) for r in rows]
    for i, (header, key, digits, _) in enumerate(columns):
        width = None if key == "status" else _min_width(header, [c[i] for c in cells])
        t.add_column(header, justify="right" if digits is not None else "left", overflow="fold",
                     ratio=2 if key == "status" else None, min_width=width)
    for row in cells:
        t.add_row(*row)
    return t


def rich_table_by_column(rows, title="accuracy / speed"):
    """The same figures turned a quarter: one line per column, one column per row; for a few rows
    with more columns than a console's width holds."""
    from rich.table import Table

    columns = visible_columns(rows)
    t = Table(title=title)
    t.add_column("")
    for r in rows:
        t.add_column(str(r.get("artifact")), justify="right", overflow="fold")
    for i, (header, *_rest) in enumerate(columns):
        if columns[i][1] != "artifact":
            t.add_row(header, *(_cells(r, [columns[i]])[0] for r in rows))
    return t


def markdown(rows, title: str | None = None, notes: list[str] = ()) -> str:
    columns = visible_columns(rows)
    lines = [f"## {title}", ""] if title else []
    lines += [f"- {n}" for n in notes] + ([""] if notes else [])
    lines += markdown_table([c[0] for c in columns], (_cells(r, columns) for r in rows))
    return "\n".join(lines) + "\n"


def csv_text(rows) -> str:
    """Every column, numbers unformatted, so a spreadsheet can sort and chart them."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_KEYS)
    for r in rows:
        values = {**r, "status": r["status"].split(":")[0]}  # "ok" / "failed" / "over budget"; the why is in "reason"
        w.writerow([_raw(values.get(k)) for k in CSV_KEYS])
    return buf.getvalue()


def _raw(v):
    return "" if v is None else (round(v, 4) if isinstance(v, float) else v)


def describe(result: dict) -> list[str]:
    """Lines that say where and how a bench result was measured (for Markdown and the console)."""
    d, s = result.get("device", {}), result.get("settings", {})
    isa = f", ISA {' '.join(d['isa'])}" if d.get("isa") else ""
    cpu = f"{d.get('cpu', '?')} ({d.get('cores', '?')} cores, {d.get('threads') or '?'} threads{isa})"
    lines = [f"device profile {d.get('profile', '?')}: {d.get('machine', '?')}, {cpu}"]
    if d.get("gpus"):
        lines.append("GPU: " + ", ".join(f"{g['name']} (sm {g.get('compute_cap')}, driver {g.get('driver')})"
                                         for g in d["gpus"]))
    if d.get("is_jetson"):
        mode, clocks = (d.get("power_mode") or {}).get("mode"), d.get("clocks") or {}
        locked = {True: "locked at max", False: "not locked (run sudo jetson_clocks)"}.get(clocks.get("locked"),
                                                                                          "unknown")
        lines.append(f"Jetson: {d.get('jetson_model') or '?'}, L4T {d.get('l4t') or '?'}, "
                     f"power mode {mode or 'unknown'}, clocks {locked}")
    budget = f"{s['iters']} timed iterations" if s.get("iters") else f"{s.get('duration')} s timed"
    size = "x".join(map(str, s["input_size"])) if s.get("input_size") else "from each artifact"
    lines.append(f"batch {s.get('batch', 1)}, warm-up {s.get('warmup')} iterations, {budget}, input {size}, "
                 f"provider {s.get('provider')}, threads {s.get('threads') or 'default'}")
    v = result.get("versions", {})
    lines.append("versions: " + ", ".join(f"{k} {val}" for k, val in v.items()))
    if result.get("source"):
        lines.append(f"end to end (e2e): {result['source']} decoded, preprocessed, inferred, painted and "
                     "written by `edgeseg run`'s pipeline; e2e/model = its FPS over the model's asynchronous FPS "
                     "with as many requests in flight (FPS above: synchronous)")
    if result.get("cpp"):
        lines.append(f"{result['cpp']['runtime']} rows: the same video and artifact run by {result['cpp']['program']} "
                     "(OpenVINO, CPU); their ms and FPS are its model-only synchronous timing after the video")
    acc = result.get("accuracy")
    if acc and acc.get("error"):
        lines.append(f"accuracy not measured: {acc['error']}")
    elif acc:
        lines.append(f"mIoU on {acc.get('dataset')} {acc.get('split')} ({acc.get('images')} images); "
                     f"drop against {Path(acc.get('reference') or '?').name}")
    return lines
