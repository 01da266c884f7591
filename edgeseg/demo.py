"""The bundled end-to-end demo: export FP32/FP16/INT8, evaluate, benchmark, table, plot, pictures.

Runs on CPU in a couple of minutes from what the repository ships: a trained S²-FPN18 CamVid
checkpoint and 26 val images (edgeseg/assets/camvid-demo/), and a 32-image calibration sample
(calib/camvid-demo.txt).
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

from edgeseg import runtime
from edgeseg.artifacts import write_json
from edgeseg.bench import report
from edgeseg.bench.accuracy import evaluate, predict_labels
from edgeseg.bench.plot import draw
from edgeseg.bench.benchmark import BenchSettings, attach_accuracy, run_bench
from edgeseg.bench.visualize import colorize, disagreement, overlay
from edgeseg.data.contract import DatasetInfo
from edgeseg.data.datasets import open_dataset
from edgeseg.data.images import read_image
from edgeseg.errors import EdgesegError
from edgeseg.export.options import ContractOptions, ExportOptions, QuantOptions, VerifyOptions
from edgeseg.export.pipeline import run_export
from edgeseg.progress import phase
from edgeseg.runtime import open_runner
from edgeseg.runtime.choice import RunnerRequest, default_backend, runner_for
from edgeseg.video import RunOptions, run_video

SIZE = (180, 240)
log = logging.getLogger(__name__)


def assets() -> Path:
    return Path(str(resources.files("edgeseg") / "assets" / "camvid-demo"))


def calib_manifest() -> Path:
    path = Path(__file__).resolve().parents[1] / "calib" / "camvid-demo.txt"
    if not path.exists():
        raise EdgesegError(f"the demo's calibration sample is missing ({path}); run the demo from a clone of the repository")
    return path


def run_demo(out: Path, iters: int = 30, threads: int | None = None, progress=None) -> dict:
    """Every phase reported through `progress` (edgeseg/progress.py)."""
    ckpt = assets() / "s2fpn18_camvid_half.pth"
    val = assets()
    models = {}
    common = {"contract": ContractOptions(input_size=SIZE), "verify": VerifyOptions(samples=str(val / "val"))}
    with phase(progress, 3, "demo: exporting FP32, FP16, INT8") as advance:
        for precision, quant in (("fp32", QuantOptions()), ("fp16", QuantOptions()),
                                 ("int8", QuantOptions(calib=str(calib_manifest())))):
            log.info("export %s", precision)
            result = run_export(ckpt, out, ExportOptions(precision=precision, quant=quant, **common), progress=progress)
            models[precision] = str(result.final)
            advance()
    log.info("evaluate on the bundled val sample (26 images)")
    artifacts = [str(ckpt), *models.values()]
    # OpenVINO runs the same ONNX files with its own kernels: its rows are measured, not assumed equal.
    openvino = list(models.values()) if runtime.installed("openvino") else []
    runners = [open_runner(a, *runner_for(a, RunnerRequest(backend="onnxruntime", input_size=SIZE, threads=threads)))
               for a in artifacts]
    runners += [open_runner(m, *runner_for(m, RunnerRequest(backend="openvino", threads=threads))) for m in openvino]
    try:
        for r in runners:
            r.activate()
        ds = open_dataset(val, "camvid", "camvid_val_list.txt")
        with phase(progress, len(ds), f"demo: evaluating {len(runners)} models") as advance:
            accuracy = evaluate(runners, ds, progress=advance).to_dict()
    finally:
        for r in runners:
            r.deactivate()
    log.info("benchmark ONNX Runtime%s CPU, %d timed iterations each", " and OpenVINO" if openvino else "", iters)
    settings = dict(device="cpu", input_size=SIZE, warmup=5, iters=iters, threads=threads)
    bench = run_bench(artifacts, BenchSettings(**settings, backend="onnxruntime"), progress)
    if openvino:
        more = run_bench(openvino, BenchSettings(**settings, backend="openvino"), progress)
        bench["rows"] += more["rows"]
        bench["versions"].update(more["versions"])
    attach_accuracy(bench, accuracy)
    write_json(out / "bench.json", bench)
    write_json(out / "eval.json", accuracy)
    rows = report.load_rows_from(bench)
    plot = draw_plot(rows, out / "miou_vs_fps.png")
    with phase(progress, None, "demo: prediction pictures"):
        _predictions(models, val, out / "predictions")
    with phase(progress, len(list((val / "val").glob("*.png"))), "demo: the bundled frames as a video") as advance:
        video = _video(models["int8"], val, out, threads, advance)
    return {"rows": rows, "bench": bench, "accuracy": accuracy, "plot": plot, "video": video}


def draw_plot(rows: list[dict], path: Path) -> str:
    """The plot's path, or the one line saying what it needs: a missing plot extra must not cost
    the table and the pictures that come before and after it."""
    try:
        draw(rows, path, "S2-FPN18 CamVid 180x240 on this CPU: mIoU vs FPS", budget=0.3)
    except EdgesegError as exc:
        return f"no plot ({exc})"
    return str(path)


def _video(model: str, val: Path, out: Path, threads: int | None, progress=None) -> dict:
    """The bundled frames (one drive, in order, every 8th frame of 30/s) as a short video through
    `edgeseg run`'s pipeline: the INT8 model on this CPU's fastest backend, end to end."""
    log.info("run the bundled frames as a video, end to end")
    options = RunOptions(video=str(out / "camvid-demo-overlay.avi"), model_seconds=1.0)
    return run_video(model, str(val / "val"), options, request=RunnerRequest(threads=threads, class_map=True),
                     fps=30 / 8, progress=progress)


def _predictions(models: dict, val: Path, out: Path, count: int = 3) -> None:
    import cv2


    out.mkdir(parents=True, exist_ok=True)
    palette = DatasetInfo.named("camvid").palette
    images = sorted((val / "val").glob("*.png"))[:: max(1, 26 // count)][:count]
    a_path, b_path = models["fp32"], models["int8"]  # on their default backend, as predict runs them
    with open_runner(a_path, default_backend(a_path)) as ref, open_runner(b_path, default_backend(b_path)) as int8:
        for path in images:
            image = read_image(path)
            a, b = predict_labels(ref, image), predict_labels(int8, image)
            cv2.imwrite(str(out / f"{path.stem}_fp32_overlay.png"), overlay(image, colorize(a, palette)))
            cv2.imwrite(str(out / f"{path.stem}_int8_overlay.png"), overlay(image, colorize(b, palette)))
            cv2.imwrite(str(out / f"{path.stem}_int8_vs_fp32_diff.png"), disagreement(image, a, b)[0])
