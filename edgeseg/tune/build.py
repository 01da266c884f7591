"""Build every candidate's artifact with the existing pipeline, reused by stage keys on a re-run.

ONNX graphs come from `run_export` (FP32, our two INT8 presets); what OpenVINO runs is delivered
as an OpenVINO IR so the file carries what was measured (BF16 hint, same-grid uint8 activations);
NNCF quantizes the verified FP32 model read by OpenVINO. Both IRs are export stages
(export/openvino_ir.py, run by export/stage.run_stage): keyed, verified against their ONNX, reused.
A build that fails is recorded with its reason and the others go on.
"""

from __future__ import annotations

import logging
from pathlib import Path

from edgeseg.bench.accuracy import to_labels
from edgeseg.data.contract import Preprocess
from edgeseg.data.metrics import ConfusionMatrix
from edgeseg.errors import EdgesegError
from edgeseg.export.openvino_ir import nncf_to_ir, onnx_to_ir
from edgeseg.export.options import ContractOptions, ExportOptions, QuantOptions
from edgeseg.export.pipeline import run_export
from edgeseg.filesystem import is_disk_full
from edgeseg.tune.candidates import INT8_PRESETS
from edgeseg.tune.gpu import ENGINES, export_engine
from edgeseg.tune.tails import with_tail

log = logging.getLogger(__name__)


def export(ckpt, work: Path, opts, graph: str, calib=None, progress=None) -> Path:
    """The ONNX artifact of one graph: fp32 or an INT8 preset, through the export pipeline."""
    contract = ContractOptions(input_size=opts.input_size, dataset=opts.dataset, variant=opts.variant)
    if graph == "fp32":
        options = ExportOptions(contract=contract)
    else:
        quant = QuantOptions(calib=calib.source, calib_data=opts.calib_data, preset=INT8_PRESETS[graph])
        options = ExportOptions(precision="int8", contract=contract, quant=quant)
    return Path(run_export(ckpt, work, options, progress=progress).final)


def ir_for(onnx_path: Path, hint: str | None) -> Path:
    """The OpenVINO IR stage of one of the built ONNX files (`hint`: bf16 asks OpenVINO for BF16)."""
    return onnx_to_ir(onnx_path, precision_hint=hint)


def nncf_ir(fp32_onnx: Path, calib, accuracy=None) -> Path:
    """NNCF INT8 of the verified FP32 model as an IR stage; `accuracy` = (val items, metric, budget,
    val id) for accuracy control."""
    return nncf_to_ir(fp32_onnx, calib, accuracy)


def val_items(ds, preprocess: dict) -> list:
    """(input batch, label) per val image, for NNCF's validation function."""
    pre = Preprocess.from_dict(preprocess)
    return [(pre.apply(image)[None], label) for image, label in (ds.load(s) for s in ds.samples)]


def miou_metric(num_classes: int, ignore_index: int):
    """Our mIoU (points) of an OpenVINO compiled model over (batch, label) items."""
    def metric(compiled, items) -> float:
        cm = ConfusionMatrix(num_classes, ignore_index)
        for batch, label in items:
            out = compiled(batch)[0]
            cm.update(label, to_labels(out[0], label.shape))
        return cm.miou()

    return metric


def build_graphs(ckpt, work: Path, opts, graphs: set[str], calib, progress=None) -> dict[str, Path | str]:
    """graph -> ONNX path, or the one-line reason it could not be built."""
    built: dict[str, Path | str] = {"checkpoint": Path(ckpt)}
    for graph in sorted(g for g in graphs if g in ENGINES):
        built[graph] = _try(lambda: export_engine(ckpt, work, opts, graph, calib, progress))
    for graph in ["fp32"] + sorted(g for g in graphs if g in INT8_PRESETS):
        try:
            built[graph] = export(ckpt, work, opts, graph, calib, progress)
        except EdgesegError as exc:
            stop_if_disk_full(exc)
            if graph == "fp32":
                raise
            log.warning("%s: not built (%s)", graph, exc)
            built[graph] = str(exc)
    if "nncf" in graphs:
        built["nncf"] = _try(lambda: nncf_ir(built["fp32"], calib))
    return built


def _try(make) -> Path | str:
    try:
        return make()
    except EdgesegError as exc:
        stop_if_disk_full(exc)
        return str(exc)
    except Exception as exc:  # an NNCF/OpenVINO failure on one candidate must not sink the others
        stop_if_disk_full(exc)
        log.warning("build failed: %s", exc)
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"


def stop_if_disk_full(exc: BaseException) -> None:
    """A full disk fails every later candidate too (OpenVINO says only "basic_ios::clear: iostream
    error"): stop the run with the reason instead of losing candidates one by one."""
    if is_disk_full(exc) or "iostream error" in str(exc):
        raise EdgesegError(f"writing a candidate failed ({str(exc).splitlines()[0][:120]}): the disk is full or "
                           "not writable; free space under the -o folder and run tune again (built "
                           "candidates are reused)") from None


def artifact(cand, built: dict) -> Path | str:
    """The file a candidate runs: the graph's ONNX on ONNX Runtime, its IR on OpenVINO."""
    source = built.get(cand.graph)
    if not isinstance(source, Path):
        return source or "not built"
    if cand.backend == "openvino" and source.suffix != ".xml":
        source = _try(lambda: ir_for(source, cand.hint))
    if cand.tail and isinstance(source, Path):
        return _try(lambda: with_tail(source, cand.tail))
    return source
