// edgeseg_infer: load an edgeseg TensorRT engine and its sidecar, segment one image, write the class map.
//
//   edgeseg_infer model.engine image.png classes.png
//
// The sidecar (model.engine.json) carries the preprocessing contract: BGR mean, optional std,
// channel order, input size, and whether preprocessing is already inside the engine (uint8
// NHWC input). The engine is a plain TensorRT plan; tensors are addressed by name (TensorRT >= 8.5).
#include <NvInfer.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#ifdef EDGESEG_WITH_OPENCV
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#endif

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

// The few sidecar fields we need, found by key: enough for edgeseg's own flat JSON.
std::vector<double> json_numbers(const std::string& json, const std::string& key) {
  std::vector<double> out;
  auto pos = json.find("\"" + key + "\"");
  if (pos == std::string::npos) return out;
  pos = json.find_first_of("[0123456789-n", json.find(':', pos) + 1);
  if (pos == std::string::npos || json.compare(pos, 4, "null") == 0) return out;
  if (json[pos] != '[') return {std::stod(json.substr(pos))};
  auto end = json.find(']', pos);
  std::stringstream ss(json.substr(pos + 1, end - pos - 1));
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(std::stod(item));
  return out;
}

bool json_true(const std::string& json, const std::string& key) {
  auto pos = json.find("\"" + key + "\"");
  return pos != std::string::npos && json.compare(json.find(':', pos) + 1, 5, " true") == 0;
}

std::string json_string(const std::string& json, const std::string& key) {
  auto pos = json.find("\"" + key + "\"");
  if (pos == std::string::npos) return "";
  auto start = json.find('"', json.find(':', pos) + 1) + 1;
  return json.substr(start, json.find('"', start) - start);
}

struct Image {
  int h = 0, w = 0;
  std::vector<uint8_t> bgr;  // H x W x 3
};

Image load_image(const std::string& path, int h, int w) {
  Image img;
#ifdef EDGESEG_WITH_OPENCV
  cv::Mat m = cv::imread(path, cv::IMREAD_COLOR);
  if (m.empty()) throw std::runtime_error("cannot read image " + path);
  if (h > 0 && w > 0 && (m.rows != h || m.cols != w)) cv::resize(m, m, cv::Size(w, h), 0, 0, cv::INTER_LINEAR);
  img.h = m.rows;
  img.w = m.cols;
  img.bgr.assign(m.data, m.data + m.total() * 3);
#else
  std::ifstream f(path, std::ios::binary);
  std::string magic;
  int maxval;
  f >> magic >> img.w >> img.h >> maxval;
  f.get();
  if (magic != "P6" || maxval != 255) throw std::runtime_error(path + ": without OpenCV only binary PPM (P6) is read");
  if (h > 0 && (img.h != h || img.w != w)) throw std::runtime_error("image size differs from the engine's; resize it first");
  std::vector<uint8_t> rgb(img.h * img.w * 3);
  f.read(reinterpret_cast<char*>(rgb.data()), rgb.size());
  img.bgr.resize(rgb.size());
  for (size_t i = 0; i < rgb.size(); i += 3) {
    img.bgr[i] = rgb[i + 2];
    img.bgr[i + 1] = rgb[i + 1];
    img.bgr[i + 2] = rgb[i];
  }
#endif
  return img;
}

void write_classes(const std::string& path, const std::vector<uint8_t>& labels, int h, int w) {
#ifdef EDGESEG_WITH_OPENCV
  cv::imwrite(path, cv::Mat(h, w, CV_8UC1, const_cast<uint8_t*>(labels.data())));
#else
  std::ofstream f(path, std::ios::binary);
  f << "P5\n" << w << " " << h << "\n255\n";
  f.write(reinterpret_cast<const char*>(labels.data()), labels.size());
#endif
}

