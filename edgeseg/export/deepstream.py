"""DeepStream `nvinfer` config for an exported model, written from its metadata alone.

nvinfer prepares every frame itself: it scales the frame to the network size, converts it to
the configured colour order and computes `y = net-scale-factor * (x - offsets[c])` into a float
planar tensor. Getting `model-color-format`, `offsets` or `net-scale-factor` wrong costs tens of
mIoU points without an error, so they are derived here from the artifact's preprocessing
contract (the same data `Preprocess.apply` uses), never typed by hand. For official checkpoints
that is RGB order, offsets = the BGR mean reversed, scale 1.0.

What nvinfer cannot take is refused with the reason: a graph with the preprocessing inside
(uint8 NHWC input: nvinfer only feeds the float tensor it computed, so the mean would be applied
twice or the input type would not match), a class-map output (`--argmax`: nvinfer's segmentation
parser takes per-class float32 scores and does its own argmax), float16 outputs (the parser reads
float32), and a per-channel std (net-scale-factor is one number).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from edgeseg.artifacts import atomic_path, read_artifact, recorded_parent, require_io
from edgeseg.data.contract import Preprocess
from edgeseg.errors import EdgesegError, OptionError
from edgeseg.errors import field as f
from edgeseg.metadata import ArtifactMetadata

SUFFIX = ".nvinfer.txt"
# nvinfer's network-mode enum (NvDsInferNetworkMode): 0 FP32, 1 INT8, 2 FP16; it has no FP8 value.
NETWORK_MODE = {"fp32": 0, "int8": 1, "fp16": 2, "fp8": 2}
COLOR_FORMAT = {"RGB": 0, "BGR": 1}  # model-color-format: 0 RGB, 1 BGR, 2 GRAY
BILINEAR = 1  # scaling-filter: NvBufSurfTransformInter_Bilinear, as the contract resizes (cv2 INTER_LINEAR)
WHY_NOT_EMBEDDED = ("nvinfer computes the input itself as net-scale-factor x (x - offsets) into a float planar "
                    "tensor and has no uint8 input path, so a graph with the preprocessing inside (uint8 NHWC BGR "
                    "in) would get the mean applied twice or a tensor of the wrong type: export without "
                    "--embed-preprocess for DeepStream; the config then carries the contract as offsets")
WHY_NOT_LABELS = ("nvinfer's segmentation parser (network-type=2) takes per-class float32 scores (C x H x W) and does "
                  "its own argmax: export without --argmax for DeepStream")


WHY_NOT_RTX = ("nvinfer runs full TensorRT and cannot load TensorRT-RTX plans; give DeepStream the ONNX model "
               "(nvinfer builds its own engine) or an engine from `edgeseg build --runtime tensorrt` on the target")


def config_path(artifact) -> Path:
    """`X.onnx` -> `X.onnx.nvinfer.txt` (beside the sidecar `X.onnx.json`; one config per artifact)."""
    artifact = Path(artifact)
    return artifact.with_name(artifact.name + SUFFIX)


def preprocess_keys(pre: Preprocess) -> dict:
    """model-color-format, offsets and net-scale-factor that reproduce `pre.apply` under nvinfer's formula."""
    mean = list(pre.mean_bgr) if pre.channel_order == "BGR" else list(reversed(pre.mean_bgr))
    scale = 1.0
    if pre.std_bgr is not None:
        if len(set(pre.std_bgr)) != 1:
            raise EdgesegError(f"this model's contract divides by a different std per channel (B,G,R = "
                               f"{', '.join(f'{v:g}' for v in pre.std_bgr)}); nvinfer's net-scale-factor is one "
                               "number, so DeepStream cannot reproduce it: use a contract with one std value")
        scale = 1.0 / float(pre.std_bgr[0])
    return {"model-color-format": COLOR_FORMAT[pre.channel_order], "net-scale-factor": _num(scale),
            "offsets": ";".join(_num(v) for v in mean)}


