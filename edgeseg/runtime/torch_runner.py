"""PyTorch runner for a checkpoint: the FP32 reference every artifact is measured against."""

from __future__ import annotations

import numpy as np

from edgeseg.data.contract import DatasetInfo, Preprocess
from edgeseg.errors import EdgesegError
from edgeseg.memory import check_fits
from edgeseg.metadata import ArtifactMetadata
from edgeseg.models import checkpoint
from edgeseg.runtime.base import IOSpec, Runner, Timing


class TorchRunner(Runner):
    """Runs an official checkpoint in eval mode (CPU or CUDA; FP32, or FP16/BF16 autocast on CUDA).

    `compile_mode` ("reduce-overhead": CUDA graphs) runs the model through `torch.compile`, as
    `edgeseg tune` measures it on GPUs without TensorRT.
    """

    backend = "torch"

    def __init__(self, path, torch_device: str = "cpu", variant: str | None = None, dataset: str | None = None,
                 input_size=None, threads: int | None = None, amp: str | None = None,
                 compile_mode: str | None = None, class_map: bool = False):
        super().__init__(path)
        if amp not in (None, "fp16", "bf16"):
            raise EdgesegError(f"autocast dtype must be fp16 or bf16, got {amp!r}")
        self.amp, self.class_map = amp, class_map
        self.torch_device, self.fp16, self.variant = torch_device, self.amp is not None, variant
        self.compile_mode = compile_mode
        self.dataset_name, self.input_size, self.threads = dataset, input_size, threads
        if input_size:  # a size that cannot fit is refused now, before the checkpoint loads
            check_fits(variant, input_size)
        self._meta: dict = {}
        self._threads_before: int | None = None

    def _activate(self) -> None:
        import torch


        if self.torch_device.startswith("cuda") and not torch.cuda.is_available():
            raise EdgesegError(f"{self.path}: torch_device {self.torch_device} asked, but PyTorch sees no CUDA GPU")
        if self.fp16 and not self.torch_device.startswith("cuda"):
            raise EdgesegError(f"{self.amp.upper()} autocast with PyTorch needs a CUDA device")
        if self.threads:  # process-wide in PyTorch: put back on deactivate
            self._threads_before = torch.get_num_threads()
            torch.set_num_threads(self.threads)
        model, ckpt = checkpoint.load_model(self.path, self.variant)
        self.model = model.to(self.torch_device)
        if self.compile_mode:
            self.model = torch.compile(self.model, mode=self.compile_mode)
        info = DatasetInfo.named(self.dataset_name) if self.dataset_name else DatasetInfo.for_classes(ckpt.arch.classes)
        # A checkpoint runs at the image's own size unless told otherwise, as the official test does.
        pre = Preprocess(mean_bgr=info.mean_bgr, input_size=tuple(self.input_size) if self.input_size else None)
        self._meta = ArtifactMetadata(  # the one schema, as every file's sidecar (the checkpoint has none)
            kind="checkpoint", stage="checkpoint", precision=self.amp or "fp32", model=ckpt.arch.to_dict(),
            preprocess=pre.to_dict(), dataset=info.to_dict(), provenance={"checkpoint": str(self.path)},
            io={"input": {"name": "input", "dtype": "float32", "layout": "NCHW", "shape": [None, 3, None, None]},
                "output": {"name": "logits", "dtype": "float32", "kind": "logits",  # the file's
                           "shape": [None, ckpt.arch.classes, None, None]}}).to_dict()

    def _infer(self, batch: np.ndarray) -> np.ndarray:
        import torch

        x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(self.torch_device)
        dtype = torch.bfloat16 if self.amp == "bf16" else torch.float16
        with torch.inference_mode(), torch.autocast("cuda", dtype=dtype, enabled=self.fp16):
            y = self.model(x)
            if self.class_map:  # the host's class map (edgeseg.bench.accuracy.to_labels) at the input's size
                if tuple(y.shape[2:]) != tuple(x.shape[2:]):
                    y = torch.nn.functional.interpolate(y.float(), size=tuple(x.shape[2:]), mode="bilinear",
                                                        align_corners=False)
                y = y.argmax(1).to(torch.uint8 if y.shape[1] <= 256 else torch.int32)
        if self.torch_device.startswith("cuda"):
            torch.cuda.synchronize()
        self.last_timing = Timing()
        return y.cpu().numpy() if self.class_map else y.float().cpu().numpy()

    def _deactivate(self) -> None:
        self.model = None
        if self._threads_before:
            import torch

            torch.set_num_threads(self._threads_before)
            self._threads_before = None

    @property
    def io_spec(self) -> IOSpec:
        size = tuple(self.input_size) if self.input_size else (None, None)
        return IOSpec("float32", "NCHW", (None, 3, *size), "labels" if self.class_map else "logits")

    @property
    def metadata(self) -> dict:
        return self._meta

    @property
    def description(self) -> str:
        return f"torch {self.torch_device}" + (f" {self.amp}-autocast" if self.amp else "") + \
            (f" compiled ({self.compile_mode})" if self.compile_mode else "") + (" class-map" if self.class_map else "")
