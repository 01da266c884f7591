// OpenVINO: ONNX models and IRs, compiled as edgeseg's Python OpenVINO runner compiles them
// (PERFORMANCE_HINT LATENCY, INFERENCE_NUM_THREADS when given, float layers in f32 unless the
// artifact's sidecar asks for bf16, as a tuned IR does; a Q/DQ INT8 ONNX as the runner's copy of it,
// see ov_int8_graph.hpp), with asynchronous infer requests.
#include <openvino/frontend/manager.hpp>
#include <openvino/openvino.hpp>

#include <algorithm>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "edgeseg/backend.hpp"
#include "edgeseg/error.hpp"
#include "edgeseg/ov_int8_graph.hpp"

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

// The first line of an OpenVINO exception that says something (they open with "Exception from
// src/...cpp:N:" and "...failed with GeneralFailure:" lines and can run to pages).
std::string first_line(const std::string& text) {
  size_t at = 0;
  while (at < text.size()) {
    const size_t end = std::min(text.find('\n', at), text.size());
    std::string line = text.substr(at, end - at);
    at = end + 1;
    const size_t start = line.find_first_not_of(" \t\r[");
    if (start == std::string::npos) continue;
    line = line.substr(start);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
    if (line.rfind("Exception from ", 0) == 0 || line.rfind("Check '", 0) == 0 || line.back() == ':') continue;
    return line.size() > 200 ? line.substr(0, 200) : line;
  }
  return "unknown error";
}

// The model read by the front end its suffix names (ONNX or IR) only: given any path, OpenVINO
// would offer a broken file to every front end, and some write to stderr when they refuse it.
std::shared_ptr<ov::Model> read_model(const Artifact& a) {
  ov::frontend::FrontEndManager manager;
  const ov::frontend::FrontEnd::Ptr fe = manager.load_by_framework(a.kind == ArtifactKind::OpenVinoIR ? "ir" : "onnx");
  try {
    const ov::frontend::InputModel::Ptr input = fe->load(a.path);
    if (!input) throw Error("not a model");
    return fe->convert(input);
  } catch (const std::exception& e) {
    throw Error(a.path + ": OpenVINO cannot read it as " +
                (a.kind == ArtifactKind::OpenVinoIR ? "an IR" : "an ONNX model") + " (" + first_line(e.what()) + ")");
  }
}

// The runner's uint8-activation copy (ov_graph.openvino_copy), with its weights in float on a CPU
// whose int8 convolutions saturate; warned as the runner warns.
void as_python_compiles(ov::Model& model, const std::string& path, const std::string& device) {
  Int8Rewrite done;
  try {
    done = rewrite_int8(model, device.rfind("CPU", 0) == 0 && weights_saturate_here());
  } catch (const std::exception& e) {
    throw Error(path + ": " + first_line(e.what()));
  }
  if (done.weights)
    std::cerr << "warning: " << path.substr(path.find_last_of('/') + 1)
              << ": this CPU has no VNNI, where OpenVINO's int8 convolutions saturate: its weights run in float "
                 "(right, not int8-fast); for int8 speed here use NNCF's IR (edgeseg tune)\n";
}

// OpenVINORunner._refuse_saturating_ir: an IR converted from our Q/DQ INT8 ONNX keeps its int8
// weights, which OpenVINO's int8 convolutions saturate on a CPU without VNNI; refused before running
// wrong (the ONNX file it came from runs right here, its weights compiled as float).
void refuse_saturating_ir(const Artifact& a, const std::string& device) {
  const auto text = [](const Json& j, const char* key) {
    return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
  };
  if (a.kind != ArtifactKind::OpenVinoIR || text(a.meta, "stage") != "openvino" ||
      text(a.meta, "precision") != "int8" || device.rfind("CPU", 0) != 0 || !weights_saturate_here())
    return;
  const Json provenance = a.meta.contains("provenance") ? a.meta["provenance"] : Json();
  const Json parent = provenance.is_object() && provenance.contains("parent") ? provenance["parent"] : Json();
  const std::string path = text(parent, "path");
  const std::string source = path.empty() ? "the INT8 .onnx it came from" : path.substr(path.find_last_of('/') + 1);
  throw Error(a.path + ": an INT8 IR of our Q/DQ graph runs wrong on this CPU without VNNI (OpenVINO's int8 "
              "convolutions saturate); run " + source + " instead, or NNCF's IR (edgeseg tune)");
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
    refuse_saturating_ir(a, device_);
    const std::shared_ptr<ov::Model> model = read_model(a);
    if (a.kind == ArtifactKind::Onnx) as_python_compiles(*model, a.path, device_);
    try {
      compiled_ = core_.compile_model(model, device_, props);
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
