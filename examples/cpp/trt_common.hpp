// TensorRT helpers shared by edgeseg_infer (one image) and edgeseg_video (a video, end to end):
// the logger, CUDA checks, the build-target refusal, tensor sizes and the class map.
#pragma once

#include <NvInfer.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "image_io.hpp"
#include "sidecar_json.hpp"

namespace edgeseg {

class Logger : public nvinfer1::ILogger {
  void log(Severity severity, const char* msg) noexcept override {
    if (severity <= Severity::kWARNING) std::cerr << "[TensorRT] " << msg << "\n";
  }
};

inline void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
}

inline std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// "10.3.0" from the linked library (NV_TENSORRT_VERSION is major*1000+... before 10, major*10000+... since).
inline std::string library_version() {
  const int32_t v = getInferLibVersion();
  const int32_t major_unit = v >= 100000 ? 10000 : 1000;
  return std::to_string(v / major_unit) + "." + std::to_string((v % major_unit) / 100) + "." + std::to_string(v % 100);
}

// The same refusal as edgeseg's Python runner: an engine only loads under the TensorRT and GPU it was built for.
inline void check_target(const Contract& c, const std::string& engine_path) {
  cudaDeviceProp props{};
  check(cudaGetDeviceProperties(&props, 0), "cudaGetDeviceProperties");
  const std::string here_cc = std::to_string(props.major) + "." + std::to_string(props.minor);
  const std::string here_trt = library_version();
  // "10.3.0.30" is 10.3.0 (the build number is not in the library version); "8.6.10" is not 8.6.1.
  const bool same_trt = c.tensorrt.compare(0, here_trt.size(), here_trt) == 0 &&
                        (c.tensorrt.size() == here_trt.size() || c.tensorrt[here_trt.size()] == '.');
  if (c.tensorrt.empty() || (same_trt && c.gpu == props.name && c.compute_capability == here_cc)) return;
  throw std::runtime_error("engine " + engine_path + " was built with TensorRT " + c.tensorrt + " on " + c.gpu + " (" +
                           sm(c.compute_capability) + "); this machine has TensorRT " + here_trt + " on " +
                           props.name + " (" + sm(here_cc) + "): rebuild it here with `edgeseg build`");
}

// kINT64 came with TensorRT 10: 8.6 headers do not declare it.
inline bool is_int64(nvinfer1::DataType t) {
#if NV_TENSORRT_MAJOR >= 10
  return t == nvinfer1::DataType::kINT64;
#else
  (void)t;
  return false;
#endif
}

// Bytes per element of the types an edgeseg engine takes or returns; anything else is refused by name.
inline size_t element_size(nvinfer1::DataType t, const std::string& tensor) {
  switch (t) {
    case nvinfer1::DataType::kFLOAT: case nvinfer1::DataType::kINT32: return 4;
    case nvinfer1::DataType::kHALF: return 2;
    case nvinfer1::DataType::kUINT8: return 1;
    default:
      if (is_int64(t)) return 8;
      throw std::runtime_error("tensor " + tensor + " has data type " + std::to_string(static_cast<int>(t)) +
                               ", which this program does not read or write");
  }
}

inline size_t volume(const nvinfer1::Dims& d) {
  size_t n = 1;
  for (int i = 0; i < d.nbDims; ++i) n *= static_cast<size_t>(d.d[i]);
  return n;
}

// Class map from the output tensor: labels as they are (--argmax engines), else argmax over K.
inline std::vector<uint8_t> class_map(const std::vector<uint8_t>& bytes, nvinfer1::DataType type, const nvinfer1::Dims& dims) {
  const size_t plane = static_cast<size_t>(dims.d[dims.nbDims - 2]) * dims.d[dims.nbDims - 1];
  std::vector<uint8_t> labels(plane);
  if (dims.nbDims == 3) {
    for (size_t i = 0; i < plane; ++i) {
      if (type == nvinfer1::DataType::kINT32) labels[i] = static_cast<uint8_t>(reinterpret_cast<const int32_t*>(bytes.data())[i]);
      else if (is_int64(type)) labels[i] = static_cast<uint8_t>(reinterpret_cast<const int64_t*>(bytes.data())[i]);
      else labels[i] = bytes[i];
    }
    return labels;
  }
  const int k = dims.d[1];
  std::vector<float> logits(static_cast<size_t>(k) * plane);
  for (size_t i = 0; i < logits.size(); ++i)
    logits[i] = type == nvinfer1::DataType::kHALF ? half_to_float(reinterpret_cast<const uint16_t*>(bytes.data())[i])
                                                   : reinterpret_cast<const float*>(bytes.data())[i];
  return argmax(logits, k, plane);
}

struct CudaBuffer {
  void* ptr = nullptr;
  explicit CudaBuffer(size_t n) { check(cudaMalloc(&ptr, n), "cudaMalloc"); }
  ~CudaBuffer() { cudaFree(ptr); }
  CudaBuffer(const CudaBuffer&) = delete;
  CudaBuffer& operator=(const CudaBuffer&) = delete;
};

}  // namespace edgeseg
