// edgeseg_video: an edgeseg TensorRT engine over a video, end to end, with `edgeseg run`'s summary.
//
//   edgeseg_video model.engine input.mp4 overlay.avi
//
// Two slots, each with page-locked host buffers and device buffers, share one CUDA stream:
// while the GPU copies in, runs and copies out frame i (all asynchronous), the CPU paints and
// writes frame i-1 and decodes and preprocesses frame i+1 into the other slot. The overlay
// is written as Motion-JPEG .avi at the input's frame rate and size. At the end: per-stage
// mean/p99 ms, capture-to-output latency p50/p99, and end-to-end FPS next to the engine alone
// (copies and compute, timed on the same input), the numbers `edgeseg run` prints.
#include <NvInfer.h>
#include <cuda_runtime_api.h>

#include <array>
#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "image_io.hpp"
#include "sidecar_json.hpp"
#include "trt_common.hpp"
#include "video_summary.hpp"

namespace {

using namespace edgeseg;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

struct Slot {
  void* h_in = nullptr;
  void* h_out = nullptr;
  void* d_in = nullptr;
  void* d_out = nullptr;
  cudaEvent_t done{};
  bool busy = false;
  cv::Mat frame;
  Clock::time_point captured, submitted;
};

struct Model {
  std::unique_ptr<nvinfer1::IRuntime> runtime;
  std::unique_ptr<nvinfer1::ICudaEngine> engine;
  std::unique_ptr<nvinfer1::IExecutionContext> context;
  std::string in_name, out_name;
  nvinfer1::Dims out_dims{};
  nvinfer1::DataType out_type{};
  size_t in_bytes = 0, out_bytes = 0;
  int h = 0, w = 0;
};

Model load(const std::string& engine_path, const Contract& contract, nvinfer1::ILogger& logger, int frame_h, int frame_w) {
  Model m;
  const std::string plan = read_file(engine_path);
  m.runtime.reset(nvinfer1::createInferRuntime(logger));
  m.engine.reset(m.runtime->deserializeCudaEngine(plan.data(), plan.size()));
  if (!m.engine) throw std::runtime_error("TensorRT cannot deserialize " + engine_path);
  m.context.reset(m.engine->createExecutionContext());
  for (int i = 0; i < m.engine->getNbIOTensors(); ++i) {
    const char* name = m.engine->getIOTensorName(i);
    if (m.engine->getTensorIOMode(name) == nvinfer1::TensorIOMode::kINPUT) m.in_name = name;
    else if (m.out_name.empty()) m.out_name = name;
  }
  const nvinfer1::Dims declared = m.engine->getTensorShape(m.in_name.c_str());
  const int h_axis = contract.embedded ? 1 : 2;
  m.h = declared.d[h_axis] > 0 ? declared.d[h_axis] : (contract.height ? contract.height : frame_h);
  m.w = declared.d[h_axis + 1] > 0 ? declared.d[h_axis + 1] : (contract.width ? contract.width : frame_w);
  const nvinfer1::Dims in_dims = contract.embedded ? nvinfer1::Dims4{1, m.h, m.w, 3} : nvinfer1::Dims4{1, 3, m.h, m.w};
  if (!m.context->setInputShape(m.in_name.c_str(), in_dims)) throw std::runtime_error("input shape outside the engine's profile");
  m.in_bytes = static_cast<size_t>(m.h) * m.w * 3 * (contract.embedded ? 1 : sizeof(float));
  m.out_dims = m.context->getTensorShape(m.out_name.c_str());
  m.out_type = m.engine->getTensorDataType(m.out_name.c_str());
  m.out_bytes = volume(m.out_dims) * element_size(m.out_type, m.out_name);
  return m;
}

// Decode-side work: the frame at the model's size, the contract applied, into the slot's pinned buffer.
void fill(Slot& s, const Model& m, const Contract& c) {
  cv::Mat sized = s.frame;
  if (sized.rows != m.h || sized.cols != m.w) cv::resize(s.frame, sized, cv::Size(m.w, m.h), 0, 0, cv::INTER_LINEAR);
  if (c.embedded) {
    std::memcpy(s.h_in, sized.data, m.in_bytes);
    return;
  }
  Image img;
  img.h = m.h;
  img.w = m.w;
  img.bgr.assign(sized.data, sized.data + sized.total() * 3);
  const std::vector<float> chw = preprocess(img, c);
  std::memcpy(s.h_in, chw.data(), m.in_bytes);
}

void submit(Slot& s, Model& m, cudaStream_t stream) {
  m.context->setTensorAddress(m.in_name.c_str(), s.d_in);  // addresses are read at enqueue time
  m.context->setTensorAddress(m.out_name.c_str(), s.d_out);
  check(cudaMemcpyAsync(s.d_in, s.h_in, m.in_bytes, cudaMemcpyHostToDevice, stream), "copy in");
  if (!m.context->enqueueV3(stream)) throw std::runtime_error("TensorRT execution failed");
  check(cudaMemcpyAsync(s.h_out, s.d_out, m.out_bytes, cudaMemcpyDeviceToHost, stream), "copy out");
  check(cudaEventRecord(s.done, stream), "cudaEventRecord");
  s.busy = true;
}

cv::Mat paint(const cv::Mat& frame, const std::vector<uint8_t>& labels, int h, int w, const Json& sidecar) {
  cv::Mat lut(1, 256, CV_8UC3, cv::Scalar(0, 0, 0));
  if (const Json* palette = find(sidecar, "/dataset/palette"); palette && palette->is_array())
    for (size_t k = 0; k < palette->size() && k < 256; ++k) {
      const Json& rgb = (*palette)[k];
      lut.at<cv::Vec3b>(0, static_cast<int>(k)) = cv::Vec3b(rgb[2].get<uint8_t>(), rgb[1].get<uint8_t>(), rgb[0].get<uint8_t>());
    }
  cv::Mat ids(h, w, CV_8UC1, const_cast<uint8_t*>(labels.data())), ids3, mask;
  cv::cvtColor(ids, ids3, cv::COLOR_GRAY2BGR);
  cv::LUT(ids3, lut, mask);
  if (mask.rows != frame.rows || mask.cols != frame.cols)
    cv::resize(mask, mask, frame.size(), 0, 0, cv::INTER_NEAREST);
  cv::Mat out;
  cv::addWeighted(frame, 0.5, mask, 0.5, 0.0, out);
  return out;
}

int run(const std::string& engine_path, const std::string& video_path, const std::string& out_path) {
  const Json sidecar = parse_sidecar(read_file(engine_path + ".json"));
  const Contract contract = read_contract(sidecar);
  check_target(contract, engine_path);
  cv::VideoCapture cap(video_path);
  cv::Mat first;
  if (!cap.isOpened() || !cap.read(first) || first.empty())
    throw std::runtime_error(video_path + ": not a video OpenCV can open, or zero frames");
  const double fps_in = cap.get(cv::CAP_PROP_FPS) > 0 ? cap.get(cv::CAP_PROP_FPS) : 30.0;
  cv::VideoWriter writer(out_path, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), fps_in, first.size());
  if (!writer.isOpened()) throw std::runtime_error("cannot write " + out_path);

