"""An ONNX file parsed into a TensorRT network, with a logger that keeps what TensorRT said.

Shared by the builder and the parser check (`parse_check`), for TensorRT and TensorRT-RTX alike:
`trt` is whichever module the caller imported.
"""

from __future__ import annotations

from pathlib import Path

ERROR, INFO, VERBOSE = 1, 3, 4  # trt.ILogger.Severity values


def collecting_logger(trt, keep: int = INFO):
    """A TensorRT logger that keeps messages up to INFO (the DLA report is logged there), or VERBOSE."""

    class Logger(trt.ILogger):
        def __init__(self):
            trt.ILogger.__init__(self)
            self.messages: list[tuple[int, str]] = []

        def log(self, severity, msg):
            if int(severity) <= keep:
                self.messages.append((int(severity), str(msg)))

        def errors(self, last: int = 3) -> str:
            found = [m for s, m in self.messages if s <= ERROR][-last:]
            return "; ".join(" ".join(m.split()) for m in found) or "no reason given"

    return Logger()


def parse_network(trt, builder, logger, onnx_path: Path, mode) -> tuple:
    """(network, parser, errors): the ONNX parsed into a network; errors empty when it parsed.

    The parser owns the weights: keep it alive as long as the network.
    """
    flags = 0
    for name in mode.network_flags:
        flags |= 1 << int(getattr(trt.NetworkDefinitionCreationFlag, name))
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if parser.parse_from_file(str(onnx_path)):
        return network, parser, []
    errors = [" ".join(str(parser.get_error(i)).split()) for i in range(parser.num_errors)]
    return network, parser, errors or [logger.errors()]


def append_class_map(trt, network) -> bool:
    """Class maps from TensorRT (edgeseg.runtime.class_map's rule): a TopK (k=1, max) over the class
    axis of the first output, its indices as an N x H x W int32 output named `labels` in place of
    the logits. False, and the network untouched, when that output is not float N x K x H x W
    logits (labels already: passed through). TopK of one per pixel is TensorRT's argmax; its
    choice between exactly equal scores is TensorRT's own, where ONNX's ArgMax keeps the lowest class.
    """
    out = network.get_output(0)
    if out.dtype not in (trt.float32, trt.float16, trt.bfloat16) or len(out.shape) != 4:
        return False
    top = network.add_topk(out, trt.TopKOperation.MAX, 1, 1 << 1)
    top.name = "edgeseg_class_map_topk"
    squeeze = network.add_shuffle(top.get_output(1))  # N x 1 x H x W -> N x H x W (zeros copy the input's dims)
    squeeze.first_transpose = trt.Permutation([0, 2, 3, 1])
    squeeze.reshape_dims = trt.Dims([0, 0, 0])
    squeeze.name = "edgeseg_class_map_squeeze"
    labels = squeeze.get_output(0)
    labels.name = "labels"
    network.unmark_output(out)
    network.mark_output(labels)
    return True
