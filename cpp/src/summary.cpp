#include "edgeseg/summary.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace edgeseg {
namespace {

using json = nlohmann::ordered_json;

double rounded(double x, int digits) {
  const double f = std::pow(10.0, digits);
  return std::round(x * f) / f;
}

double mean(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

std::string fmt(const char* f, double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, x);
  return buf;
}

json or_null(bool present, double v) { return present ? json(v) : json(nullptr); }

}  // namespace

const std::vector<std::string>& stage_names() {
  static const std::vector<std::string> names{"decode", "preprocess", "infer", "postprocess", "write"};
  return names;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const double pos = p / 100.0 * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos)), hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

json RunSummary::to_json() const {
  const bool has_fps = wall_s > 0 && frames_out > 0;
  const double fps = has_fps ? static_cast<double>(frames_out) / wall_s : 0.0;
  json stages = json::object();
  for (const auto& name : stage_names()) {
    auto it = stage_ms.find(name);
    if (it == stage_ms.end() || it->second.empty()) {
      stages[name] = nullptr;
      continue;
    }
    stages[name] = {{"mean_ms", rounded(mean(it->second), 3)}, {"p99_ms", rounded(percentile(it->second, 99), 3)}};
  }
  json model = nullptr;
  if (!model_interval_ms.empty())
    model = {{"count", model_interval_ms.size()}, {"mean_ms", rounded(mean(model_interval_ms), 3)},
             {"median_ms", rounded(percentile(model_interval_ms, 50), 3)},
             {"p99_ms", rounded(percentile(model_interval_ms, 99), 3)}};
  const bool ratio = has_fps && model_fps > 0;
  return {{"source", source}, {"artifact", artifact}, {"backend", backend}, {"frames_in", frames_in},
          {"frames_out", frames_out}, {"unreadable", unreadable}, {"dropped", dropped}, {"interrupted", interrupted},
          {"live", live}, {"wall_s", rounded(wall_s, 4)}, {"e2e_fps", or_null(has_fps, rounded(fps, 3))},
          {"model_fps", or_null(model_fps > 0, rounded(model_fps, 3))},
          {"e2e_over_model", or_null(ratio, ratio ? rounded(fps / model_fps, 4) : 0.0)}, {"stages", stages},
          {"latency_p50_ms", or_null(!latency_ms.empty(), rounded(percentile(latency_ms, 50), 3))},
          {"latency_p99_ms", or_null(!latency_ms.empty(), rounded(percentile(latency_ms, 99), 3))},
          {"model", model},
          {"outputs", {{"video", video_out.empty() ? json(nullptr) : json(video_out)},
                       {"masks", masks_out.empty() ? json(nullptr) : json(masks_out)}}}};
}

std::string e2e_line(const json& d) {
  const std::string fps = d["e2e_fps"].is_null() ? "-" : fmt("%.1f", d["e2e_fps"].get<double>());
  std::string line = std::to_string(d["frames_out"].get<long>()) + " frames in " + fmt("%.2f", d["wall_s"].get<double>()) +
                     " s: end-to-end " + fps + " FPS";
  if (!d["model_fps"].is_null()) {
    line += " (model alone " + fmt("%.1f", d["model_fps"].get<double>()) + " FPS";
    if (!d["e2e_over_model"].is_null()) line += ", " + fmt("%.0f", 100.0 * d["e2e_over_model"].get<double>()) + "% of it";
    line += ")";
  }
  if (!d["latency_p50_ms"].is_null())
    line += "; latency p50 " + fmt("%.1f", d["latency_p50_ms"].get<double>()) + " ms, p99 " +
            fmt("%.1f", d["latency_p99_ms"].get<double>()) + " ms";
  std::string extras;
  for (const char* k : {"dropped", "unreadable"})
    if (d[k].get<long>()) extras += (extras.empty() ? "" : ", ") + std::to_string(d[k].get<long>()) + " " + k;
  if (!extras.empty()) line += "; " + extras;
  if (d["interrupted"].get<bool>()) line += "; interrupted";
  return line;
}

std::string stage_table(const json& d) {
  std::string out = "stage         mean ms    p99 ms\n";
  for (const auto& name : stage_names()) {
    const json& s = d["stages"][name];
    if (s.is_null()) continue;
    char row[96];
    std::snprintf(row, sizeof row, "%-12s %8.2f %9.2f\n", name.c_str(), s["mean_ms"].get<double>(), s["p99_ms"].get<double>());
    out += row;
  }
  return out;
}

}  // namespace edgeseg
