"""Checkpoint -> deploy model -> ONNX -> simplified ONNX -> FP16 / INT8 ONNX, each stage verified.

`run_export` (pipeline.py) is the entry point; the CLI's `edgeseg export` is a thin shell over it.
"""
