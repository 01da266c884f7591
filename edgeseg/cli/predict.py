"""`edgeseg predict ARTIFACT IMAGES... -o DIR`: masks, overlays and disagreement maps."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from edgeseg.cli.common import console


def _images(inputs: list[str]) -> list[Path]:
    from edgeseg.data.images import IMAGE_SUFFIXES, list_images
    from edgeseg.errors import EdgesegError

    paths: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            paths += list_images(p)
        elif p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES:
            paths.append(p)
        else:
            raise EdgesegError(f"{item}: not an image file or a folder of images")
    if not paths:
        raise EdgesegError("no images found in " + ", ".join(inputs))
    return paths


def predict_labels(runner, image):
    """Class map of `image` at its own size, fed as the runner's contract says."""
    from edgeseg.bench.accuracy import _feeder, to_labels

    _, feed = _feeder(runner)
    return to_labels(runner.infer(feed(image)), image.shape[:2], "logits")


def predict_cmd(
    artifact: str = typer.Argument(..., help="checkpoint, ONNX model or engine"),
    images: list[str] = typer.Argument(..., help="image files or folders"),
    out: str = typer.Option(..., "-o", "--out", help="output folder"),
    compare: Optional[str] = typer.Option(None, help="reference artifact: also write disagreement maps"),
    provider: str = typer.Option("cpu", help="ONNX Runtime provider"),
    alpha: float = typer.Option(0.5, help="mask opacity in overlays"),
):
    """Write <stem>_mask.png, <stem>_overlay.png and, with --compare, <stem>_diff.png per image."""
    import cv2

    from edgeseg.artifacts import atomic_path
    from edgeseg.bench.visualize import colorize, disagreement, overlay
    from edgeseg.data.contract import DatasetInfo
    from edgeseg.data.images import read_image
    from edgeseg.runtime import open_runner

    paths = _images(images)
    runners = [open_runner(artifact, provider=provider)] + ([open_runner(compare, provider=provider)] if compare else [])
    out_dir = Path(out)
    con = console()
    try:
        for r in runners:
            r.activate()
        palette = DatasetInfo.from_dict(runners[0].metadata["dataset"]).palette

        def save(name, img):
            with atomic_path(out_dir / name) as tmp:
                cv2.imwrite(str(tmp.with_suffix(".png")), img)
                tmp.with_suffix(".png").replace(tmp)

        for path in paths:
            image = read_image(path)
            labels = predict_labels(runners[0], image)
            mask = colorize(labels, palette)
            save(f"{path.stem}_mask.png", mask)
            save(f"{path.stem}_overlay.png", overlay(image, mask, alpha))
            if compare:
                diff, agree = disagreement(image, labels, predict_labels(runners[1], image))
                save(f"{path.stem}_diff.png", diff)
                con.print(f"{path.name}: agreement with {Path(compare).name} {agree:.4%}")
    finally:
        for r in runners:
            r.deactivate()
    con.print(f"wrote {len(paths) * (3 if compare else 2)} images to {out_dir}")


def register(app: typer.Typer) -> None:
    app.command("predict")(predict_cmd)
