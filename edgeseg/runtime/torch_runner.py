"""PyTorch runner for a checkpoint: the FP32 reference every artifact is measured against."""

from __future__ import annotations

import numpy as np

from edgeseg.data.contract import DatasetInfo, Preprocess
from edgeseg.errors import EdgesegError
from edgeseg.runtime.base import IOSpec, Runner, Timing


class TorchRunner(Runner):
    """Runs an official checkpoint in eval mode (CPU or CUDA, FP32 or FP16 autocast)."""

    backend = "torch"

    def __init__(self, path, device: str = "cpu", fp16: bool = False, variant: str | None = None,
                 dataset: str | None = None, input_size=None, threads: int | None = None):
        super().__init__(path)
        self.device, self.fp16, self.variant = device, fp16, variant
        self.dataset_name, self.input_size, self.threads = dataset, input_size, threads
        if input_size:  # a size that cannot fit is refused now, before the checkpoint loads
            from edgeseg.memory import check_fits

            check_fits(variant, input_size)
        self._meta: dict = {}
        self._threads_before: int | None = None

    def _activate(self) -> None:
        import torch

        from edgeseg.models.checkpoint import load_model

        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise EdgesegError(f"{self.path}: --device {self.device} asked, but PyTorch sees no CUDA GPU")
        if self.fp16 and not self.device.startswith("cuda"):
            raise EdgesegError("FP16 autocast with PyTorch needs a CUDA device")
        if self.threads:  # process-wide in PyTorch: put back on deactivate
            self._threads_before = torch.get_num_threads()
            torch.set_num_threads(self.threads)
        model, ckpt = load_model(self.path, self.variant)
        self.model = model.to(self.device)
        info = DatasetInfo.named(self.dataset_name) if self.dataset_name else DatasetInfo.for_classes(ckpt.arch.classes)
        # A checkpoint runs at the image's own size unless told otherwise, as the official test does.
        pre = Preprocess(mean_bgr=info.mean_bgr, input_size=tuple(self.input_size) if self.input_size else None)
        self._meta = {"kind": "checkpoint", "precision": "fp16" if self.fp16 else "fp32", "model": ckpt.arch.to_dict(),
                      "preprocess": pre.to_dict(), "dataset": info.to_dict(), "embedded_preprocess": False,
                      "io": {"input": {"name": "input", "dtype": "float32", "layout": "NCHW",
                                       "shape": [None, 3, None, None]},
                             "output": {"name": "logits", "dtype": "float32", "kind": "logits",
                                        "shape": [None, ckpt.arch.classes, None, None]}}}

    def _infer(self, batch: np.ndarray) -> np.ndarray:
        import torch

        x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(self.device)
        with torch.inference_mode(), torch.autocast("cuda", enabled=self.fp16):
            y = self.model(x)
        if self.device.startswith("cuda"):
            torch.cuda.synchronize()
        self.last_timing = Timing()
        return y.float().cpu().numpy()

    def _deactivate(self) -> None:
        self.model = None
        if self._threads_before:
            import torch

            torch.set_num_threads(self._threads_before)
            self._threads_before = None

    @property
    def io_spec(self) -> IOSpec:
        size = tuple(self.input_size) if self.input_size else (None, None)
        return IOSpec("float32", "NCHW", (None, 3, *size), "logits")

    @property
    def metadata(self) -> dict:
        return self._meta

    @property
    def description(self) -> str:
        return f"torch {self.device}" + (" fp16-autocast" if self.fp16 else "")