  Logger logger;
  Model m = load(engine_path, contract, logger, first.rows, first.cols);
  cudaStream_t stream;
  check(cudaStreamCreate(&stream), "cudaStreamCreate");
  std::array<Slot, 2> slots;
  for (Slot& s : slots) {
    check(cudaMallocHost(&s.h_in, m.in_bytes), "cudaMallocHost");
    check(cudaMallocHost(&s.h_out, m.out_bytes), "cudaMallocHost");
    check(cudaMalloc(&s.d_in, m.in_bytes), "cudaMalloc");
    check(cudaMalloc(&s.d_out, m.out_bytes), "cudaMalloc");
    check(cudaEventCreate(&s.done), "cudaEventCreate");
  }
  RunTimes t;
  Clock::time_point start = Clock::now(), last_written = start;
  auto finish = [&](Slot& s) {  // wait for the slot's frame, paint it, write it
    Clock::time_point t0 = Clock::now();
    check(cudaEventSynchronize(s.done), "cudaEventSynchronize");
    t.add("infer", std::chrono::duration<double, std::milli>(Clock::now() - s.submitted).count());
    t0 = Clock::now();
    const std::vector<uint8_t> bytes(static_cast<uint8_t*>(s.h_out), static_cast<uint8_t*>(s.h_out) + m.out_bytes);
    const cv::Mat shown = paint(s.frame, class_map(bytes, m.out_type, m.out_dims), m.out_dims.d[m.out_dims.nbDims - 2],
                                m.out_dims.d[m.out_dims.nbDims - 1], sidecar);
    t.add("postprocess", ms_since(t0));
    t0 = Clock::now();
    writer.write(shown);
    last_written = Clock::now();
    t.add("write", ms_since(t0));
    t.latency_ms.push_back(std::chrono::duration<double, std::milli>(last_written - s.captured).count());
    ++t.frames_out;
    s.busy = false;
  };
  cv::Mat frame = first;
  size_t i = 0;
  for (;; ++i) {
    Slot& s = slots[i % 2];
    if (s.busy) finish(s);  // frame i-2; frame i-1 is still on the GPU
    Clock::time_point t0 = Clock::now();
    if (i > 0 && !cap.read(frame)) break;
    s.captured = Clock::now();
    t.add("decode", ms_since(t0));
    s.frame = frame.clone();
    t0 = Clock::now();
    fill(s, m, contract);
    t.add("preprocess", ms_since(t0));
    s.submitted = Clock::now();
    submit(s, m, stream);
  }
  if (slots[(i + 1) % 2].busy) finish(slots[(i + 1) % 2]);  // the last frame (slot i % 2 was emptied above)
  t.wall_s = std::chrono::duration<double>(last_written - start).count();
  writer.release();

  std::vector<double> model_ms;  // the engine alone, copies included, on the last input
  for (int k = 0; k < 55; ++k) {
    const Clock::time_point t0 = Clock::now();
    submit(slots[0], m, stream);
    check(cudaEventSynchronize(slots[0].done), "cudaEventSynchronize");
    if (k >= 5) model_ms.push_back(ms_since(t0));
  }
  t.requests = 2;  // the two slots above
  t.model_ms = percentile(model_ms, 50);
  t.model_fps = 1000.0 / t.model_ms;  // one at a time: the line gives no ratio against it (another mode)
  for (Slot& s : slots) {
    cudaFreeHost(s.h_in);
    cudaFreeHost(s.h_out);
    cudaFree(s.d_in);
    cudaFree(s.d_out);
    cudaEventDestroy(s.done);
  }
  cudaStreamDestroy(stream);
  std::cout << t.stage_table() << out_path << "\n" << t.e2e_line() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: edgeseg_video model.engine input-video overlay.avi\n";
    return 2;
  }
  try {
    return run(argv[1], argv[2], argv[3]);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