def check_export_options(options) -> None:
    """Refuse `export --deepstream` with options whose result nvinfer cannot run, before the export runs
    (`options`: resolved ExportOptions)."""
    c, ds = options.contract, f("deepstream")
    if c.embed_preprocess:
        raise OptionError(f"{ds} with {f('contract.embed_preprocess')}: {WHY_NOT_EMBEDDED}")
    if c.argmax:
        raise OptionError(f"{ds} with {f('contract.argmax')}: {WHY_NOT_LABELS}")
    if c.fp16_io:
        raise OptionError(f"{ds} with {f('contract.fp16_io')}: nvinfer's segmentation parser reads float32 scores; "
                          "export the FP16 model with float32 I/O (the default)")
    if c.std_bgr is not None and len(set(c.std_bgr)) != 1:
        preprocess_keys(Preprocess(mean_bgr=(0.0, 0.0, 0.0), std_bgr=tuple(c.std_bgr)))
    if options.format == "engine" and options.engine.runtime == "tensorrt-rtx":
        raise OptionError(f"{ds} with {f('engine.runtime')} tensorrt-rtx: {WHY_NOT_RTX}")
    if "cpu" in (options.quant.preset, options.quant.placement):
        raise OptionError(f"{ds} with the CPU placement ({f('quant.placement')} cpu, {f('quant.preset')} cpu, or "
                          f"{f('device')} cpu's): that Q/DQ placement is for CPUs; DeepStream runs TensorRT: use the "
                          "tensorrt preset")


def nvinfer_config(meta: ArtifactMetadata | dict, artifact, *, out_dir=None, input_size=None,
                   batch_size: int | None = None, gie_unique_id: int = 1, threshold: float = 0.0,
                   tensor_meta: bool = False, gpu_id: int = 0) -> str:
    """The `[property]` group nvinfer needs to run `artifact` (an ONNX model or a TensorRT engine).

    Paths are written relative to `out_dir` (where the config goes; nvinfer resolves them from there).
    `meta`: the artifact's (artifacts.read_artifact), or the same as JSON.
    """
    meta = meta if isinstance(meta, ArtifactMetadata) else ArtifactMetadata.from_dict(meta or {})
    artifact = Path(artifact)
    out_dir = Path(out_dir) if out_dir is not None else artifact.parent
    _check_numbers(threshold=threshold, gie_unique_id=gie_unique_id, gpu_id=gpu_id)
    kind, io = meta.kind, meta.io
    if kind == "openvino-ir":
        raise EdgesegError(f"{artifact.name} is an OpenVINO IR: DeepStream's nvinfer runs ONNX models and TensorRT "
                           "engines; give the ONNX model it was made from (its sidecar's provenance.parent)")
    if kind not in ("onnx", "engine") or not meta.preprocess or not io:
        raise EdgesegError(f"{artifact}: no edgeseg metadata (kind, io, preprocessing contract) to write a "
                           "DeepStream config from; give an ONNX model or engine from `edgeseg export`/`build`")
    if kind == "engine" and ((meta.target or {}).get("runtime") or "tensorrt") == "tensorrt-rtx":
        raise EdgesegError(f"{artifact.name} is a TensorRT-RTX engine: {WHY_NOT_RTX}")
    inp, outp = require_io(meta, artifact)
    if inp.get("dtype") == "uint8" or meta.embedded_preprocess:
        raise EdgesegError(f"{artifact.name}: {WHY_NOT_EMBEDDED}")
    if outp.get("kind") == "labels":
        raise EdgesegError(f"{artifact.name} outputs the class map: {WHY_NOT_LABELS}")
    if outp.get("dtype") != "float32":
        raise EdgesegError(f"{artifact.name} outputs {outp.get('dtype')}; nvinfer's segmentation parser reads "
                           "float32 scores: export with float32 I/O")
    quant = (meta.provenance.get("options") or {}).get("quant", {})
    if "cpu" in (quant.get("placement"), quant.get("target")):  # "target": what 0.1.0 called it (one release)
        raise EdgesegError(f"{artifact.name} carries the CPU Q/DQ placement (ONNX Runtime); DeepStream runs "
                           "TensorRT: export with the tensorrt quantization preset")
    pre = Preprocess.from_dict(meta.preprocess)
    precision = meta.precision
    if precision not in NETWORK_MODE:
        raise EdgesegError(f"{artifact.name}: unknown precision {precision!r} in its metadata")
    classes = list(meta.dataset.get("classes") or [])
    c, h, w = _dims(inp["shape"], input_size, pre, meta)
    batch = _batch(inp["shape"][0], batch_size)
    out_c = outp["shape"][1] if len(outp.get("shape", [])) == 4 else None
    if isinstance(out_c, int) and classes and out_c != len(classes):
        raise EdgesegError(f"{artifact.name}: {out_c} output channels but {len(classes)} class names in its metadata")
    lines = _header(artifact, meta, pre, classes, precision)
    props = {"gpu-id": gpu_id, "gie-unique-id": gie_unique_id, "process-mode": 1, "network-type": 2,
             **_model_files(meta, artifact, out_dir), "network-mode": NETWORK_MODE[precision],
             "batch-size": batch, "infer-dims": f"{c};{h};{w}", **preprocess_keys(pre),
             "maintain-aspect-ratio": 0, "scaling-filter": BILINEAR,
             "num-detected-classes": len(classes) or out_c, "output-blob-names": outp["name"],
             "segmentation-output-order": 0, "segmentation-threshold": _num(threshold),
             "output-tensor-meta": int(tensor_meta)}
    for line in lines:
        _plain("the header", line)
    lines += ["[property]"] + [f"{k}={_plain(k, v)}" for k, v in props.items()]
    return "\n".join(lines) + "\n"


