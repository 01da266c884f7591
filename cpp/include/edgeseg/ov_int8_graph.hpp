// The graph OpenVINO compiles for a Q/DQ INT8 ONNX file: the one edgeseg's Python runner compiles
// (edgeseg/runtime/ov_graph.py says why), made here on the ov::Model instead of an ONNX copy.
#pragma once

#include <openvino/core/model.hpp>

namespace edgeseg {

struct Int8Rewrite {
  int activations = 0;  // int8 zero-point-0 activation quantizers now uint8 zero point 128
  int weights = 0;      // int8 weights now float constants
};

// Whether OpenVINO's int8 convolutions saturate on this CPU as its kernels see it (ONEDNN_MAX_CPU_ISA
// applied): x86 with AVX2 and neither VNNI nor AMX. Python: ov_graph.weights_saturate(hardware.this_isa()).
bool weights_saturate_here();

// `model`, read from an ONNX file, changed in place into what OpenVINO reads from the copy
// ov_graph.openvino_copy writes: every activation Q/DQ whose zero point is a scalar int8 0 used only by
// activation Q/DQ as uint8 zero point 128 (the same grid), and with `float_weights` every int8 weight
// dequantized to a float constant, (q - zp) * scale in float32 as numpy computes it.
Int8Rewrite rewrite_int8(ov::Model& model, bool float_weights);

}  // namespace edgeseg
