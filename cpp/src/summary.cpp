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

// model_time.model_only's {"sync": ..., "async": ...}, or null when the model was not timed.
static json model_json(const RunSummary& s) {
  if (s.model_sync_ms.empty() || s.model_async_count == 0) return nullptr;
  const double median = percentile(s.model_sync_ms, 50);
  const double wall = s.model_async_wall_s, count = static_cast<double>(s.model_async_count);
  return {{"sync", {{"mode", "sync"}, {"requests", 1}, {"count", s.model_sync_ms.size()},
                    {"fps", or_null(median > 0, median > 0 ? rounded(1000.0 / median, 3) : 0.0)},
                    {"mean_ms", rounded(mean(s.model_sync_ms), 3)}, {"median_ms", rounded(median, 3)},
                    {"p99_ms", rounded(percentile(s.model_sync_ms, 99), 3)}}},
          {"async", {{"mode", "async"}, {"requests", s.requests}, {"count", s.model_async_count},
                     {"fps", rounded(count / wall, 3)}, {"ms_per_frame", rounded(wall * 1000.0 / count, 3)}}}};
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
  const json model = model_json(*this);
  const json model_fps = model.is_null() ? json(nullptr) : model["async"]["fps"];
  const bool ratio = has_fps && !model_fps.is_null() && model_fps.get<double>() > 0;
  return {{"source", source}, {"artifact", artifact}, {"backend", backend}, {"frames_in", frames_in},
          {"frames_out", frames_out}, {"unreadable", unreadable}, {"dropped", dropped}, {"interrupted", interrupted},
          {"live", live}, {"wall_s", rounded(wall_s, 4)}, {"e2e_fps", or_null(has_fps, rounded(fps, 3))},
          {"e2e_mode", "async"}, {"requests", requests}, {"model_fps", model_fps},
          {"model_mode", model_fps.is_null() ? json(nullptr) : json("async")},
          {"e2e_over_model", or_null(ratio, ratio ? rounded(fps / model_fps.get<double>(), 4) : 0.0)}, {"stages", stages},
          {"latency_p50_ms", or_null(!latency_ms.empty(), rounded(percentile(latency_ms, 50), 3))},
          {"latency_p99_ms", or_null(!latency_ms.empty(), rounded(percentile(latency_ms, 99), 3))},
          {"model", model},
          {"outputs", {{"video", video_out.empty() ? json(nullptr) : json(video_out)},
                       {"masks", masks_out.empty() ? json(nullptr) : json(masks_out)}}}};
}

// edgeseg.video.summary.e2e_line, character for character.
std::string e2e_line(const json& d) {
  const std::string fps = d["e2e_fps"].is_null() ? "-" : fmt("%.1f", d["e2e_fps"].get<double>());
  std::string line = std::to_string(d["frames_out"].get<long>()) + " frames in " + fmt("%.2f", d["wall_s"].get<double>()) +
                     " s: end-to-end " + fps + " FPS with " + std::to_string(d["requests"].get<long>()) + " in flight";
  const json& model = d["model"];
  const bool has_async = model.is_object() && model.contains("async") && !model["async"].is_null();
  const bool has_sync = model.is_object() && model.contains("sync") && !model["sync"].is_null();
  if (has_async) {
    line += "; model alone " + fmt("%.1f", model["async"]["fps"].get<double>()) + " FPS with " +
            std::to_string(model["async"]["requests"].get<long>()) + " in flight";
    const json& ratio = d["e2e_over_model"];
    if (!ratio.is_null() && ratio.get<double>() != 0.0) line += " (" + fmt("%.0f", 100.0 * ratio.get<double>()) + "% of it)";
  }
  if (has_sync)
    line += std::string(has_async ? ", " : "; model alone ") + fmt("%.1f", model["sync"]["median_ms"].get<double>()) +
            " ms (" + fmt("%.1f", model["sync"]["fps"].get<double>()) + " FPS) one at a time";
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
