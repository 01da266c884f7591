"""`edgeseg calib make`: a deterministic calibration manifest drawn evenly across a split."""

from __future__ import annotations

import logging

import typer

log = logging.getLogger(__name__)
calib_app = typer.Typer(help="Calibration sets for INT8.", no_args_is_help=True)


@calib_app.command("make")
def make_cmd(
    data: str = typer.Option(..., help="dataset root"),
    dataset: str = typer.Option("camvid", help="camvid | cityscapes | folder"),
    split: str = typer.Option("train", help="split to draw from (never the evaluation split)"),
    n: int = typer.Option(300, "-n", help="number of images (NVIDIA advises ≥ 500)"),
    seed: int = typer.Option(0, help="random seed (same seed, same set)"),
    out: str = typer.Option(..., "-o", "--out", help="manifest to write, e.g. calib/camvid-train-300.txt"),
):
    """Write a manifest of N images (paths relative to the root, content sha256 in the header)."""
    from edgeseg.data.calibset import make_manifest
    from edgeseg.filesystem import check_out_file

    check_out_file(out, "-o")
    cs = make_manifest(data, dataset, split, n, seed, out)
    if len(cs) < n:
        log.warning(f"-n {n} asked, but the {split} split has only {len(cs)} images; the manifest holds all {len(cs)}")
    if cs.warning():
        log.warning(cs.warning())
    log.info("%d images, sha256 %s…", len(cs), cs.sha256[:16])
    typer.echo(out)


def register(app: typer.Typer) -> None:
    app.add_typer(calib_app, name="calib")
