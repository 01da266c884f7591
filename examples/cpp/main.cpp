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
#include "trt_common.hpp"

namespace {

using namespace edgeseg;

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
