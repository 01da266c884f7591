// A video end to end, as `edgeseg run` does it: decode, preprocess, infer, postprocess and write as
// five threads joined by bounded queues (frames stay in order; nothing is dropped), `depth()` infer
// requests in flight, and the same summary at the end.
#pragma once

#include <string>

#include "edgeseg/artifact.hpp"
#include "edgeseg/backend.hpp"
#include "edgeseg/summary.hpp"

namespace edgeseg {

struct RunOptions {
  std::string video_out;      // overlay video (Motion-JPEG .avi), "" for none
  std::string masks_out;      // folder of class-map PNGs NNNNNN.png, "" for none
  float alpha = 0.5f;         // mask opacity in the overlay
  double model_seconds = 2.0;  // model-only timing after the run (0: skip)
  long max_frames = 0;        // 0: every frame
  size_t queue_size = 4;
};

RunSummary run_video(const Artifact& artifact, Backend& backend, const std::string& source, const RunOptions& options);

// One line naming the problem when `source` is not a readable video (checked before loading a model).
void check_video(const std::string& source);

}  // namespace edgeseg
