// OpenVINO: ONNX models and IRs, compiled as edgeseg's Python OpenVINO runner compiles them
// (PERFORMANCE_HINT LATENCY, INFERENCE_NUM_THREADS when given, float layers in f32 unless the
// artifact's sidecar asks for bf16, as a tuned IR does), with asynchronous infer requests.
#include <openvino/openvino.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "edgeseg/backend.hpp"
#include "edgeseg/error.hpp"

namespace edgeseg {
namespace {

DType dtype_of(const ov::element::Type& t, const std::string& what) {
  if (t == ov::element::f32) return DType::F32;
  if (t == ov::element::f16) return DType::F16;
  if (t == ov::element::u8) return DType::U8;
  if (t == ov::element::i32) return DType::I32;
  if (t == ov::element::i64) return DType::I64;
  throw Error(what + " has element type " + t.get_type_name() + ", which edgeseg-cpp does not read");
}

// The first line of an OpenVINO exception, which can run to pages.
std::string first_line(const std::string& text) {
  size_t start = text.find_first_not_of(" \n\r\t");
  if (start == std::string::npos) return "unknown error";
  const std::string line = text.substr(start, text.find('\n', start) - start);
  return line.size() > 200 ? line.substr(0, 200) : line;
}

class OpenVinoBackend : public Backend {
 public:
  OpenVinoBackend(const Artifact& a, const BackendOptions& o) : path_(a.path), device_(o.device), threads_(o.threads) {
    const std::string hint = a.precision_hint.empty() ? "f32" : a.precision_hint;
    if (hint != "f32" && hint != "bf16" && hint != "f16")
      throw Error(a.sidecar_path + ": openvino.precision_hint " + hint + " is not one of f32, bf16, f16");
    hint_ = hint;
    ov::AnyMap props{ov::hint::performance_mode(ov::hint::PerformanceMode::LATENCY)};
    if (device_.rfind("CPU", 0) == 0) {  // thread count and precision are CPU plugin properties
      if (threads_ > 0) props.emplace(ov::inference_num_threads(threads_));
      props.emplace(ov::hint::inference_precision(ov::element::Type(hint)));
    }
    try {
      compiled_ = core_.compile_model(a.path, device_, props);
    } catch (const std::exception& e) {
      throw Error(a.path + ": OpenVINO cannot compile it for " + device_ + " (" + first_line(e.what()) + ")");
    }
    if (compiled_.inputs().size() != 1)
      throw Error(a.path + ": " + std::to_string(compiled_.inputs().size()) + " inputs; edgeseg models take one image input");
    const ov::PartialShape shape = compiled_.input().get_partial_shape();
    for (const auto& d : shape) shape_.push_back(d.is_static() ? d.get_length() : -1);
    input_type_ = dtype_of(compiled_.input().get_element_type(), "input");
    const DType want = a.contract.embedded ? DType::U8 : DType::F32;
    if (input_type_ != want)
      throw Error(a.path + ": its input is not " + std::string(a.contract.embedded ? "uint8" : "float32") +
                  " as its sidecar's contract says; rebuild the artifact with edgeseg");
    for (int i = 0; i < 2; ++i) requests_.push_back(compiled_.create_infer_request());
  }

  ~OpenVinoBackend() override {
    for (auto& r : requests_) try { r.wait(); } catch (...) {}
  }

  std::string description() const override {
    return "openvino " + device_ + (threads_ > 0 ? " " + std::to_string(threads_) + " threads" : "") +
           (hint_ == "f32" ? "" : " " + hint_);
  }
  std::vector<int64_t> input_shape() const override { return shape_; }
  int depth() const override { return static_cast<int>(requests_.size()); }

  void start(int slot, const void* data, const std::vector<int64_t>& shape) override {
    ov::InferRequest& r = requests_.at(slot);
    ov::Shape s(shape.begin(), shape.end());
    ov::Tensor in = r.get_input_tensor();
    if (in.get_shape() != s) {
      in.set_shape(s);  // dynamic models take the frame's prepared size
    }
    std::memcpy(in.data(), data, in.get_byte_size());
    r.start_async();
  }

  HostTensor wait(int slot) override {
    ov::InferRequest& r = requests_.at(slot);
    try {
      r.wait();
    } catch (const std::exception& e) {
      throw Error(path_ + ": OpenVINO inference failed (" + first_line(e.what()) + ")");
    }
    const ov::Tensor out = r.get_output_tensor();
    HostTensor t;
    t.type = dtype_of(out.get_element_type(), "output");
    for (size_t d : out.get_shape()) t.shape.push_back(static_cast<int64_t>(d));
    const auto* p = static_cast<const uint8_t*>(out.data());
    t.bytes.assign(p, p + out.get_byte_size());  // a copy: the request's buffer is reused
    return t;
  }

 private:
  std::string path_, device_, hint_;
  int threads_;
  ov::Core core_;
  ov::CompiledModel compiled_;
  std::vector<ov::InferRequest> requests_;
  std::vector<int64_t> shape_;
  DType input_type_ = DType::F32;
};

}  // namespace

std::unique_ptr<Backend> open_openvino(const Artifact& artifact, const BackendOptions& options) {
  return std::make_unique<OpenVinoBackend>(artifact, options);
}

}  // namespace edgeseg
