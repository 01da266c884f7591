#include "edgeseg/artifact.hpp"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "edgeseg/error.hpp"
#include "edgeseg/sha256.hpp"

namespace edgeseg {
namespace {

bool regular_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

ArtifactKind kind_of(const std::string& path) {
  if (ends_with(path, ".onnx")) return ArtifactKind::Onnx;
  if (ends_with(path, ".xml")) return ArtifactKind::OpenVinoIR;
  if (ends_with(path, ".engine") || ends_with(path, ".plan")) return ArtifactKind::TensorRTEngine;
  throw Error(path + ": not an artifact edgeseg-cpp opens (an ONNX model .onnx, an OpenVINO IR .xml or a "
                     "TensorRT engine .engine, each with the sidecar edgeseg writes)");
}

Json read_json(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot read the sidecar");
  std::stringstream text;
  text << f.rdbuf();
  Json doc;
  try {
    doc = Json::parse(text.str());
  } catch (const Json::exception& e) {
    throw Error(path + ": sidecar is not valid JSON (" + std::string(e.what()) + "); delete it or rebuild the artifact");
  }
  if (!doc.is_object()) throw Error(path + ": sidecar holds no JSON object; delete it or rebuild the artifact");
  return doc;
}

std::array<float, 3> three(const Json& v, const std::string& what) {
  if (!v.is_array() || v.size() != 3) throw Error(what + " needs three numbers (B,G,R)");
  std::array<float, 3> out{};
  for (size_t i = 0; i < 3; ++i) {
    if (!v[i].is_number()) throw Error(what + " needs three numbers (B,G,R)");
    out[i] = static_cast<float>(v[i].get<double>());  // numpy: np.asarray(mean, float32)
  }
  return out;
}

void check_sha(const std::string& file, const Json& meta, const char* key, const std::string& side) {
  if (!meta.contains(key)) return;
  if (!meta[key].is_string()) throw Error(side + ": " + key + " is not a string; delete it or rebuild the artifact");
  if (sha256_file(file) != meta[key].get<std::string>())
    throw Error(side + ": stale sidecar, it describes another file (its " + key + " is not that of " + file +
                "); delete the sidecar or rebuild the artifact");
}

std::vector<std::array<uint8_t, 3>> read_palette(const Json& meta, const std::string& side) {
  std::vector<std::array<uint8_t, 3>> palette;
  const Json* p = meta.contains("dataset") && meta["dataset"].is_object() && meta["dataset"].contains("palette")
                      ? &meta["dataset"]["palette"] : nullptr;
  if (!p || !p->is_array()) throw Error(side + ": no dataset palette in the sidecar; rebuild the artifact with edgeseg");
  for (const Json& c : *p) {
    if (!c.is_array() || c.size() != 3) throw Error(side + ": dataset.palette entries must be [R, G, B]");
    std::array<uint8_t, 3> rgb{};
    for (size_t i = 0; i < 3; ++i) rgb[i] = static_cast<uint8_t>(c[i].get<int>());  // np.uint8 of 0..255
    palette.push_back(rgb);
  }
  return palette;
}

}  // namespace

Contract read_contract(const Json& meta, const std::string& where) {
  if (!meta.contains("preprocess") || !meta["preprocess"].is_object())
    throw Error(where + ": no preprocess block in the sidecar; rebuild the artifact with edgeseg");
  const Json& p = meta["preprocess"];
  Contract c;
  c.embedded = meta.value("embedded_preprocess", false);
  if (!p.contains("mean_bgr")) throw Error(where + ": preprocess.mean_bgr is missing");
  c.mean_bgr = three(p["mean_bgr"], where + ": preprocess.mean_bgr");
  if (p.contains("std_bgr") && !p["std_bgr"].is_null()) {
    c.std_bgr = three(p["std_bgr"], where + ": preprocess.std_bgr");
    c.divide = true;
  }
  const std::string order = p.value("channel_order", "RGB"), layout = p.value("layout", "NCHW");
  const std::string interp = p.value("interpolation", "bilinear");
  if (order != "RGB" && order != "BGR") throw Error(where + ": channel order must be RGB or BGR, got " + order);
  if (layout != "NCHW") throw Error(where + ": layout must be NCHW, got " + layout);
  if (interp != "bilinear") throw Error(where + ": interpolation " + interp + " is not one edgeseg-cpp implements (bilinear)");
  c.rgb = order == "RGB";
  if (p.contains("input_size") && !p["input_size"].is_null()) {
    const Json& s = p["input_size"];
    if (!s.is_array() || s.size() != 2 || !s[0].is_number_integer() || !s[1].is_number_integer() ||
        s[0].get<int>() <= 0 || s[1].get<int>() <= 0)
      throw Error(where + ": preprocess.input_size must be [H, W]");
    c.height = s[0].get<int>();
    c.width = s[1].get<int>();
  }
  return c;
}

Artifact open_artifact(const std::string& path) {
  Artifact a;
  a.path = path;
  a.kind = kind_of(path);
  if (!regular_file(path)) throw Error(path + ": no such file");
  a.sidecar_path = path + ".json";
  if (!regular_file(a.sidecar_path))
    throw Error(path + ": no sidecar " + a.sidecar_path + " (edgeseg writes it beside every artifact; "
                "copy it with the model, or re-export)");
  a.meta = read_json(a.sidecar_path);
  check_sha(path, a.meta, "sha256", a.sidecar_path);
  if (a.kind == ArtifactKind::OpenVinoIR) {
    const std::string bin = path.substr(0, path.size() - 4) + ".bin";
    if (!regular_file(bin)) throw Error(path + ": its weights " + bin + " are missing");
    check_sha(bin, a.meta, "bin_sha256", a.sidecar_path);
    if (a.meta.contains("openvino") && a.meta["openvino"].is_object())
      a.precision_hint = a.meta["openvino"].value("precision_hint", "");
  }
  try {
    a.contract = read_contract(a.meta, a.sidecar_path);
    a.palette = read_palette(a.meta, a.sidecar_path);
    const Json& size = a.meta["dataset"].value("input_size", Json::array());
    if (size.is_array() && size.size() == 2) a.dataset_pixels = size[0].get<int>() * size[1].get<int>();
  } catch (const Json::exception& e) {
    throw Error(a.sidecar_path + ": malformed sidecar (" + std::string(e.what()) + ")");
  }
  return a;
}

}  // namespace edgeseg
