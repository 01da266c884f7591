// The end-of-run summary of edgeseg_video, in the words and numbers `edgeseg run` prints:
// per-stage mean/p99 ms, capture-to-output latency p50/p99, end-to-end FPS next to the
// model-only FPS. No TensorRT, no OpenCV: built and checked against Python by the tests.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace edgeseg {

inline const std::vector<std::string>& stage_names() {
  static const std::vector<std::string> names{"decode", "preprocess", "infer", "postprocess", "write"};
  return names;
}

// Linear interpolation between samples, as numpy.percentile does by default.
inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const double pos = p / 100.0 * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

inline double mean(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

inline std::string format(const char* fmt, double a, double b = 0.0) {
  char buf[96];
  std::snprintf(buf, sizeof buf, fmt, a, b);
  return buf;
}

struct RunTimes {
  std::map<std::string, std::vector<double>> stage_ms;  // per frame, per stage
  std::vector<double> latency_ms;                        // frame decoded -> its output written
  size_t frames_out = 0, unreadable = 0;
  double wall_s = 0.0;      // first frame decoded -> last frame written
  int requests = 1;         // inferences the pipeline keeps in flight
  double model_fps = 0.0;   // the engine alone, one request at a time (1000 / median ms), 0 when not measured
  double model_ms = 0.0;    // its median latency
  double model_async_fps = 0.0;  // the engine alone with `requests` in flight, 0 when not measured

  void add(const std::string& stage, double ms) { stage_ms[stage].push_back(ms); }

  // "stage  mean ms  p99 ms" rows for the stages that ran, in pipeline order.
  std::string stage_table() const {
    std::string out = "stage         mean ms    p99 ms\n";
    for (const auto& name : stage_names()) {
      auto it = stage_ms.find(name);
      if (it == stage_ms.end() || it->second.empty()) continue;
      char row[96];
      std::snprintf(row, sizeof row, "%-12s %8.2f %9.2f\n", name.c_str(), mean(it->second), percentile(it->second, 99));
      out += row;
    }
    return out;
  }

  // The same line as edgeseg.video.summary.e2e_line.
  std::string e2e_line() const {
    const double fps = wall_s > 0 && frames_out ? static_cast<double>(frames_out) / wall_s : 0.0;
    std::string line = std::to_string(frames_out) + " frames in " + format("%.2f", wall_s) + " s: end-to-end " +
                       (fps > 0 ? format("%.1f", fps) : std::string("-")) + " FPS with " + std::to_string(requests) +
                       " in flight";
    if (model_async_fps > 0) {  // the ratio only against the model in the pipeline's own mode
      line += "; model alone " + format("%.1f", model_async_fps) + " FPS with " + std::to_string(requests) + " in flight";
      if (fps > 0) line += format(" (%.0f%% of it)", 100.0 * fps / model_async_fps);
    }
    if (model_fps > 0)
      line += (model_async_fps > 0 ? ", " : "; model alone ") + format("%.1f", model_ms) + " ms (" +
              format("%.1f", model_fps) + " FPS) one at a time";
    if (!latency_ms.empty())
      line += "; latency p50 " + format("%.1f", percentile(latency_ms, 50)) + " ms, p99 " +
              format("%.1f", percentile(latency_ms, 99)) + " ms";
    if (unreadable) line += "; " + std::to_string(unreadable) + " unreadable";
    return line;
  }
};

}  // namespace edgeseg
