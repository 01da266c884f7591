// TensorRT: an engine built by `edgeseg build` (a plain TensorRT plan), refused unless this machine has
// the TensorRT release and GPU its sidecar names, as edgeseg's Python runner refuses it. Tensors are
// addressed by name (TensorRT 8.5 and later: 8.6, 10 and 11 alike). Each request slot has page-locked
// host buffers, device buffers and an event on one CUDA stream: while the GPU copies in, runs and
// copies out one frame, the host prepares the next and draws the one before.
//
// Everything TensorRT- and CUDA-specific lives in this file; the contract, class maps, drawing, the
// video loop and the summary are the library's, shared with every backend.
#include <NvInfer.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "edgeseg/backend.hpp"
#include "edgeseg/error.hpp"

namespace edgeseg {
namespace {

class Logger : public nvinfer1::ILogger {
  void log(Severity severity, const char* msg) noexcept override {
    if (severity <= Severity::kERROR) std::cerr << "[TensorRT] " << msg << "\n";
  }
};

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw Error(std::string(what) + ": " + cudaGetErrorString(status));
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error("cannot read " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string text_at(const Json& doc, const char* pointer) {
  const Json::json_pointer at(pointer);
  return doc.contains(at) && doc.at(at).is_string() ? doc.at(at).get<std::string>() : std::string();
}

// "8.7" -> "sm_87".
std::string sm(std::string cc) {
  cc.erase(std::remove(cc.begin(), cc.end(), '.'), cc.end());
  return "sm_" + cc;
}

// "10.3.0" from the linked library (major*1000+... before TensorRT 10, major*10000+... since).
std::string library_version() {
  const int32_t v = getInferLibVersion();
  const int32_t major_unit = v >= 100000 ? 10000 : 1000;
  return std::to_string(v / major_unit) + "." + std::to_string((v % major_unit) / 100) + "." + std::to_string(v % 100);
}

// The same refusal as edgeseg's Python runner: an engine only loads under the TensorRT and GPU it was built for.
void check_target(const Artifact& a) {
  const std::string trt = text_at(a.meta, "/target/tensorrt"), gpu = text_at(a.meta, "/target/gpu"),
                    cc = text_at(a.meta, "/target/compute_capability");
  cudaDeviceProp props{};
  check(cudaGetDeviceProperties(&props, 0), "cudaGetDeviceProperties");
  const std::string here_cc = std::to_string(props.major) + "." + std::to_string(props.minor);
  const std::string here_trt = library_version();
  // "10.3.0.30" is 10.3.0 (the build number is not in the library version); "8.6.10" is not 8.6.1.
  const bool same_trt = trt.compare(0, here_trt.size(), here_trt) == 0 &&
                        (trt.size() == here_trt.size() || trt[here_trt.size()] == '.');
  if (trt.empty() || (same_trt && gpu == props.name && cc == here_cc)) return;
  throw Error("engine " + a.path + " was built with TensorRT " + trt + " on " + gpu + " (" + sm(cc) +
              "); this machine has TensorRT " + here_trt + " on " + props.name + " (" + sm(here_cc) +
              "): rebuild it here with `edgeseg build`");
}

DType dtype_of(nvinfer1::DataType t, const std::string& tensor) {
  switch (t) {
    case nvinfer1::DataType::kFLOAT: return DType::F32;
    case nvinfer1::DataType::kHALF: return DType::F16;
    case nvinfer1::DataType::kUINT8: return DType::U8;
    case nvinfer1::DataType::kINT32: return DType::I32;
#if NV_TENSORRT_MAJOR >= 10
    case nvinfer1::DataType::kINT64: return DType::I64;
#endif
    default:
      throw Error("tensor " + tensor + " has TensorRT data type " + std::to_string(static_cast<int>(t)) +
                  ", which edgeseg-cpp does not read or write");
  }
}

size_t element_size(DType t) {
  switch (t) {
    case DType::U8: return 1;
    case DType::F16: return 2;
    case DType::F32: case DType::I32: return 4;
    case DType::I64: return 8;
  }
  return 4;
}

struct Slot {
  void *h_in = nullptr, *h_out = nullptr, *d_in = nullptr, *d_out = nullptr;
  size_t in_bytes = 0, out_bytes = 0;
  cudaEvent_t done{};
  std::vector<int64_t> out_shape;
};

class TensorRTBackend : public Backend {
 public:
  TensorRTBackend(const Artifact& a, const BackendOptions&) : path_(a.path), embedded_(a.contract.embedded) {
    check_target(a);
    const std::string plan = read_file(a.path);
    runtime_.reset(nvinfer1::createInferRuntime(logger_));
    // An engine built with --dla-core N runs on core N only if the runtime is told so (its default is core 0).
    const Json::json_pointer dla("/engine/build/options/dla_core");
    if (a.meta.contains(dla) && a.meta.at(dla).is_number_integer()) runtime_->setDLACore(a.meta.at(dla).get<int32_t>());
    engine_.reset(runtime_->deserializeCudaEngine(plan.data(), plan.size()));
    if (!engine_) throw Error(a.path + ": TensorRT cannot deserialize it");
    context_.reset(engine_->createExecutionContext());
    for (int i = 0; i < engine_->getNbIOTensors(); ++i) {
      const char* name = engine_->getIOTensorName(i);
      if (engine_->getTensorIOMode(name) == nvinfer1::TensorIOMode::kINPUT) in_name_ = name;
      else if (out_name_.empty()) out_name_ = name;
    }
    const DType in_type = dtype_of(engine_->getTensorDataType(in_name_.c_str()), in_name_);
    if (in_type != (a.contract.embedded ? DType::U8 : DType::F32))
      throw Error(a.path + ": its input is not " + std::string(a.contract.embedded ? "uint8" : "float32") +
                  " as its sidecar's contract says; rebuild the engine with edgeseg");
    out_type_ = dtype_of(engine_->getTensorDataType(out_name_.c_str()), out_name_);
    check(cudaStreamCreate(&stream_), "cudaStreamCreate");
    cudaDeviceProp props{};
    check(cudaGetDeviceProperties(&props, 0), "cudaGetDeviceProperties");
    gpu_ = props.name;
    slots_.resize(2);
    for (Slot& s : slots_) check(cudaEventCreate(&s.done), "cudaEventCreate");
  }

  ~TensorRTBackend() override {
    cudaStreamSynchronize(stream_);
    for (Slot& s : slots_) {
      cudaFreeHost(s.h_in), cudaFreeHost(s.h_out), cudaFree(s.d_in), cudaFree(s.d_out);
      cudaEventDestroy(s.done);
    }
    cudaStreamDestroy(stream_);
  }

  std::string description() const override { return "tensorrt " + gpu_; }
  std::vector<int64_t> input_shape() const override {
    const nvinfer1::Dims d = engine_->getTensorShape(in_name_.c_str());
    return std::vector<int64_t>(d.d, d.d + d.nbDims);
  }
  int depth() const override { return static_cast<int>(slots_.size()); }

  void start(int slot, const void* data, const std::vector<int64_t>& shape) override {
    Slot& s = slots_.at(slot);
    nvinfer1::Dims dims{};
    dims.nbDims = static_cast<int32_t>(shape.size());
    size_t in_bytes = embedded_ ? 1 : sizeof(float);  // uint8 NHWC or float32 NCHW, as the contract says
    for (size_t i = 0; i < shape.size(); ++i) dims.d[i] = shape[i], in_bytes *= static_cast<size_t>(shape[i]);
    if (!context_->setInputShape(in_name_.c_str(), dims)) throw Error(path_ + ": input shape outside the engine's profile");
    const nvinfer1::Dims out = context_->getTensorShape(out_name_.c_str());
    s.out_shape.assign(out.d, out.d + out.nbDims);
    size_t out_bytes = element_size(out_type_);
    for (int64_t d : s.out_shape) out_bytes *= static_cast<size_t>(d);
    reserve(s, in_bytes, out_bytes);
    std::memcpy(s.h_in, data, in_bytes);
    context_->setTensorAddress(in_name_.c_str(), s.d_in);  // addresses are read at enqueue time
    context_->setTensorAddress(out_name_.c_str(), s.d_out);
    check(cudaMemcpyAsync(s.d_in, s.h_in, in_bytes, cudaMemcpyHostToDevice, stream_), "copy in");
    if (!context_->enqueueV3(stream_)) throw Error(path_ + ": TensorRT execution failed");
    check(cudaMemcpyAsync(s.h_out, s.d_out, out_bytes, cudaMemcpyDeviceToHost, stream_), "copy out");
    check(cudaEventRecord(s.done, stream_), "cudaEventRecord");
  }

  HostTensor wait(int slot) override {
    Slot& s = slots_.at(slot);
    check(cudaEventSynchronize(s.done), "cudaEventSynchronize");
    HostTensor t;
    t.type = out_type_;
    t.shape = s.out_shape;
    size_t bytes = element_size(out_type_);
    for (int64_t d : s.out_shape) bytes *= static_cast<size_t>(d);
    t.bytes.assign(static_cast<uint8_t*>(s.h_out), static_cast<uint8_t*>(s.h_out) + bytes);
    return t;
  }

 private:
  // Page-locked host and device buffers of at least these sizes (grown when a dynamic input grows).
  static void reserve(Slot& s, size_t in_bytes, size_t out_bytes) {
    if (in_bytes > s.in_bytes) {
      cudaFreeHost(s.h_in), cudaFree(s.d_in);
      check(cudaMallocHost(&s.h_in, in_bytes), "cudaMallocHost");
      check(cudaMalloc(&s.d_in, in_bytes), "cudaMalloc");
      s.in_bytes = in_bytes;
    }
    if (out_bytes > s.out_bytes) {
      cudaFreeHost(s.h_out), cudaFree(s.d_out);
      check(cudaMallocHost(&s.h_out, out_bytes), "cudaMallocHost");
      check(cudaMalloc(&s.d_out, out_bytes), "cudaMalloc");
      s.out_bytes = out_bytes;
    }
  }

  std::string path_, in_name_, out_name_, gpu_;
  bool embedded_;
  Logger logger_;
  std::unique_ptr<nvinfer1::IRuntime> runtime_;
  std::unique_ptr<nvinfer1::ICudaEngine> engine_;
  std::unique_ptr<nvinfer1::IExecutionContext> context_;
  DType out_type_ = DType::F32;
  cudaStream_t stream_{};
  std::vector<Slot> slots_;
};

}  // namespace

std::unique_ptr<Backend> open_tensorrt(const Artifact& artifact, const BackendOptions& options) {
  return std::make_unique<TensorRTBackend>(artifact, options);
}

}  // namespace edgeseg
