// The sidecar (model.engine.json) read with nlohmann/json, and the preprocessing contract taken from it.
//
// nlohmann/json parses numbers the same under every C locale (strtod does not: "72.78" reads as 72
// where the decimal separator is a comma) and reports where a broken file breaks.
#pragma once

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace edgeseg {

using Json = nlohmann::json;

// The parsed sidecar; a file that is not JSON becomes one runtime_error naming where it breaks.
inline Json parse_sidecar(const std::string& text) {
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    throw std::runtime_error(std::string("sidecar JSON: ") + e.what());
  }
}

// The value at a JSON pointer ("/target/gpu"), or nullptr where any step is missing.
inline const Json* find(const Json& doc, const char* pointer) {
  const Json::json_pointer at(pointer);
  return doc.contains(at) ? &doc.at(at) : nullptr;
}

inline std::string text_at(const Json& doc, const char* pointer) {
  const Json* v = find(doc, pointer);
  return v && v->is_string() ? v->get<std::string>() : std::string();
}

inline std::vector<double> numbers_at(const Json& doc, const char* pointer) {
  std::vector<double> out;
  if (const Json* v = find(doc, pointer); v && v->is_array())
    for (const auto& item : *v)
      if (item.is_number()) out.push_back(item.get<double>());
  return out;
}

// "8.7" -> "sm_87".
inline std::string sm(std::string cc) {
  cc.erase(std::remove(cc.begin(), cc.end(), '.'), cc.end());
  return "sm_" + cc;
}

// What the program needs from the sidecar: the preprocessing contract and where the engine was built.
struct Contract {
  std::vector<double> mean_bgr;   // subtracted per channel, in the image's BGR order
  std::vector<double> std_bgr;    // empty: no division (official S²-FPN checkpoints)
  bool rgb = true;                // channel order fed to the model
  int height = 0, width = 0;      // model input size (0: take the engine's or the image's)
  bool embedded = false;          // uint8 NHWC BGR input, preprocessing inside the engine
  std::string tensorrt, gpu, compute_capability;  // the build target
  int classes = 0;
};

inline Contract read_contract(const Json& sidecar) {
  Contract c;
  if (!sidecar.is_object() || !find(sidecar, "/preprocess"))
    throw std::runtime_error("sidecar has no preprocess block: rebuild the engine with `edgeseg build`");
  c.mean_bgr = numbers_at(sidecar, "/preprocess/mean_bgr");
  c.std_bgr = numbers_at(sidecar, "/preprocess/std_bgr");
  c.rgb = text_at(sidecar, "/preprocess/channel_order") != "BGR";
  if (const std::vector<double> size = numbers_at(sidecar, "/preprocess/input_size"); size.size() == 2) {
    c.height = static_cast<int>(size[0]);
    c.width = static_cast<int>(size[1]);
  }
  if (const Json* e = find(sidecar, "/embedded_preprocess"); e && e->is_boolean()) c.embedded = e->get<bool>();
  if (!c.embedded && c.mean_bgr.size() != 3) throw std::runtime_error("sidecar preprocess.mean_bgr needs 3 values");
  c.tensorrt = text_at(sidecar, "/target/tensorrt");
  c.gpu = text_at(sidecar, "/target/gpu");
  c.compute_capability = text_at(sidecar, "/target/compute_capability");
  if (const Json* k = find(sidecar, "/dataset/classes"); k && k->is_array()) c.classes = static_cast<int>(k->size());
  return c;
}

}  // namespace edgeseg
