"""Everything an export refuses before the checkpoint loads, after its options were checked
(options.prepared): the checkpoint file, the work directory, and the memory the largest verified
size needs (against the limit the caller set, edgeseg.memory.set_limit_gb)."""

from __future__ import annotations

from pathlib import Path

from edgeseg.data.contract import DatasetInfo
from edgeseg.errors import EdgesegError
from edgeseg.export.options import ExportOptions
from edgeseg.memory import check_fits
from edgeseg.filesystem import check_out_dir


def preflight(checkpoint, out_dir, options: ExportOptions) -> None:
    """One EdgesegError naming what cannot work with these (prepared) options, or nothing."""
    if not Path(checkpoint).is_file():
        raise EdgesegError(f"{checkpoint}: no such file (the checkpoint to export)")
    check_out_dir(out_dir)
    check_memory(options)


def check_memory(options: ExportOptions) -> None:
    """Refuse an export whose activations would not fit, before the checkpoint loads."""
    c = options.contract
    size = c.input_size or (DatasetInfo.named(c.dataset).input_size if c.dataset else None)
    for s in ([size] if size else []) + list(c.verify_sizes):
        check_fits(c.variant, s, export=True)
