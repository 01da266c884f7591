"""Candidates on an NVIDIA GPU: TensorRT engines where TensorRT is installed, else PyTorch on CUDA.

With TensorRT: FP16, INT8 (our TensorRT preset), INT8 with the accuracy-aware fallback (layers
kept in float until the budget holds) and FP8 where the compute capability is 8.9 or more, all
engines built here by the export pipeline. Without it (a data-centre box with PyTorch only): the
checkpoint on the torch runner, eager FP32/FP16/BF16 and `torch.compile(mode="reduce-overhead")`
(CUDA graphs). FP32 on ONNX Runtime (CPU) stays in as the accuracy reference and fallback.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from edgeseg.errors import OptionError
from edgeseg.errors import field as f
from edgeseg.export.options import QUANTIZED, ContractOptions, ExportOptions, QuantOptions
from edgeseg.export.pipeline import run_export
from edgeseg.platform import hardware
from edgeseg.platform.devices import FP8_MIN_CC
from edgeseg.tune.candidates import Candidate

# graph -> (export precision, quant settings besides the calibration set)
ENGINES = {"engine-fp16": ("fp16", {}), "engine-int8": ("int8", {"preset": "tensorrt"}),
           "engine-int8-fallback": ("int8", {"preset": "tensorrt", "fallback": True}),
           "engine-fp8": ("fp8", {"preset": "tensorrt"})}


def cuda_facts() -> dict:
    """What the GPU path can use: TensorRT importable, PyTorch CUDA, the GPU's compute capability."""
    import importlib.util


    gpus = hardware.detect().gpus
    torch_cuda = False
    if importlib.util.find_spec("torch") is not None:
        import torch

        torch_cuda = torch.cuda.is_available()
    return {"tensorrt": importlib.util.find_spec("tensorrt") is not None, "torch_cuda": torch_cuda,
            "compute_cap": gpus[0]["compute_cap"] if gpus else None, "gpu": gpus[0]["name"] if gpus else None}


def gpu_candidates(facts: dict | None = None) -> tuple[list[Candidate], list[dict]]:
    facts = cuda_facts() if facts is None else facts
    out = [Candidate("fp32 onnxruntime", "fp32", "onnxruntime", "fp32", 0)]
    skipped: list[dict] = []
    if facts["tensorrt"]:
        for graph, (precision, _) in ENGINES.items():
            if precision == "fp8" and not _fp8(facts.get("compute_cap")):
                skipped.append({"name": f"{graph} tensorrt", "reason": f"FP8 needs compute capability >= 8.9, this GPU "
                                                                        f"is {facts.get('compute_cap')}"})
                continue
            out.append(Candidate(f"{graph} tensorrt", graph, "tensorrt", precision, len(out),
                                 calib=precision in QUANTIZED))
    elif facts["torch_cuda"]:
        skipped.append({"name": "tensorrt engines", "reason": "tensorrt is not installed: PyTorch on CUDA instead"})
        for mode in ("eager", "compile"):
            for precision in ("fp32", "fp16", "bf16"):
                if precision == "bf16" and not _bf16(facts.get("compute_cap")):
                    continue
                out.append(Candidate(f"torch-{mode} {precision} cuda", "checkpoint", "torch", precision, len(out),
                                     torch_mode=mode))
    else:
        raise OptionError(f"{f('device')} cuda: neither TensorRT nor PyTorch with CUDA can be used here")
    return out, skipped


def _cc(text) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in str(text).split("."))
    except ValueError:
        return (0,)


def _fp8(cc) -> bool:
    return cc is not None and _cc(cc) >= FP8_MIN_CC


def _bf16(cc) -> bool:
    return cc is None or _cc(cc) >= (8, 0)  # bfloat16 tensor cores from Ampere


def export_engine(ckpt, work: Path, opts, graph: str, calib, progress=None) -> Path:
    """A TensorRT engine of one graph, built on this GPU through the export pipeline."""
    precision, extra = ENGINES[graph]
    quant = QuantOptions()
    if precision in QUANTIZED:
        quant = QuantOptions(calib=calib.source, calib_data=opts.calib_data, preset=extra["preset"])
        if extra.get("fallback"):
            quant = replace(quant, max_miou_drop=opts.max_miou_drop, val=opts.val, val_limit=opts.val_limit)
    options = ExportOptions(precision=precision, format="engine", device="cuda", quant=quant,
                            contract=ContractOptions(input_size=opts.input_size, dataset=opts.dataset,
                                                     variant=opts.variant))
    out = work / graph  # engines of one stem but different settings live apart
    return Path(run_export(ckpt, out, options, progress=progress).final)


def runner_options(cand: Candidate) -> dict:
    """How the torch runner runs a torch candidate (device, autocast dtype, compile mode)."""
    if cand.backend != "torch":
        return {}
    return {"torch_device": "cuda", "amp": None if cand.precision == "fp32" else cand.precision,
            "compile_mode": "reduce-overhead" if cand.torch_mode == "compile" else None}
