// edgeseg_infer: load an edgeseg TensorRT engine and its sidecar, segment one image, write the class map.
//
//   edgeseg_infer model.engine image.png classes.png
//
// The engine is a plain TensorRT plan; its sidecar (model.engine.json) carries the
// preprocessing contract (BGR mean, optional std, channel order, input size, or that the
// engine takes the camera's uint8 BGR image itself) and where it was built. Tensors are
// addressed by name (TensorRT 8.5 and later: 8.6, 10 and 11 alike).
#include <NvInfer.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "image_io.hpp"
#include "sidecar_json.hpp"

namespace {

class Logger : public nvinfer1::ILogger {
  void log(Severity severity, const char* msg) noexcept override {
    if (severity <= Severity::kWARNING) std::cerr << "[TensorRT] " << msg << "\n";
  }
};

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// "10.3.0" from the linked library (NV_TENSORRT_VERSION is major*1000+... before 10, major*10000+... since).
std::string library_version() {
  const int32_t v = getInferLibVersion();
  const int32_t major_unit = v >= 100000 ? 10000 : 1000;
  return std::to_string(v / major_unit) + "." + std::to_string((v % major_unit) / 100) + "." + std::to_string(v % 100);
}

// The same refusal as edgeseg's Python runner: an engine only loads under the TensorRT and GPU it was built for.
void check_target(const edgeseg::Contract& c, const std::string& engine_path) {
  cudaDeviceProp props{};
  check(cudaGetDeviceProperties(&props, 0), "cudaGetDeviceProperties");
  const std::string here_cc = std::to_string(props.major) + "." + std::to_string(props.minor);
  const std::string here_trt = library_version();
  // "10.3.0.30" is 10.3.0 (the build number is not in the library version); "8.6.10" is not 8.6.1.
  const bool same_trt = c.tensorrt.compare(0, here_trt.size(), here_trt) == 0 &&
                        (c.tensorrt.size() == here_trt.size() || c.tensorrt[here_trt.size()] == '.');
  if (c.tensorrt.empty() || (same_trt && c.gpu == props.name && c.compute_capability == here_cc)) return;
  throw std::runtime_error("engine " + engine_path + " was built with TensorRT " + c.tensorrt + " on " + c.gpu + " (" +
                           edgeseg::sm(c.compute_capability) + "); this machine has TensorRT " + here_trt + " on " +
                           props.name + " (" + edgeseg::sm(here_cc) + "): rebuild it here with `edgeseg build`");
}

// kINT64 came with TensorRT 10: 8.6 headers do not declare it.
bool is_int64(nvinfer1::DataType t) {
#if NV_TENSORRT_MAJOR >= 10
  return t == nvinfer1::DataType::kINT64;
#else
  (void)t;
  return false;
#endif
}

// Bytes per element of the types an edgeseg engine takes or returns; anything else is refused by name.
size_t element_size(nvinfer1::DataType t, const std::string& tensor) {
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

size_t volume(const nvinfer1::Dims& d) {
  size_t n = 1;
  for (int i = 0; i < d.nbDims; ++i) n *= static_cast<size_t>(d.d[i]);
  return n;
}

// Class map from the output tensor: labels as they are (--argmax engines), else argmax over K.
std::vector<uint8_t> class_map(const std::vector<uint8_t>& bytes, nvinfer1::DataType type, const nvinfer1::Dims& dims) {
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
    logits[i] = type == nvinfer1::DataType::kHALF ? edgeseg::half_to_float(reinterpret_cast<const uint16_t*>(bytes.data())[i])
                                                   : reinterpret_cast<const float*>(bytes.data())[i];
  return edgeseg::argmax(logits, k, plane);
}

struct CudaBuffer {
  void* ptr = nullptr;
  explicit CudaBuffer(size_t n) { check(cudaMalloc(&ptr, n), "cudaMalloc"); }
  ~CudaBuffer() { cudaFree(ptr); }
  CudaBuffer(const CudaBuffer&) = delete;
  CudaBuffer& operator=(const CudaBuffer&) = delete;
};

int run(const std::string& engine_path, const std::string& image_path, const std::string& out_path) {
  const edgeseg::Json sidecar = edgeseg::parse_sidecar(read_file(engine_path + ".json"));
  const edgeseg::Contract contract = edgeseg::read_contract(sidecar);
  check_target(contract, engine_path);

  Logger logger;
  const std::string plan = read_file(engine_path);
  std::unique_ptr<nvinfer1::IRuntime> runtime(nvinfer1::createInferRuntime(logger));
  // An engine built with --dla-core N runs on core N only if the runtime is told so (its default is core 0).
  if (const edgeseg::Json* dla_core = edgeseg::find(sidecar, "/engine/build/options/dla_core");
      dla_core && dla_core->is_number_integer())
    runtime->setDLACore(dla_core->get<int32_t>());
  std::unique_ptr<nvinfer1::ICudaEngine> engine(runtime->deserializeCudaEngine(plan.data(), plan.size()));
  if (!engine) throw std::runtime_error("TensorRT cannot deserialize " + engine_path);
  std::unique_ptr<nvinfer1::IExecutionContext> context(engine->createExecutionContext());
  std::string in_name, out_name;
  for (int i = 0; i < engine->getNbIOTensors(); ++i) {
    const char* name = engine->getIOTensorName(i);
    if (engine->getTensorIOMode(name) == nvinfer1::TensorIOMode::kINPUT) in_name = name;
    else if (out_name.empty()) out_name = name;
  }

  // Model size: the engine's if fixed, else the contract's, else the image's own.
  const nvinfer1::Dims declared = engine->getTensorShape(in_name.c_str());
  const int h_axis = contract.embedded ? 1 : 2;
  int h = declared.d[h_axis] > 0 ? declared.d[h_axis] : contract.height;
  int w = declared.d[h_axis + 1] > 0 ? declared.d[h_axis + 1] : contract.width;
  const edgeseg::Image img = edgeseg::load_image(image_path, h, w);
  h = img.h;
  w = img.w;

  // The input bytes below are float32 NCHW, or uint8 NHWC for embedded preprocessing: the engine must take those.
  const nvinfer1::DataType in_type = engine->getTensorDataType(in_name.c_str());
  const nvinfer1::DataType in_expected = contract.embedded ? nvinfer1::DataType::kUINT8 : nvinfer1::DataType::kFLOAT;
  if (in_type != in_expected)
    throw std::runtime_error("engine input " + in_name + " is not " + (contract.embedded ? "uint8" : "float32") +
                             " (data type " + std::to_string(static_cast<int>(in_type)) + ")");
  std::vector<uint8_t> input;
  nvinfer1::Dims in_dims;
  if (contract.embedded) {  // uint8 NHWC BGR straight from the camera: no arithmetic here
    in_dims = nvinfer1::Dims4{1, h, w, 3};
    input = img.bgr;
  } else {
    in_dims = nvinfer1::Dims4{1, 3, h, w};
    const std::vector<float> chw = edgeseg::preprocess(img, contract);
    input.assign(reinterpret_cast<const uint8_t*>(chw.data()), reinterpret_cast<const uint8_t*>(chw.data() + chw.size()));
  }
  if (!context->setInputShape(in_name.c_str(), in_dims)) throw std::runtime_error("input shape outside the engine's profile");
  const nvinfer1::Dims out_dims = context->getTensorShape(out_name.c_str());
  const nvinfer1::DataType out_type = engine->getTensorDataType(out_name.c_str());

  cudaStream_t stream;
  check(cudaStreamCreate(&stream), "cudaStreamCreate");
  const size_t out_bytes = volume(out_dims) * element_size(out_type, out_name);
  if (out_dims.nbDims != 3 && out_type != nvinfer1::DataType::kFLOAT && out_type != nvinfer1::DataType::kHALF)
    throw std::runtime_error("output " + out_name + " holds logits of a type this program does not read");
  CudaBuffer d_in(input.size()), d_out(out_bytes);
  std::vector<uint8_t> output(out_bytes);
  context->setTensorAddress(in_name.c_str(), d_in.ptr);
  context->setTensorAddress(out_name.c_str(), d_out.ptr);
  check(cudaMemcpyAsync(d_in.ptr, input.data(), input.size(), cudaMemcpyHostToDevice, stream), "copy in");
  if (!context->enqueueV3(stream)) throw std::runtime_error("TensorRT execution failed");
  check(cudaMemcpyAsync(output.data(), d_out.ptr, output.size(), cudaMemcpyDeviceToHost, stream), "copy out");
  check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  cudaStreamDestroy(stream);

  edgeseg::write_class_map(out_path, class_map(output, out_type, out_dims), h, w);
  std::cout << out_path << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: edgeseg_infer model.engine image output.png\n";
    return 2;
  }
  try {
    return run(argv[1], argv[2], argv[3]);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
