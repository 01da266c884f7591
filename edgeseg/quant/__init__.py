"""INT8 / FP8 post-training quantization, pure ONNX -> ONNX.

ptq.quantize runs the steps: calibrate.py (streaming ranges, cached by ranges.py), placement.py
(where Q/DQ goes), sensitivity.py (the accuracy-aware fallback), strongly_typed.py / qdq.py
(the Q/DQ graph), report.py (the `.quant.json` report).
"""
