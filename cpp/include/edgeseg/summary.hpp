// What a video run reports, with the fields, order and rounding of `edgeseg run --json`
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
  int requests = 1;                     // inferences the pipeline keeps in flight
  // The model alone after the run (edgeseg/video/model_time.py): one request at a time (latency),
  // then `requests` in flight (throughput, the figure end to end is compared with).
  std::vector<double> model_sync_ms;    // per call; empty: not measured
  long model_async_count = 0;           // results collected; 0: not measured
  double model_async_wall_s = 0.0;
  std::string video_out, masks_out;     // "" when not written

  nlohmann::ordered_json to_json() const;  // keys in edgeseg run's order
};

std::string e2e_line(const nlohmann::ordered_json& d);
std::string stage_table(const nlohmann::ordered_json& d);

}  // namespace edgeseg
