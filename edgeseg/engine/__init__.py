"""TensorRT engines, built on the machine that runs them, for TensorRT 8.6, 10 and 11.

- `builder.build_engine`: ONNX -> plain TensorRT plan + sidecar (what `edgeseg build` and
  `edgeseg export --format engine` call).
- `versions`: what each TensorRT generation needs (strongly typed on 11; FP16/INT8 flags on 8.6/10).
- `shapes`: `--shapes min:opt:max` and device-profile defaults for dynamic models.
- `sidecar`: where an engine was built (TensorRT, GPU, L4T/JetPack) and the refusal of a mismatch.
- `dla`: which layers run on the DLA and which fell back to the GPU, from the build log.
- `cuda`: the CUDA calls the runner needs, over cuda-python or pycuda.
- `flavors`: which TensorRT (the full library or TensorRT for RTX), and missing vs broken installs.
- `rtx`: TensorRT-RTX compute capabilities, which GPUs may load its engines, the runtime cache.
- `parse_check`: every exported ONNX read by TensorRT's parser; the CPU-preset graph refused for engines.
- `qdq_fusion`: which Q/DQ a build fused into INT8 kernels, from the plan's layer list.

Nothing here imports tensorrt or a CUDA binding at module level: the pure parts work, and are
tested, on machines without a GPU.
"""
