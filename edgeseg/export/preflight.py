"""Everything an export refuses before the checkpoint loads, in the order a user meets it:
the options (resolved for the device profile), DeepStream's limits, the checkpoint file, the
work directory, and the memory the largest verified size needs."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from edgeseg.data.contract import DatasetInfo
from edgeseg.errors import EdgesegError
from edgeseg.export.deepstream import check_export_options
from edgeseg.export.options import ExportOptions, prepared
from edgeseg.memory import check_fits, set_limit_gb
from edgeseg.outputs import check_out_dir


def prepare_export(checkpoint, out_dir, options: ExportOptions, flags: Mapping[str, str] | None = None, *,
                   deepstream: bool = False, max_memory_gb: float | None = None) -> ExportOptions:
    """The options the export runs with, or one EdgesegError naming what cannot work."""
    options = prepared(options, flags)
    if deepstream:  # refuse what nvinfer cannot run before the export starts
        check_export_options(options)
    if not Path(checkpoint).is_file():
        raise EdgesegError(f"{checkpoint}: no such file (the checkpoint to export)")
    check_out_dir(out_dir)
    check_memory(options, max_memory_gb)
    return options


def check_memory(options: ExportOptions, max_memory_gb: float | None) -> None:
    """Refuse an export whose activations would not fit, before the checkpoint loads."""
    set_limit_gb(max_memory_gb)
    c = options.contract
    size = c.input_size or (DatasetInfo.named(c.dataset).input_size if c.dataset else None)
    for s in ([size] if size else []) + list(c.verify_sizes):
        check_fits(c.variant, s, export=True)
