"""`edgeseg predict ARTIFACT IMAGES... -o DIR`: masks, overlays and disagreement maps."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from edgeseg.cli.common import console


def _images(inputs: list[str], out_dir: Path | None = None) -> list[Path]:
    from edgeseg.data.images import IMAGE_SUFFIXES, list_images
    from edgeseg.errors import EdgesegError

    paths: list[Path] = []
    skip = out_dir.resolve() if out_dir is not None else None
    for item in inputs:
        p = Path(item)
        if p.is_dir():  # an -o inside the input folder: its (earlier) outputs are not inputs
            paths += [q for q in list_images(p) if skip is None or skip not in q.resolve().parents]
        elif p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES:
            paths.append(p)
        else:
            raise EdgesegError(f"{item}: not an image file or a folder of images")
    if not paths:
        raise EdgesegError("no images found in " + ", ".join(inputs))
    stems: dict[str, Path] = {}
    for p in paths:
        if stems.setdefault(p.stem, p) != p:
            raise EdgesegError(f"{stems[p.stem]} and {p} would write the same <stem>_mask.png; predict them separately")
    return paths


def predict_cmd(
    artifact: str = typer.Argument(..., help="checkpoint, ONNX model or engine"),
    images: list[str] = typer.Argument(..., help="image files or folders"),
    out: str = typer.Option(..., "-o", "--out", help="output folder"),
    compare: Optional[str] = typer.Option(None, help="reference artifact: also write disagreement maps"),
    dataset: Optional[str] = typer.Option(None, help="palette of this dataset (default: the artifact's)"),
    provider: str = typer.Option("cpu", help="ONNX Runtime provider: cpu | cuda | tensorrt"),
    backend: Optional[str] = typer.Option(None, help="ARTIFACT (not --compare's): onnxruntime | openvino[:DEVICE] (default: the cpu profile's, as run and bench)"),
    alpha: float = typer.Option(0.5, help="mask opacity in overlays (0..1)"),
    max_memory_gb: Optional[float] = typer.Option(None, help="refuse runs estimated above this many GB (default: the memory available now)"),
):
    """Write <stem>_mask.png, <stem>_overlay.png and, with --compare, <stem>_diff.png per image."""
    from edgeseg.bench.accuracy import check_label_space
    from edgeseg.bench.predictions import write_predictions
    from edgeseg.bench.visualize import palette_for
    from edgeseg.errors import EdgesegError
    from edgeseg.memory import set_limit_gb
    from edgeseg.filesystem import check_out_dir
    from edgeseg.bench.predictions import open_predictors

    set_limit_gb(max_memory_gb)
    if not 0.0 <= alpha <= 1.0:
        raise EdgesegError(f"--alpha must be within 0..1, got {alpha}")
    paths = _images(images, Path(out))
    check_out_dir(out)
    runners = open_predictors([artifact] + ([compare] if compare else []), paths, backend, provider, dataset)
    check_label_space(runners)
    out_con, err = console(), console(stderr=True)
    try:
        for r in runners:
            r.activate()
        write_predictions(runners, paths, Path(out), palette_for(runners[0], dataset), alpha,
                          lambda line: (err if line.startswith("skipped") else out_con).print(line, markup=False, soft_wrap=True))
    finally:
        for r in runners:
            r.deactivate()


def register(app: typer.Typer) -> None:
    app.command("predict")(predict_cmd)