size_t element_size(nvinfer1::DataType t) {
  switch (t) {
    case nvinfer1::DataType::kFLOAT: case nvinfer1::DataType::kINT32: return 4;
    case nvinfer1::DataType::kHALF: return 2;
    case nvinfer1::DataType::kINT64: return 8;
    default: return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: edgeseg_infer model.engine image output.png\n";
    return 2;
  }
  try {
    const std::string sidecar = read_file(std::string(argv[1]) + ".json");
    const bool embedded = json_true(sidecar, "embedded_preprocess");
    const auto mean = json_numbers(sidecar, "mean_bgr");
    const auto stdv = json_numbers(sidecar, "std_bgr");
    const auto size = json_numbers(sidecar, "input_size");
    const bool rgb = json_string(sidecar, "channel_order") != "BGR";
    const int h = size.size() == 2 ? static_cast<int>(size[0]) : 0, w = size.size() == 2 ? static_cast<int>(size[1]) : 0;

    Logger logger;
    std::string plan = read_file(argv[1]);
    auto runtime = nvinfer1::createInferRuntime(logger);
    auto engine = runtime->deserializeCudaEngine(plan.data(), plan.size());
    if (!engine) throw std::runtime_error("cannot deserialize the engine (built for another TensorRT or GPU?)");
    auto context = engine->createExecutionContext();
    const char* in_name = engine->getIOTensorName(0);
    const char* out_name = engine->getIOTensorName(1);

    Image img = load_image(argv[2], h, w);
    std::vector<uint8_t> input_bytes;
    nvinfer1::Dims in_dims;
    if (embedded) {  // uint8 NHWC BGR straight from the camera
      in_dims = nvinfer1::Dims4{1, img.h, img.w, 3};
      input_bytes = img.bgr;
    } else {  // the contract: minus mean, / std, channel order, NCHW float32
      in_dims = nvinfer1::Dims4{1, 3, img.h, img.w};
      std::vector<float> chw(3 * img.h * img.w);
      for (int y = 0; y < img.h; ++y)
        for (int x = 0; x < img.w; ++x)
          for (int c = 0; c < 3; ++c) {
            float v = img.bgr[(y * img.w + x) * 3 + c] - static_cast<float>(mean.at(c));
            if (stdv.size() == 3) v /= static_cast<float>(stdv[c]);
            int dst = rgb ? 2 - c : c;
            chw[(dst * img.h + y) * img.w + x] = v;
          }
      input_bytes.assign(reinterpret_cast<uint8_t*>(chw.data()), reinterpret_cast<uint8_t*>(chw.data() + chw.size()));
    }
    context->setInputShape(in_name, in_dims);
    const auto out_dims = context->getTensorShape(out_name);
    const auto out_type = engine->getTensorDataType(out_name);
    size_t out_count = 1;
    for (int i = 0; i < out_dims.nbDims; ++i) out_count *= out_dims.d[i];

    void *d_in = nullptr, *d_out = nullptr;
    cudaStream_t stream;
    check(cudaStreamCreate(&stream), "cudaStreamCreate");
    check(cudaMalloc(&d_in, input_bytes.size()), "cudaMalloc input");
    check(cudaMalloc(&d_out, out_count * element_size(out_type)), "cudaMalloc output");
    std::vector<uint8_t> out_bytes(out_count * element_size(out_type));
    check(cudaMemcpyAsync(d_in, input_bytes.data(), input_bytes.size(), cudaMemcpyHostToDevice, stream), "H2D");
    context->setTensorAddress(in_name, d_in);
    context->setTensorAddress(out_name, d_out);
    if (!context->enqueueV3(stream)) throw std::runtime_error("TensorRT execution failed");
    check(cudaMemcpyAsync(out_bytes.data(), d_out, out_bytes.size(), cudaMemcpyDeviceToHost, stream), "D2H");
    check(cudaStreamSynchronize(stream), "sync");

    std::vector<uint8_t> labels(static_cast<size_t>(img.h) * img.w);
    if (out_dims.nbDims == 3) {  // the engine already gives the class map (--argmax)
      for (size_t i = 0; i < labels.size(); ++i)
        labels[i] = out_type == nvinfer1::DataType::kINT32 ? static_cast<uint8_t>(reinterpret_cast<int32_t*>(out_bytes.data())[i])
                                                            : out_bytes[i];
    } else {  // logits N x K x H x W: argmax over K (FP32 output; FP16 engines keep float32 I/O)
      const int k = out_dims.d[1];
      const float* logits = reinterpret_cast<float*>(out_bytes.data());
      for (size_t i = 0; i < labels.size(); ++i) {
        int best = 0;
        for (int c = 1; c < k; ++c)
          if (logits[c * labels.size() + i] > logits[best * labels.size() + i]) best = c;
        labels[i] = static_cast<uint8_t>(best);
      }
    }
    write_classes(argv[3], labels, img.h, img.w);
    std::cout << argv[3] << "\n";
    cudaFree(d_in);
    cudaFree(d_out);
    cudaStreamDestroy(stream);
    delete context;
    delete engine;
    delete runtime;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
