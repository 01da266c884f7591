// Why this exists: OpenVINO's CPU plugin runs our TensorRT-preset INT8 graph (int8 activations,
// zero point 0) less faithfully than the same graph with uint8 zero-point-128 activations, and on
// CPUs without VNNI its int8 convolutions saturate; edgeseg/runtime/ov_graph.py has the measurements.
// Python compiles a rewritten ONNX copy; here the same rewrite is made on the ov::Model, matching the
// nodes OpenVINO's ONNX front end makes of Q/DQ pairs:
//   activation Q/DQ  FakeQuantize(x, lo, hi, -128, 127) -> Convert(i8) -> Convert(f32)
//                      -> Subtract(Convert(Constant i8 zp)) -> Multiply(scale)
//   weight DQ        Constant(i8) -> Convert(f32) [-> Subtract(zp chain)] -> Multiply(scale chain)
// The uint8 copy reads as the same chain with FakeQuantize output range 0..255, Convert(u8) and a
// u8 zp Constant 128; the float-weights copy reads as a float Constant in the weight's place.
#include "edgeseg/ov_int8_graph.hpp"

#include <openvino/op/constant.hpp>
#include <openvino/op/convert.hpp>
#include <openvino/op/fake_quantize.hpp>
#include <openvino/op/multiply.hpp>
#include <openvino/op/subtract.hpp>
#include <openvino/runtime/tensor.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "edgeseg/error.hpp"

