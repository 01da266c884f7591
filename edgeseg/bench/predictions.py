"""`edgeseg predict`'s work: masks, overlays and (against a reference) disagreement maps per image."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from edgeseg.bench.accuracy import predict_labels
from edgeseg.bench.visualize import colorize, disagreement, overlay, write_png
from edgeseg.data.images import file_bytes, header_size, read_image
from edgeseg.errors import EdgesegError
from edgeseg.runtime import open_runner
from edgeseg.runtime.choice import RunnerRequest, class_map_fits, runner_for


def open_predictors(artifacts: list[str], images: list[Path], backend: str | None, provider: str,
                    dataset: str | None) -> list:
    """Runners, not yet activated, for `predict`: the first artifact on `backend` (the reference on
    its default), each making class maps in its runtime when every image is its input size (then
    they are the host's; runtime/class_map.py)."""
    sizes = set()
    for path in images:
        try:
            sizes.add(header_size(file_bytes(path)))
        except EdgesegError:
            sizes.add(None)  # said when it is read
    size = next(iter(sizes)) if len(sizes) == 1 else None
    runners = []
    for i, a in enumerate(artifacts):
        request = RunnerRequest(backend=backend if i == 0 else None, provider=provider, dataset=dataset)
        fits = size is not None and class_map_fits(a, size, request)
        runners.append(open_runner(a, *runner_for(a, replace(request, class_map=fits))))
    return runners


def write_predictions(runners: list, paths: list[Path], out_dir: Path, palette, alpha: float, say=print) -> int:
    """Write STEM_mask.png and STEM_overlay.png (and STEM_diff.png against `runners[1]`) per image;
    an unreadable image is skipped and said, the others still predicted. Returns files written;
    raises once at the end if any image could not be read."""
    written, bad = 0, []
    for path in paths:
        try:  # one unreadable image must not cost the others their masks
            image = read_image(path)
        except EdgesegError as exc:
            bad.append(path)
            say(f"skipped: {exc}")
            continue
        labels = predict_labels(runners[0], image)
        mask = colorize(labels, palette)
        write_png(out_dir / f"{path.stem}_mask.png", mask)
        write_png(out_dir / f"{path.stem}_overlay.png", overlay(image, mask, alpha))
        written += 2
        if len(runners) > 1:
            diff, agree = disagreement(image, labels, predict_labels(runners[1], image))
            write_png(out_dir / f"{path.stem}_diff.png", diff)
            written += 1
            say(f"{path.name}: agreement with {Path(runners[1].path).name} {agree:.4%}")
    say(f"wrote {written} images to {out_dir}")
    if bad:
        raise EdgesegError(f"{len(bad)} of {len(paths)} images could not be read (first: {bad[0]}); "
                           f"predicted the other {len(paths) - len(bad)}")
    return written
