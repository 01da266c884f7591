"""Checkpoint -> deploy model -> ONNX -> simplified ONNX -> FP16 / INT8 ONNX -> [engine], each stage verified.

`run_export` (pipeline.py) is the entry point; the CLI's `edgeseg export` is a thin shell over it.
- `stage`: what a stage is (key, build, verify, files), the runner that reuses or builds,
  verifies and publishes a stage's files as a set, and the hooks other features attach.
- `stages`: the ONNX stages (raw, simplified, FP16, in-graph pre/post-processing).
- `int8`: the INT8 stage over edgeseg.quant; `engine_stage`: the TensorRT engine stage.
- `hooks`: the checks and extra files every export runs.
"""
