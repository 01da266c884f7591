// What a video run reports, with the fields and rounding of `edgeseg run --json`
// (edgeseg.video.summary.RunSummary.to_dict) and its one-line verdict (e2e_line).
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace edgeseg {

const std::vector<std::string>& stage_names();  // decode, preprocess, infer, postprocess, write

// numpy.percentile's default (linear interpolation between samples).
double percentile(std::vector<double> v, double p);

struct RunSummary {
  std::string source, artifact, backend;
  long frames_in = 0, frames_out = 0, unreadable = 0, dropped = 0;
  double wall_s = 0.0;  // first frame decoded -> last frame written
  bool interrupted = false, live = false;
  std::map<std::string, std::vector<double>> stage_ms;
  std::vector<double> latency_ms;       // decoded -> written, per frame
  double model_fps = 0.0;               // 0: not measured
  std::vector<double> model_interval_ms;  // model alone: time per result, as the run keeps requests in flight
  std::string video_out, masks_out;     // "" when not written

  nlohmann::ordered_json to_json() const;  // keys in edgeseg run's order
};

std::string e2e_line(const nlohmann::ordered_json& d);
std::string stage_table(const nlohmann::ordered_json& d);

}  // namespace edgeseg
