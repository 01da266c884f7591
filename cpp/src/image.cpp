#include "edgeseg/image.hpp"

#include <algorithm>
#include <cfenv>
#include <cmath>
#include <cstring>
#include <string>

#include <opencv2/imgproc.hpp>

#include "edgeseg/error.hpp"

namespace edgeseg {
namespace {

// Above this many bytes of logits at the label's size, classes are taken at the model's size and
// upscaled nearest (edgeseg.bench.accuracy._LOGITS_AT_LABEL_SIZE).
constexpr double kLogitsAtLabelSize = double(1u << 30);

// IEEE half -> float (outputs of --fp16-io models).
float half_to_float(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1Fu, mant = h & 0x3FFu;
  uint32_t bits;
  if (exp == 0 && mant == 0) {
    bits = sign;
  } else if (exp == 0) {  // subnormal: normalise
    int e = -1;
    uint32_t m = mant;
    do ++e, m <<= 1; while ((m & 0x400u) == 0);
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

// Integer labels of one output as a CV_32S map of its last two dims.
cv::Mat labels_of(const HostTensor& out) {
  const int h = static_cast<int>(out.shape[out.shape.size() - 2]), w = static_cast<int>(out.shape.back());
  cv::Mat m(h, w, CV_32S);
  const size_t n = static_cast<size_t>(h) * w;
  for (size_t i = 0; i < n; ++i) {
    int64_t v = 0;
    switch (out.type) {
      case DType::U8: v = out.bytes[i]; break;
      case DType::I32: { int32_t x; std::memcpy(&x, out.bytes.data() + 4 * i, 4); v = x; break; }
      case DType::I64: std::memcpy(&v, out.bytes.data() + 8 * i, 8); break;
      case DType::F32: { float x; std::memcpy(&x, out.bytes.data() + 4 * i, 4); v = static_cast<int64_t>(x); break; }
      case DType::F16: { uint16_t x; std::memcpy(&x, out.bytes.data() + 2 * i, 2); v = static_cast<int64_t>(half_to_float(x)); break; }
    }
    m.at<int32_t>(static_cast<int>(i)) = static_cast<int32_t>(v);
  }
  return m;
}

// First maximum over the channels of an H x W x K float image (numpy's argmax).
cv::Mat argmax_hwc(const cv::Mat& hwc) {
  const int k = hwc.channels();
  cv::Mat labels(hwc.rows, hwc.cols, CV_32S);
  for (int y = 0; y < hwc.rows; ++y) {
    const float* row = hwc.ptr<float>(y);
    int32_t* dst = labels.ptr<int32_t>(y);
    for (int x = 0; x < hwc.cols; ++x) {
      const float* v = row + static_cast<size_t>(x) * k;
      int best = 0;
      for (int c = 1; c < k; ++c)
        if (v[c] > v[best]) best = c;
      dst[x] = best;
    }
  }
  return labels;
}

cv::Mat to_u8(const cv::Mat& labels32) {
  double lo = 0, hi = 0;
  cv::minMaxLoc(labels32, &lo, &hi);
  if (lo < 0 || hi > 255)
    throw Error("class id " + std::to_string(static_cast<long long>(lo < 0 ? lo : hi)) +
                " does not fit an 8-bit class map");
  cv::Mat out;
  labels32.convertTo(out, CV_8U);
  return out;
}

}  // namespace

cv::Size model_size(const Artifact& artifact, const std::vector<int64_t>& shape, cv::Size image) {
  const Contract& c = artifact.contract;
  if (c.height > 0) return {c.width, c.height};
  const size_t h_axis = c.embedded ? 1 : 2;
  if (shape.size() == 4 && shape[h_axis] > 0 && shape[h_axis + 1] > 0)
    return {static_cast<int>(shape[h_axis + 1]), static_cast<int>(shape[h_axis])};
  const long long h = image.height, w = image.width, cap = artifact.dataset_pixels;
  if (cap <= 0 || h * w <= cap) return image;
  const double scale = std::pow(static_cast<double>(cap) / static_cast<double>(h * w), 0.5);  // edgeseg.memory.fit_within
  return {std::max(1, static_cast<int>(static_cast<double>(w) * scale)), std::max(1, static_cast<int>(static_cast<double>(h) * scale))};
}

cv::Mat resize_image(const cv::Mat& bgr, cv::Size size) {
  if (bgr.size() == size) return bgr;
  cv::Mat out;
  cv::resize(bgr, out, size, 0, 0, cv::INTER_LINEAR);
  return out;
}

Input prepare(const cv::Mat& bgr, const Contract& c, cv::Size size) {
  Input in;
  in.bgr = resize_image(bgr, size);
  if (!in.bgr.isContinuous()) in.bgr = in.bgr.clone();
  const int h = size.height, w = size.width;
  if (c.embedded) {  // uint8 NHWC BGR straight from the decoder: the graph does the arithmetic
    in.shape = {1, h, w, 3};
    return in;
  }
  in.shape = {1, 3, h, w};
  const size_t plane = static_cast<size_t>(h) * w;
  in.chw.resize(3 * plane);
  const uint8_t* px = in.bgr.data;
  for (int k = 0; k < 3; ++k) {  // (x - mean) / std in float32, channel k to its place in the model's order
    float* dst = in.chw.data() + (c.rgb ? 2 - k : k) * plane;
    const float mean = c.mean_bgr[k], stdv = c.std_bgr[k];
    if (c.divide)
      for (size_t i = 0; i < plane; ++i) dst[i] = (static_cast<float>(px[3 * i + k]) - mean) / stdv;
    else
      for (size_t i = 0; i < plane; ++i) dst[i] = static_cast<float>(px[3 * i + k]) - mean;
  }
  return in;
}

cv::Mat to_labels(const HostTensor& out, int h, int w) {
  const bool integer = out.type == DType::U8 || out.type == DType::I32 || out.type == DType::I64;
  const size_t dims = out.shape.size() - 1;  // without the batch axis
  if (out.shape.size() < 3) throw Error("the model's output has " + std::to_string(out.shape.size()) + " dimensions; "
                                        "edgeseg models output [1, K, H, W] logits or [1, H, W] labels");
  if (integer || dims == 2) {
    cv::Mat labels = labels_of(out);
    if (labels.rows != h || labels.cols != w) cv::resize(labels, labels, cv::Size(w, h), 0, 0, cv::INTER_NEAREST);
    return to_u8(labels);
  }
  const int k = static_cast<int>(out.shape[1]), mh = static_cast<int>(out.shape[2]), mw = static_cast<int>(out.shape[3]);
  if (k > CV_CN_MAX) throw Error("the model outputs " + std::to_string(k) + " classes; at most 512 are read");
  const size_t plane = static_cast<size_t>(mh) * mw;
  if (mh == h && mw == w && out.type == DType::F32) {  // the common case: class by class over whole planes
    const float* logits = reinterpret_cast<const float*>(out.bytes.data());
    std::vector<float> best(logits, logits + plane);
    cv::Mat labels(h, w, CV_8U, cv::Scalar(0));
    uint8_t* id = labels.ptr<uint8_t>();
    if (k > 256) throw Error("the model outputs " + std::to_string(k) + " classes; an 8-bit class map holds 256");
    for (int c = 1; c < k; ++c) {
      const float* v = logits + c * plane;
      for (size_t i = 0; i < plane; ++i)
        if (v[i] > best[i]) best[i] = v[i], id[i] = static_cast<uint8_t>(c);  // strictly greater: the first maximum
    }
    return labels;
  }
  cv::Mat hwc(mh, mw, CV_32FC(k));  // CHW -> HWC, as float32 (half outputs widened first)
  float* dst = hwc.ptr<float>();
  for (int c = 0; c < k; ++c)
    for (size_t i = 0; i < plane; ++i) {
      const size_t at = c * plane + i;
      float v;
      if (out.type == DType::F16) {
        uint16_t x;
        std::memcpy(&x, out.bytes.data() + 2 * at, 2);
        v = half_to_float(x);
      } else {
        std::memcpy(&v, out.bytes.data() + 4 * at, 4);
      }
      dst[i * k + c] = v;
    }
  if (mh == h && mw == w) return to_u8(argmax_hwc(hwc));
  if (double(k) * h * w * 4 > kLogitsAtLabelSize) {  // huge: classes at model size, upscaled nearest
    cv::Mat labels = argmax_hwc(hwc);
    cv::resize(labels, labels, cv::Size(w, h), 0, 0, cv::INTER_NEAREST);
    return to_u8(labels);
  }
  cv::Mat sized;
  cv::resize(hwc, sized, cv::Size(w, h), 0, 0, cv::INTER_LINEAR);
  return to_u8(argmax_hwc(sized));
}

cv::Mat colorize(const cv::Mat& labels, const std::vector<std::array<uint8_t, 3>>& palette) {
  cv::Mat out(labels.size(), CV_8UC3);
  std::array<cv::Vec3b, 256> table{};
  for (size_t i = 0; i < palette.size() && i < 256; ++i) table[i] = cv::Vec3b(palette[i][2], palette[i][1], palette[i][0]);
  for (int y = 0; y < labels.rows; ++y) {
    const uint8_t* src = labels.ptr<uint8_t>(y);
    cv::Vec3b* dst = out.ptr<cv::Vec3b>(y);
    for (int x = 0; x < labels.cols; ++x) dst[x] = table[src[x]];
  }
  return out;
}

cv::Mat overlay(const cv::Mat& bgr, const cv::Mat& mask_bgr, float alpha) {
  if (bgr.size() != mask_bgr.size() || bgr.type() != CV_8UC3 || mask_bgr.type() != CV_8UC3)
    throw Error("image and mask differ in shape");
  const float keep = static_cast<float>(1.0 - static_cast<double>(alpha));  // numpy: python float -> float32
  cv::Mat out(bgr.size(), CV_8UC3);
  const int prev = std::fegetround();
  std::fesetround(FE_TONEAREST);  // numpy's round(): half to even
  for (int y = 0; y < bgr.rows; ++y) {
    const uint8_t *a = bgr.ptr<uint8_t>(y), *b = mask_bgr.ptr<uint8_t>(y);
    uint8_t* dst = out.ptr<uint8_t>(y);
    for (int x = 0; x < bgr.cols * 3; ++x) {
      const float first = static_cast<float>(a[x]) * keep, second = static_cast<float>(b[x]) * alpha;
      dst[x] = static_cast<uint8_t>(std::nearbyint(first + second));
    }
  }
  std::fesetround(prev);
  return out;
}

}  // namespace edgeseg
