// edgeseg-cpp: edgeseg's artifacts from C++, on OpenVINO (and TensorRT where built with it).
//
//   edgeseg-cpp segment ARTIFACT IMAGE... -o DIR     STEM_classes.png, STEM_mask.png, STEM_overlay.png per image
//   edgeseg-cpp run ARTIFACT VIDEO [-o OUT.avi] [--masks DIR] [--json FILE]
//
// The same pictures and summary as `edgeseg predict` and `edgeseg run`; a problem is one line on
// stderr and exit status 1 (2 for a wrong command line), refused before the model is loaded.
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>

#include "edgeseg/artifact.hpp"
#include "edgeseg/backend.hpp"
#include "edgeseg/error.hpp"
#include "edgeseg/image.hpp"
#include "edgeseg/video.hpp"

namespace {

using namespace edgeseg;

const char* kUsage =
    "usage: edgeseg-cpp segment ARTIFACT IMAGE... -o DIR [--threads N] [--device D] [--alpha A]\n"
    "       edgeseg-cpp run ARTIFACT VIDEO [-o OUT.avi] [--masks DIR] [--json FILE] [--threads N] [--device D]\n"
    "                   [--alpha A] [--model-seconds S] [--max-frames N]\n";

struct Usage : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Args {
  std::string command;
  std::vector<std::string> positional;
  std::string out, masks, json, device = "CPU";
  int threads = 0;
  float alpha = 0.5f;
  double model_seconds = 2.0;
  long max_frames = 0;
};

double number(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end) throw Usage(flag + " takes a number, got " + text);
  return v;
}

Args parse(int argc, char** argv) {
  Args a;
  if (argc < 2) throw Usage("give a command: segment or run");
  a.command = argv[1];
  if (a.command != "segment" && a.command != "run") throw Usage("unknown command " + a.command + "; use segment or run");
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw Usage(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "-o" || arg == "--out") a.out = value();
    else if (arg == "--masks") a.masks = value();
    else if (arg == "--json") a.json = value();
    else if (arg == "--device") a.device = value();
    else if (arg == "--threads") a.threads = static_cast<int>(number(arg, value()));
    else if (arg == "--alpha") a.alpha = static_cast<float>(number(arg, value()));
    else if (arg == "--model-seconds") a.model_seconds = number(arg, value());
    else if (arg == "--max-frames") a.max_frames = static_cast<long>(number(arg, value()));
    else if (arg.size() > 1 && arg[0] == '-') throw Usage("unknown option " + arg);
    else a.positional.push_back(arg);
  }
  if (a.threads < 0) throw Usage("--threads must be at least 0");
  if (a.alpha < 0.0f || a.alpha > 1.0f) throw Usage("--alpha must be within 0..1");
  if (a.model_seconds < 0) throw Usage("--model-seconds must be at least 0");
  if (a.max_frames < 0) throw Usage("--max-frames must be at least 1");
  return a;
}

bool is_dir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {}, sb {};
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

