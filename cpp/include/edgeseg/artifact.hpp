// An artifact and what its sidecar says: the preprocessing contract, the palette, the file's sha256.
//
// The sidecar (`model.onnx.json`, `model.xml.json`, `model.engine.json`) is the one edgeseg writes
// beside every artifact. It is bound to the file by sha256 (and an IR's weights by `bin_sha256`):
// a sidecar that describes another file is refused, as edgeseg's Python side refuses it, because a
// stale contract silently feeds the model the wrong input.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace edgeseg {

using Json = nlohmann::json;

enum class ArtifactKind { Onnx, OpenVinoIR, TensorRTEngine };

// edgeseg.data.contract.Preprocess: BGR uint8 HWC -> model input.
struct Contract {
  std::array<float, 3> mean_bgr{};  // subtracted per channel, in the image's BGR order
  bool divide = false;              // std given (official S²-FPN checkpoints have none)
  std::array<float, 3> std_bgr{1.0f, 1.0f, 1.0f};
  bool rgb = true;                  // channel order fed to the model
  int height = 0, width = 0;        // input_size (0: not fixed by the contract)
  bool embedded = false;            // uint8 NHWC BGR input, preprocessing inside the graph
};

struct Artifact {
  std::string path;
  std::string sidecar_path;
  ArtifactKind kind = ArtifactKind::Onnx;
  Json meta;                                 // the sidecar as read (backends read their own blocks)
  Contract contract;
  std::vector<std::array<uint8_t, 3>> palette;  // RGB per class
  std::string precision_hint;                // OpenVINO float precision the artifact asks for ("" = f32)
  int dataset_pixels = 0;                    // dataset.input_size H*W: the cap of a dynamic model's size (0: none)
};

// Reads and checks ARTIFACT's sidecar; Error (one line) for a missing or unreadable file, a missing,
// malformed or stale sidecar, or a contract this library does not implement.
Artifact open_artifact(const std::string& path);

// The contract block of a sidecar (exposed for the tests).
Contract read_contract(const Json& meta, const std::string& where);

}  // namespace edgeseg