def write_nvinfer_config(artifact, out=None, **options) -> Path:
    """Write the nvinfer config for `artifact` (default `X.nvinfer.txt` beside it); returns its path."""
    artifact = Path(artifact)
    if not artifact.exists():
        raise EdgesegError(f"{artifact}: no such artifact")
    out = Path(out) if out else config_path(artifact)
    text = nvinfer_config(read_artifact(artifact), artifact, out_dir=out.parent, **options)
    with atomic_path(out) as tmp:
        tmp.write_text(text)
    return out


def _check_numbers(*, threshold, gie_unique_id, gpu_id) -> None:
    if not math.isfinite(threshold):
        raise OptionError(f"{f('threshold')} must be a finite number, got {threshold}")
    if gie_unique_id < 1:
        raise OptionError(f"{f('gie_unique_id')} must be a positive integer (nvinfer's element id), got "
                          f"{gie_unique_id}")
    if gpu_id < 0:
        raise EdgesegError(f"gpu-id must be 0 or more, got {gpu_id}")


# GKeyFile (nvinfer's reader): a line break starts a new key or group, a backslash is an escape,
# leading/trailing blanks are dropped, ';' separates list items (output-blob-names is a list).
_LIST_KEYS = ("output-blob-names",)


def _plain(key: str, value):
    """`value` as a config line can hold it, or one line saying which name cannot go into the file."""
    if not isinstance(value, str):
        return value
    bad = next((c for c in value if ord(c) < 32 or ord(c) == 127 or c == "\\"), None)
    if bad is None and key != "the header" and value != value.strip():
        bad = " "
    if bad is None and key in _LIST_KEYS and ";" in value:
        bad = ";"
    if bad is not None:
        raise EdgesegError(f"{key}: {value!r} holds {bad!r}, which nvinfer's config file cannot carry "
                           "(it would change or add keys); rename the file or tensor")
    return value


def _num(v: float) -> str:
    return repr(float(v))