std::string parent_of(const std::string& p) {
  const size_t slash = p.find_last_of('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : p.substr(0, slash));
}

void make_dir(const std::string& dir, const std::string& flag) {
  if (is_dir(dir)) return;
  if (exists(dir)) throw Error(flag + " " + dir + ": exists and is not a folder");
  make_dir(parent_of(dir), flag);
  if (::mkdir(dir.c_str(), 0777) != 0 && !is_dir(dir)) throw Error(flag + " " + dir + ": cannot create the folder");
}

void check_out_file(const std::string& path, const std::string& flag, const std::vector<std::string>& inputs) {
  if (path.empty()) return;
  if (is_dir(path)) throw Error(flag + " " + path + ": is a folder; give a file name");
  for (const auto& in : inputs)
    if (same_file(path, in)) throw Error(flag + " " + path + ": is an input of this run; give another name");
  if (!is_dir(parent_of(path))) throw Error(flag + " " + path + ": its folder does not exist");
}

std::string stem(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  const size_t dot = name.find_last_of('.');
  return dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
}

void write_image(const std::string& path, const cv::Mat& image) {
  if (!cv::imwrite(path, image)) throw Error("cannot write " + path);
}

int segment(const Args& a) {
  if (a.positional.size() < 2) throw Usage("segment needs ARTIFACT and at least one IMAGE");
  if (a.out.empty()) throw Usage("segment needs -o DIR");
  const Artifact artifact = open_artifact(a.positional[0]);
  std::vector<cv::Mat> images;
  for (size_t i = 1; i < a.positional.size(); ++i) {  // every image read before the model is compiled
    const std::string& path = a.positional[i];
    cv::Mat image = exists(path) && !is_dir(path) ? cv::imread(path, cv::IMREAD_COLOR) : cv::Mat();
    if (image.empty()) throw Error("cannot read image " + path + " (missing, unreadable or not an image)");
    images.push_back(image);
  }
  if (exists(a.out) && !is_dir(a.out)) throw Error("-o " + a.out + ": exists and is not a folder");
  const auto backend = open_backend(artifact, {a.threads, a.device});
  make_dir(a.out, "-o");
  for (size_t i = 0; i < images.size(); ++i) {
    const cv::Mat& image = images[i];
    const Input in = prepare(image, artifact.contract, model_size(artifact, backend->input_shape(), image.size()));
    const cv::Mat labels = to_labels(backend->infer(in.data(), in.shape), image.rows, image.cols);
    const cv::Mat mask = colorize(labels, artifact.palette);
    const std::string base = a.out + "/" + stem(a.positional[i + 1]);
    write_image(base + "_classes.png", labels);
    write_image(base + "_mask.png", mask);
    write_image(base + "_overlay.png", overlay(image, mask, a.alpha));
  }
  std::cout << "wrote " << 3 * images.size() << " images to " << a.out << "\n";
  return 0;
}

int run(const Args& a) {
  if (a.positional.size() != 2) throw Usage("run needs ARTIFACT and VIDEO");
  const std::string& source = a.positional[1];
  const std::vector<std::string> inputs{a.positional[0], source};
  if (!a.out.empty() && (a.out.size() < 4 || a.out.compare(a.out.size() - 4, 4, ".avi") != 0))
    throw Error("-o " + a.out + ": the overlay video is written as Motion-JPEG .avi; name it *.avi");
  check_out_file(a.out, "-o", inputs);
  check_out_file(a.json, "--json", inputs);
  const Artifact artifact = open_artifact(a.positional[0]);
  check_video(source);  // a bad video is refused before the model is compiled
  if (!a.masks.empty()) make_dir(a.masks, "--masks");
  const auto backend = open_backend(artifact, {a.threads, a.device});
  RunOptions o;
  o.video_out = a.out;
  o.masks_out = a.masks;
  o.alpha = a.alpha;
  o.model_seconds = a.model_seconds;
  o.max_frames = a.max_frames;
  const nlohmann::ordered_json summary = run_video(artifact, *backend, source, o).to_json();
  std::cout << "edgeseg-cpp run: " << summary["backend"].get<std::string>() << "\n" << stage_table(summary);
  for (const char* key : {"video", "masks"})
    if (!summary["outputs"][key].is_null()) std::cout << key << ": " << summary["outputs"][key].get<std::string>() << "\n";
  std::cout << e2e_line(summary) << "\n";
  if (!a.json.empty()) {
    std::ofstream f(a.json);
    f << summary.dump(2) << "\n";
    if (!f) throw Error("--json " + a.json + ": cannot write it");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && (std::string(argv[1]) == "-h" || std::string(argv[1]) == "--help")) {
    std::cout << kUsage;
    return 0;
  }
  try {
    const Args a = parse(argc, argv);
    return a.command == "segment" ? segment(a) : run(a);
  } catch (const Usage& e) {
    std::cerr << "edgeseg-cpp: " << e.what() << "\n" << kUsage;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "edgeseg-cpp: " << e.what() << "\n";
    return 1;
  }
}