namespace edgeseg {
namespace {

using ov::Node;
using ov::Output;
using ov::element::Type;
using Constant = ov::op::v0::Constant;
using Convert = ov::op::v0::Convert;
using FakeQuantize = ov::op::v0::FakeQuantize;

template <class T>
std::shared_ptr<T> as(const Output<Node>& o) {
  return ov::as_type_ptr<T>(o.get_node_shared_ptr());
}

std::shared_ptr<Convert> convert_to(const Output<Node>& o, Type t) {
  auto c = as<Convert>(o);
  return c && c->get_destination_type() == t ? c : nullptr;
}

// A Convert to a float type: a dequantizer's, in its scale's type (float32 or float16).
std::shared_ptr<Convert> convert_to_float(const Output<Node>& o) {
  auto c = as<Convert>(o);
  return c && c->get_destination_type().is_real() ? c : nullptr;
}

bool scalar_is(const Output<Node>& o, float value) {
  auto c = as<Constant>(o);
  return c && ov::shape_size(c->get_shape()) == 1 && c->cast_vector<float>()[0] == value;
}

// The Convert(i8) of the activation quantizer whose dequantizer's Subtract takes `dq` (its input 0).
std::shared_ptr<Convert> activation_quantizer(const Output<Node>& dq) {
  auto to_float = convert_to_float(dq);
  auto to_i8 = to_float ? convert_to(to_float->input_value(0), ov::element::i8) : nullptr;
  auto fq = to_i8 ? as<FakeQuantize>(to_i8->input_value(0)) : nullptr;
  if (!fq || fq->get_levels() != 256 || !scalar_is(fq->input_value(3), -128.f) ||
      !scalar_is(fq->input_value(4), 127.f) ||
      fq->output(0).get_target_inputs().size() != 1)
    return nullptr;
  return to_i8;
}

// ov_graph.signed_activation_zero_points: scalar int8 zero constants whose every use is the zero
// point of an activation dequantizer (their quantizers' zero points are folded into FakeQuantize).
// The quantizers (Convert i8) of those dequantizers go in `quantizers`.
bool activation_zero_point(const std::shared_ptr<Constant>& c, std::set<std::shared_ptr<Convert>>& quantizers) {
  if (c->get_element_type() != ov::element::i8 || c->get_shape().size() > 1 || ov::shape_size(c->get_shape()) != 1 ||
      c->cast_vector<int>()[0] != 0)
    return false;
  std::set<std::shared_ptr<Convert>> found;
  const auto uses = c->output(0).get_target_inputs();
  if (uses.empty()) return false;
  for (const auto& use : uses) {
    auto to_float = ov::as_type_ptr<Convert>(use.get_node()->shared_from_this());
    if (!to_float || !to_float->get_destination_type().is_real()) return false;
    const auto subs = to_float->output(0).get_target_inputs();
    if (subs.empty()) return false;
    for (const auto& sub : subs) {
      if (!ov::is_type<ov::op::v1::Subtract>(sub.get_node()) || sub.get_index() != 1) return false;
      auto q = activation_quantizer(sub.get_node()->input_value(0));
      if (!q) return false;
      found.insert(q);
    }
  }
  quantizers.insert(found.begin(), found.end());
  return true;
}

// The zero-point constant of a dequantizer fed by `to_float` (its Convert of a quantizer), or null.
std::shared_ptr<Constant> zero_point_of(const Node* to_float) {
  const auto subs = to_float->output(0).get_target_inputs();
  if (subs.size() != 1 || !ov::is_type<ov::op::v1::Subtract>(subs.begin()->get_node())) return nullptr;
  auto zp = convert_to_float(subs.begin()->get_node()->input_value(1));
  return zp ? as<Constant>(zp->input_value(0)) : nullptr;
}

int uint8_activations(ov::Model& model) {
  std::set<std::shared_ptr<Constant>> zero_points;
  std::set<std::shared_ptr<Convert>> quantizers;
  for (const auto& node : model.get_ordered_ops())
    if (auto c = ov::as_type_ptr<Constant>(node))
      if (activation_zero_point(c, quantizers)) zero_points.insert(c);
  int changed = 0;
  for (const auto& q : quantizers) {
    // every dequantizer of this quantizer must be converted with it, else uint8 would meet an int8 zero point
    bool all = true;
    for (const auto& use : q->output(0).get_target_inputs()) {
      auto zp = ov::is_type<Convert>(use.get_node()) ? zero_point_of(use.get_node()) : nullptr;
      all = all && zp && zero_points.count(zp);
    }
    if (!all)
      throw Error("an int8 activation quantizer shares its output with a dequantizer edgeseg-cpp cannot convert");
    auto fq = as<FakeQuantize>(q->input_value(0));
    for (size_t i : {3u, 4u}) {  // output range -128..127 -> 0..255, as the front end reads the uint8 copy
      auto old = as<Constant>(fq->input_value(i));
      std::vector<float> v = old->cast_vector<float>();
      for (float& x : v) x += 128.f;
      fq->input(i).replace_source_output(std::make_shared<Constant>(old->get_element_type(), old->get_shape(), v));
    }
    auto u8 = std::make_shared<Convert>(fq, ov::element::u8);
    u8->set_friendly_name(q->get_friendly_name());
    q->output(0).replace(u8->output(0));
    ++changed;
  }
  for (const auto& zp : zero_points)
    zp->output(0).replace(std::make_shared<Constant>(ov::element::u8, zp->get_shape(), std::vector<uint8_t>{128}));
  return changed;
}

// The value of a constant subgraph (a zero point's or scale's Convert/Reshape), by OpenVINO's kernels.
ov::Tensor fold(const Output<Node>& out) {
  const auto node = out.get_node_shared_ptr();
  if (auto c = ov::as_type_ptr<Constant>(node))
    return ov::Tensor(c->get_element_type(), c->get_shape(), const_cast<void*>(c->get_data_ptr()));
  ov::TensorVector inputs, outputs;
  for (const auto& in : node->input_values()) inputs.push_back(fold(in));
  for (size_t i = 0; i < node->get_output_size(); ++i)
    outputs.emplace_back(node->get_output_element_type(i), node->get_output_shape(i));
  if (!node->evaluate(outputs, inputs))
    throw Error(std::string("cannot dequantize an int8 weight: OpenVINO cannot evaluate its ") + node->get_type_name());
  return outputs[out.get_index()];
}

float half_to_float(uint16_t h) {  // exact
  const int exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  const float inf = std::numeric_limits<float>::infinity();
  const float v = exponent == 0    ? std::ldexp(static_cast<float>(mantissa), -24)
                  : exponent == 31 ? (mantissa ? std::numeric_limits<float>::quiet_NaN() : inf)
                                   : std::ldexp(static_cast<float>(mantissa | 0x400), exponent - 25);
  return (h & 0x8000) ? -v : v;
}

uint16_t float_to_half(float f) {  // round to nearest even, subnormals included: numpy's astype(float16)
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  const uint32_t ax = x & 0x7fffffff;
  if (ax > 0x7f800000) return sign | 0x7e00;  // NaN
  if (ax < 0x38800000) return sign | static_cast<uint16_t>(std::nearbyint(std::fabs(f) * 16777216.f));  // < 2^-14
  const int exponent = static_cast<int>(ax >> 23) - 127 + 15;
  if (exponent >= 31) return sign | 0x7c00;
  uint32_t h = (static_cast<uint32_t>(exponent) << 10) | ((ax & 0x7fffff) >> 13);
  const uint32_t rest = ax & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) ++h;  // a carry into the exponent is right, up to inf
  return static_cast<uint16_t>(sign | h);
}

std::vector<float> floats(const ov::Tensor& t) {
  std::vector<float> v(t.get_size());
  const Type type = t.get_element_type();
  for (size_t i = 0; i < v.size(); ++i) {
    if (type == ov::element::f32) v[i] = t.data<const float>()[i];
    else if (type == ov::element::f16) v[i] = half_to_float(static_cast<const uint16_t*>(t.data())[i]);
    else if (type == ov::element::i8) v[i] = t.data<const int8_t>()[i];
    else if (type == ov::element::u8) v[i] = t.data<const uint8_t>()[i];
    else
      throw Error("an int8 weight's zero point or scale is " + type.get_type_name() +
                  ", which edgeseg-cpp does not dequantize");
  }
  return v;
}

// Flat index into a tensor of `shape` broadcast (numpy's rules) to `out` of the element at out's `index`.
size_t broadcast_index(const ov::Shape& out, const ov::Shape& shape, size_t index) {
  size_t at = 0, stride = 1;
  for (size_t d = out.size(); d-- > 0;) {
    const size_t coord = index % out[d];
    index /= out[d];
    const size_t k = d + shape.size() - out.size();
    if (d + shape.size() < out.size()) continue;
    if (shape[k] != 1) at += coord * stride;
    stride *= shape[k];
  }
  return at;
}

// ov_graph.dequantized_weights: every Multiply dequantizing an int8 constant, as its float value:
// (q - zp) * scale in float32, then in the scale's type, as numpy computes it (OpenVINO's own float16
// kernels would compute in float16 instead).
int float_weights(ov::Model& model) {
  int changed = 0;
  for (const auto& node : model.get_ordered_ops()) {
    auto mul = ov::as_type_ptr<ov::op::v1::Multiply>(node);
    if (!mul) continue;
    Output<Node> q = mul->input_value(0);
    std::vector<float> zp{0.f};
    ov::Shape zp_shape{};
    if (ov::is_type<ov::op::v1::Subtract>(q.get_node())) {
      const ov::Tensor z = fold(q.get_node()->input_value(1));
      zp = floats(z), zp_shape = z.get_shape();
      q = q.get_node()->input_value(0);
    }
    auto to_float = convert_to_float(q);
    auto weight = to_float ? as<Constant>(to_float->input_value(0)) : nullptr;
    if (!weight || weight->get_element_type() != ov::element::i8) continue;
    const ov::Tensor s = fold(mul->input_value(1));
    const std::vector<float> scale = floats(s), w = weight->cast_vector<float>();
    const Type type = mul->get_output_element_type(0);
    const ov::Shape shape = mul->get_output_shape(0);
    if (shape != weight->get_shape() || (type != ov::element::f32 && type != ov::element::f16))
      throw Error("an int8 weight dequantizes to " + type.get_type_name() + " " + shape.to_string() +
                  ", which edgeseg-cpp does not rewrite");
    ov::Tensor value(type, shape);
    for (size_t i = 0; i < w.size(); ++i) {
      const float zero = zp[broadcast_index(shape, zp_shape, i)];
      const float x = (w[i] - zero) * scale[broadcast_index(shape, s.get_shape(), i)];
      if (type == ov::element::f32) static_cast<float*>(value.data())[i] = x;
      else static_cast<uint16_t*>(value.data())[i] = float_to_half(x);
    }
    auto constant = std::make_shared<Constant>(value);
    constant->set_friendly_name(mul->get_friendly_name());
    mul->output(0).replace(constant->output(0));
    ++changed;
  }
  return changed;
}

// hardware.isa_summary over /proc/cpuinfo's first flags line, then hardware.onednn_capped.
std::set<std::string> this_isa() {
  static const std::map<std::string, std::string> features = {
      {"amx_int8", "AMX"}, {"amx_bf16", "AMX"}, {"amx_tile", "AMX"}, {"avx512_vnni", "VNNI"}, {"avx_vnni", "VNNI"},
      {"avx512_bf16", "BF16"}, {"avx512f", "AVX-512"}, {"avx2", "AVX2"}};
  static const std::map<std::string, std::set<std::string>> caps = {
      {"SSE41", {}}, {"AVX", {}}, {"AVX2", {"AVX2"}}, {"AVX2_VNNI", {"AVX2", "VNNI"}},
      {"AVX2_VNNI_2", {"AVX2", "VNNI"}}, {"AVX512_CORE", {"AVX2", "AVX-512"}},
      {"AVX512_CORE_VNNI", {"AVX2", "AVX-512", "VNNI"}}, {"AVX512_CORE_BF16", {"AVX2", "AVX-512", "VNNI", "BF16"}},
      {"AVX10_1_512", {"AVX2", "AVX-512", "VNNI", "BF16"}}};
  std::set<std::string> isa;
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("flags", 0) != 0 && line.rfind("Features", 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::istringstream words(line.substr(colon + 1));
    for (std::string w; words >> w;)
      if (features.count(w)) isa.insert(features.at(w));
    break;
  }
  const char* env = std::getenv("ONEDNN_MAX_CPU_ISA");
  std::string cap = env ? env : "";
  cap.erase(0, cap.find_first_not_of(" \t\r\n"));
  cap.erase(cap.find_last_not_of(" \t\r\n") + 1);
  std::transform(cap.begin(), cap.end(), cap.begin(), [](unsigned char ch) { return std::toupper(ch); });
  const auto allowed = caps.find(cap);
  if (allowed == caps.end()) return isa;
  std::set<std::string> capped;
  for (const auto& f : isa)
    if (allowed->second.count(f)) capped.insert(f);
  return capped;
}

}  // namespace

bool weights_saturate_here() {
  const std::set<std::string> isa = this_isa();
  return isa.count("AVX2") && !isa.count("VNNI") && !isa.count("AMX");
}

Int8Rewrite rewrite_int8(ov::Model& model, bool weights_in_float) {
  Int8Rewrite done;
  done.activations = uint8_activations(model);
  if (weights_in_float) done.weights = float_weights(model);
  if (done.activations || done.weights) model.validate_nodes_and_infer_types();
  return done;
}

}  // namespace edgeseg
