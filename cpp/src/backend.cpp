// Which backend runs an artifact: TensorRT engines on TensorRT (where this build has it), the rest on OpenVINO.
#include "edgeseg/backend.hpp"

#include "edgeseg/error.hpp"

namespace edgeseg {

#ifndef EDGESEG_WITH_TENSORRT
std::unique_ptr<Backend> open_tensorrt(const Artifact& artifact, const BackendOptions&) {
  throw Error(artifact.path + " is a TensorRT engine; this edgeseg-cpp was built without TensorRT (configure with "
              "-DEDGESEG_WITH_TENSORRT=ON where TensorRT and CUDA are installed), or give it an ONNX model or IR");
}
#endif

std::unique_ptr<Backend> open_backend(const Artifact& artifact, const BackendOptions& options) {
  if (artifact.kind == ArtifactKind::TensorRTEngine) return open_tensorrt(artifact, options);
  return open_openvino(artifact, options);
}

}  // namespace edgeseg
