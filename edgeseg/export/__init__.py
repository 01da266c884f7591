"""Checkpoint -> deploy model -> ONNX -> simplified ONNX -> FP16 / INT8 ONNX -> [engine], each stage verified.

`run_export` (pipeline.py) is the entry point; the CLI's `edgeseg export` is a thin shell over it.
- `options`: the typed options per concern, `resolve` (device profile) and `check` (refusals).
- `preflight`: what an export refuses before the checkpoint loads.
- `stage`: what a stage is (key, preflight, build, verify, checks, files), the runner that reuses
  or builds, verifies and publishes a stage's files as a set.
- `deploy`: the BN-folded model; `stages`: the ONNX stages (raw, simplified, FP16, in-graph
  pre/post-processing); `int8`: the INT8 and FP8 stages over edgeseg.quant; `engine_stage`: TensorRT.
"""
