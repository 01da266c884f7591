// Images in and class maps out, and the preprocessing contract applied to an image.
//
// With OpenCV (EDGESEG_WITH_OPENCV): any format cv::imread reads, resized with INTER_LINEAR
// exactly as edgeseg's Python side does, and PNG output. Without it: binary PPM (P6) in, at
// the model's size, and PGM (P5) out.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "sidecar_json.hpp"

#ifdef EDGESEG_WITH_OPENCV
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#endif

namespace edgeseg {

struct Image {
  int h = 0, w = 0;
  std::vector<uint8_t> bgr;  // H x W x 3, BGR as cv::imread gives it
};

inline Image read_ppm(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + path);
  Image img;
  std::string magic;
  int maxval = 0;
  f >> magic;
  auto next_int = [&f]() {  // skips '#' comment lines between header fields
    f >> std::ws;
    while (f.peek() == '#') {
      std::string line;
      std::getline(f, line);
      f >> std::ws;
    }
    int v = 0;
    f >> v;
    return v;
  };
  img.w = next_int();
  img.h = next_int();
  maxval = next_int();
  f.get();  // the single whitespace before the pixels
  if (magic != "P6" || maxval != 255 || img.w <= 0 || img.h <= 0)
    throw std::runtime_error(path + ": not a binary 8-bit PPM (P6); without OpenCV only those are read");
  std::vector<uint8_t> rgb(static_cast<size_t>(img.h) * img.w * 3);
  f.read(reinterpret_cast<char*>(rgb.data()), static_cast<std::streamsize>(rgb.size()));
  if (f.gcount() != static_cast<std::streamsize>(rgb.size())) throw std::runtime_error(path + ": truncated PPM");
  img.bgr.resize(rgb.size());
  for (size_t i = 0; i < rgb.size(); i += 3) {
    img.bgr[i] = rgb[i + 2];
    img.bgr[i + 1] = rgb[i + 1];
    img.bgr[i + 2] = rgb[i];
  }
  return img;
}

// The image at (h, w); h == 0 keeps its own size.
inline Image load_image(const std::string& path, int h, int w) {
#ifdef EDGESEG_WITH_OPENCV
  cv::Mat m = cv::imread(path, cv::IMREAD_COLOR);
  if (m.empty()) throw std::runtime_error("cannot read image " + path);
  if (h > 0 && w > 0 && (m.rows != h || m.cols != w)) cv::resize(m, m, cv::Size(w, h), 0, 0, cv::INTER_LINEAR);
  Image img;
  img.h = m.rows;
  img.w = m.cols;
  img.bgr.assign(m.data, m.data + m.total() * 3);
  return img;
#else
  Image img = read_ppm(path);
  if (h > 0 && w > 0 && (img.h != h || img.w != w))
    throw std::runtime_error(path + " is " + std::to_string(img.h) + "x" + std::to_string(img.w) + "; the model takes " +
                             std::to_string(h) + "x" + std::to_string(w) + " (build with OpenCV to resize)");
  return img;
#endif
}

inline void write_class_map(const std::string& path, const std::vector<uint8_t>& labels, int h, int w) {
#ifdef EDGESEG_WITH_OPENCV
  if (!cv::imwrite(path, cv::Mat(h, w, CV_8UC1, const_cast<uint8_t*>(labels.data()))))
    throw std::runtime_error("cannot write " + path);
#else
  std::ofstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot write " + path);
  f << "P5\n" << w << " " << h << "\n255\n";
  f.write(reinterpret_cast<const char*>(labels.data()), static_cast<std::streamsize>(labels.size()));
#endif
}

// BGR uint8 HWC -> CHW float32: minus the mean, divided by std if given, channels in the
// model's order. The same float32 operations as edgeseg's Preprocess.apply, so the same values.
inline std::vector<float> preprocess(const Image& img, const Contract& c) {
  const size_t plane = static_cast<size_t>(img.h) * img.w;
  std::vector<float> chw(3 * plane);
  const bool divide = c.std_bgr.size() == 3;
  float mean[3], stdv[3];
  for (int k = 0; k < 3; ++k) {
    mean[k] = static_cast<float>(c.mean_bgr.at(k));
    stdv[k] = divide ? static_cast<float>(c.std_bgr[k]) : 1.0f;
  }
  for (size_t i = 0; i < plane; ++i)
    for (int k = 0; k < 3; ++k) {
      float v = static_cast<float>(img.bgr[i * 3 + k]) - mean[k];
      if (divide) v /= stdv[k];
      const int dst = c.rgb ? 2 - k : k;
      chw[dst * plane + i] = v;
    }
  return chw;
}

// IEEE half -> float, for engines exported with float16 outputs (--fp16-io).
inline float half_to_float(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1Fu, mant = h & 0x3FFu;
  uint32_t bits;
  if (exp == 0 && mant == 0) {
    bits = sign;
  } else if (exp == 0) {  // subnormal: normalise
    int e = -1;
    uint32_t m = mant;
    do { ++e; m <<= 1; } while ((m & 0x400u) == 0);
    bits = sign | ((127 - 15 - e) << 23) | ((m & 0x3FFu) << 13);
  } else if (exp == 31) {
    bits = sign | 0x7F800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// Class index per pixel from K x H x W logits (first maximum wins, as numpy's argmax).
inline std::vector<uint8_t> argmax(const std::vector<float>& logits, int k, size_t plane) {
  std::vector<uint8_t> labels(plane);
  for (size_t i = 0; i < plane; ++i) {
    int best = 0;
    for (int c = 1; c < k; ++c)
      if (logits[c * plane + i] > logits[best * plane + i]) best = c;
    labels[i] = static_cast<uint8_t>(best);
  }
  return labels;
}

}  // namespace edgeseg
