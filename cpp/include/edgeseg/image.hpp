// The contract applied to an image and the output turned into pictures, exactly as edgeseg's Python
// side does it (edgeseg.data.contract.Preprocess, edgeseg.bench.accuracy.to_labels,
// edgeseg.bench.visualize.colorize/overlay): the same operations on the same types, so the same bytes.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include <opencv2/core.hpp>

#include "edgeseg/artifact.hpp"
#include "edgeseg/backend.hpp"

namespace edgeseg {

// The model input for one BGR uint8 image.
struct Input {
  std::vector<int64_t> shape;  // [1, 3, H, W] float32, or [1, H, W, 3] uint8 when embedded
  std::vector<float> chw;
  cv::Mat bgr;                 // the resized image (embedded preprocessing: fed as it is)
  const void* data() const { return chw.empty() ? static_cast<const void*>(bgr.data) : chw.data(); }
};

// The size the model runs an image of `image` size at, as edgeseg.bench.accuracy.feeder decides it: the
// contract's input_size, else the model's fixed input shape, else the image's own size scaled down
// (aspect kept) to the dataset's pixel count when larger.
cv::Size model_size(const Artifact& artifact, const std::vector<int64_t>& input_shape, cv::Size image);

// The image resized to `size` (bilinear) as Preprocess.resize does; unchanged when already that size.
cv::Mat resize_image(const cv::Mat& bgr, cv::Size size);

Input prepare(const cv::Mat& bgr, const Contract& contract, cv::Size size);

// The class map at (h, w) from one output (logits K x h' x w', or labels), as to_labels(..., "logits").
cv::Mat to_labels(const HostTensor& out, int h, int w);

// Class ids -> BGR colours (palette RGB; ids beyond it black).
cv::Mat colorize(const cv::Mat& labels, const std::vector<std::array<uint8_t, 3>>& palette);

// The mask blended over the image, float32 and rounded half to even, as numpy does.
cv::Mat overlay(const cv::Mat& bgr, const cv::Mat& mask_bgr, float alpha);

}  // namespace edgeseg
