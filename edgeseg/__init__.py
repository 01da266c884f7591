"""edgeseg: take trained S²-FPN checkpoints to the edge.

Heavy libraries (torch, tensorrt, onnxruntime) are imported only inside the functions
that need them, so the CLI and the runtime side start fast and work on a Jetson without
PyTorch.
"""

__version__ = "0.1.0"
