"""One `tune` run on the trained checkpoint at 180x240, shared by tests/tune and tests/cli (it takes minutes)."""

from __future__ import annotations

from pathlib import Path

from paths import CAMVID, REPO, TRAINED

SIZE = (180, 240)
VAL_IMAGES, CALIB_IMAGES = 6, 8
_RUNS: dict = {}


def small_sets(folder: Path) -> tuple[Path, Path]:
    """A val list of the first VAL_IMAGES val images and a calibration list of CALIB_IMAGES demo images."""
    folder.mkdir(parents=True, exist_ok=True)
    val = folder / "val.txt"
    val.write_text("".join((CAMVID / "camvid_val_list.txt").read_text().splitlines(keepends=True)[:VAL_IMAGES]))
    demo = sorted((REPO / "calib" / "camvid-demo").glob("*.png"))[:CALIB_IMAGES]
    calib = folder / "calib.txt"
    calib.write_text("".join(f"{p}\n" for p in demo))
    return val, calib


def options(folder: Path, **kw):
    from edgeseg.tune import TuneOptions
    from edgeseg.tune.measure import Protocol

    val, calib = small_sets(folder)
    return TuneOptions(val=f"{CAMVID}:{val}", calib=str(calib), input_size=SIZE, threads=2,
                       protocol=Protocol(rounds=2, iters=2), **kw)


def run_once(tmp_path_factory):
    """(TuneResult, options, out dir) of the shared run; made on first use."""
    if "run" not in _RUNS:
        from edgeseg.tune import tune

        folder = tmp_path_factory.mktemp("tuned")
        opts = options(folder / "sets")
        _RUNS["run"] = (tune(TRAINED, folder / "out", opts), opts, folder / "out")
    return _RUNS["run"]


def refresh(result):
    """After a re-run into the shared folder (its pick may change): the shared run is the new one."""
    if "run" in _RUNS:
        _, opts, out = _RUNS["run"]
        _RUNS["run"] = (result, opts, out)
    return result


def refresh_from_record(out: Path):
    """As `refresh`, for a re-run by the CLI: the result read back from out/tune.json."""
    import json

    from edgeseg.tune import TuneResult

    report = json.loads((out / "tune.json").read_text())
    return refresh(TuneResult(Path(report["chosen"]["path"]), report))
