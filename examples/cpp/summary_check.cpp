// edgeseg_summary_check: video_summary.hpp fed known timings, so the tests can hold its line to
// Python's edgeseg.video.summary.e2e_line. stdin: "frames wall_s requests model_fps model_ms
// model_async_fps unreadable", then
// "latency MS..." and "STAGE MS..." lines.
#include <iostream>
#include <sstream>
#include <string>

#include "video_summary.hpp"

int main() {
  edgeseg::RunTimes t;
  std::cin >> t.frames_out >> t.wall_s >> t.requests >> t.model_fps >> t.model_ms >> t.model_async_fps >> t.unreadable;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string name;
    if (!(in >> name)) continue;
    for (double ms; in >> ms;) {
      if (name == "latency") t.latency_ms.push_back(ms);
      else t.add(name, ms);
    }
  }
  std::cout << t.stage_table() << t.e2e_line() << "\n";
  return 0;
}