def _dims(shape, input_size, pre: Preprocess, meta: ArtifactMetadata) -> tuple[int, int, int]:
    c, h, w = shape[1:4] if len(shape) == 4 else (3, None, None)
    if c not in (3, None) and not isinstance(c, str):
        raise EdgesegError(f"the model takes {c} channels; nvinfer's RGB/BGR formats feed 3")
    if isinstance(h, int) and isinstance(w, int):
        if input_size and tuple(input_size) != (h, w):
            raise OptionError(f"{f('input_size')} {input_size[0]}x{input_size[1]}: the model's input is fixed at "
                              f"{h}x{w}")
        return 3, h, w
    size = input_size or pre.input_size or meta.dataset.get("input_size")
    if not size:
        raise OptionError(f"the model has a dynamic input size: give {f('input_size')} HxW for nvinfer's infer-dims")
    return 3, int(size[0]), int(size[1])


def _batch(dim, batch_size: int | None) -> int:
    if isinstance(dim, int) and dim > 0:
        if batch_size not in (None, dim):
            raise OptionError(f"{f('batch_size')} {batch_size}: the model's batch is fixed at {dim}")
        return dim
    if batch_size is not None and batch_size < 1:
        raise OptionError(f"{f('batch_size')} must be at least 1, got {batch_size}")
    return batch_size or 1


def _rel(path, out_dir: Path) -> str:
    return os.path.relpath(Path(path).resolve(), out_dir.resolve())


def _model_files(meta: ArtifactMetadata, artifact: Path, out_dir: Path) -> dict:
    """onnx-file / model-engine-file, and for INT8 the calibration cache `export` wrote beside the ONNX.

    nvinfer sets TensorRT's INT8 flag only when it has an int8-calib-file; without one it logs
    "INT8 calibration file not specified. Trying FP16 mode." and builds FP16 flags only, which a
    Q/DQ graph needs on TensorRT 8.6/10. The scales in the cache are the graph's own (TensorRT
    uses the Q/DQ scales in an explicitly quantized network), so pointing at it changes nothing else.
    """
    files = {}
    onnx = artifact if meta.kind == "onnx" else None
    if onnx is None:  # lets nvinfer rebuild for another GPU: the very ONNX the engine was built from
        onnx = recorded_parent(artifact, meta)
    files["onnx-file"] = _rel(onnx, out_dir)
    cache = onnx.with_name(onnx.name + ".calib.cache")
    if meta.precision == "int8" and cache.exists():
        files["int8-calib-file"] = _rel(cache, out_dir)
    if meta.kind == "engine":
        files["model-engine-file"] = _rel(artifact, out_dir)
    return files


def _header(artifact: Path, meta: ArtifactMetadata, pre: Preprocess, classes: list, precision: str) -> list[str]:
    kind = meta.kind
    contract = (f"BGR image - mean {list(pre.mean_bgr)}" + (f", / std {list(pre.std_bgr)}" if pre.std_bgr else "")
                + f", channels {pre.channel_order}")
    lines = [f"# DeepStream nvinfer config for {artifact.name}, written by edgeseg from its metadata.",
             f"# Contract: {contract}; nvinfer applies it as y = net-scale-factor * (x - offsets).",
             f"# Classes ({len(classes)}): {', '.join(classes)}",
             "# segmentation-threshold: nvinfer labels a pixel -1 when its best score is not above it (or -1);",
             "# this model outputs raw logits, so pixels whose best logit is at or below it come out unlabeled."]
    if precision == "int8":
        lines.append("# int8: the Q/DQ scales in the graph set the precision; int8-calib-file (the cache `export` "
                     "wrote, same scales) only makes nvinfer set TensorRT's INT8 flag when it builds from the ONNX.")
    if precision == "fp8" or (precision == "int8" and kind == "onnx"):
        lines.append("# Safest: build the engine on the target with `edgeseg build` (it sets the flags each TensorRT "
                     "version needs) and give nvinfer its model-engine-file.")
    if precision == "fp8":
        lines.append("# nvinfer has no FP8 network-mode (0 FP32, 1 INT8, 2 FP16): FP8 runs from such an engine.")
    return lines + [""]
