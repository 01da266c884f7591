// One interface over every runtime: a backend takes a prepared input and returns the model's output
// as host bytes. Everything else (contract, class map, drawing, the video loop, the summary) is
// written once, on top of it, so every backend computes the same pictures from the same outputs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "edgeseg/artifact.hpp"

namespace edgeseg {

enum class DType { F32, F16, U8, I32, I64 };

struct HostTensor {
  DType type = DType::F32;
  std::vector<int64_t> shape;  // as the runtime gives it, batch first
  std::vector<uint8_t> bytes;
};

struct BackendOptions {
  int threads = 0;            // CPU threads for the model (0: the runtime's choice)
  std::string device = "CPU";  // OpenVINO device
};

// An asynchronous model: `depth()` requests may be in flight, each addressed by its slot.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string description() const = 0;  // "openvino CPU 2 threads", as edgeseg run names it
  virtual std::vector<int64_t> input_shape() const = 0;  // -1 where dynamic
  virtual int depth() const = 0;
  // Starts slot's request on `data` (float32 NCHW or uint8 NHWC, as the contract says) of `shape`.
  virtual void start(int slot, const void* data, const std::vector<int64_t>& shape) = 0;
  // Waits for slot's request and returns its first output.
  virtual HostTensor wait(int slot) = 0;

  HostTensor infer(const void* data, const std::vector<int64_t>& shape) {
    start(0, data, shape);
    return wait(0);
  }
};

// The backend for the artifact's kind; Error when this build has none for it.
std::unique_ptr<Backend> open_backend(const Artifact& artifact, const BackendOptions& options);

std::unique_ptr<Backend> open_openvino(const Artifact& artifact, const BackendOptions& options);
std::unique_ptr<Backend> open_tensorrt(const Artifact& artifact, const BackendOptions& options);

}  // namespace edgeseg
