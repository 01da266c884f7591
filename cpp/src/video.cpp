#include "edgeseg/video.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "edgeseg/error.hpp"
#include "edgeseg/image.hpp"

namespace edgeseg {
namespace {

using Clock = std::chrono::steady_clock;

double ms(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

// A bounded FIFO between two stages; `abort()` wakes and stops both sides (an error in any stage).
template <class T>
class Channel {
 public:
  explicit Channel(size_t size, std::atomic<bool>& aborted) : size_(size), aborted_(aborted) {}

  void put(T item) {
    std::unique_lock<std::mutex> lock(m_);
    not_full_.wait(lock, [&] { return q_.size() < size_ || aborted_; });
    if (aborted_) throw Aborted();
    q_.push_back(std::move(item));
    not_empty_.notify_one();
  }
  void close() {
    std::lock_guard<std::mutex> lock(m_);
    closed_ = true;
    not_empty_.notify_all();
  }
  // The next item, or nothing once the producer closed the channel and it is empty.
  std::optional<T> get() {
    std::unique_lock<std::mutex> lock(m_);
    not_empty_.wait(lock, [&] { return !q_.empty() || closed_ || aborted_; });
    if (aborted_) throw Aborted();
    if (q_.empty()) return std::nullopt;
    T item = std::move(q_.front());
    q_.pop_front();
    not_full_.notify_one();
    return item;
  }
  void wake() {
    std::lock_guard<std::mutex> lock(m_);
    not_full_.notify_all();
    not_empty_.notify_all();
  }
  struct Aborted {};

 private:
  size_t size_;
  std::atomic<bool>& aborted_;
  std::mutex m_;
  std::condition_variable not_full_, not_empty_;
  std::deque<T> q_;
  bool closed_ = false;
};

struct Frame {
  long index = 0;
  cv::Mat image;
  Clock::time_point captured;
  Input input;
  HostTensor output;
  cv::Mat labels, shown;
};

bool regular_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

cv::VideoCapture open_capture(const std::string& source, cv::Mat& first) {
  if (!regular_file(source)) throw Error(source + ": no such video file");
  cv::VideoCapture cap(source, cv::CAP_FFMPEG);
  if (!cap.isOpened() || !cap.read(first) || first.empty())
    throw Error(source + ": not a video OpenCV can decode, or it has no frames");
  return cap;
}

void write_png(const std::string& path, const cv::Mat& image) {  // atomically: a half-written file never appears
  std::vector<uint8_t> data;
  if (!cv::imencode(".png", image, data)) throw Error("cannot encode " + path + " as PNG");
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f || std::fwrite(data.data(), 1, data.size(), f) != data.size() || std::fclose(f) != 0) {
    if (f) std::fclose(f);
    std::remove(tmp.c_str());
    throw Error("cannot write " + path);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw Error("cannot write " + path);
}

class Run {
 public:
  Run(const Artifact& a, Backend& b, const RunOptions& o) : artifact_(a), backend_(b), o_(o) {}

  RunSummary go(const std::string& source) {
    cv::Mat first;
    cv::VideoCapture cap = open_capture(source, first);
    const double fps_read = cap.get(cv::CAP_PROP_FPS);
    fps_ = fps_read > 0 && fps_read < 1000 ? fps_read : 30.0;  // edgeseg.video.sources.IMAGE_FPS
    size_ = model_size(artifact_, backend_.input_shape(), first.size());
    s_.source = source;
    s_.artifact = artifact_.path;
    s_.backend = backend_.description();
    if (!o_.video_out.empty()) {
      // OpenCV's own MJPEG writer for whole rates, FFmpeg's for fractional ones (edgeseg.video.sinks.VideoSink)
      const int api = fps_ == std::floor(fps_) ? cv::CAP_OPENCV_MJPEG : cv::CAP_FFMPEG;
      writer_.open(o_.video_out, api, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), fps_, first.size());
      if (!writer_.isOpened()) throw Error(o_.video_out + ": OpenCV cannot write a Motion-JPEG video there");
      s_.video_out = o_.video_out;
    }
    if (!o_.masks_out.empty()) s_.masks_out = o_.masks_out;
    out_size_ = first.size();

    for (const auto& stage : stage_names()) s_.stage_ms[stage];  // every key made now: each thread then appends to its own
    Channel<Frame> q0(o_.queue_size, aborted_), q1(o_.queue_size, aborted_), q2(o_.queue_size, aborted_),
        q3(o_.queue_size, aborted_);
    channels_ = {&q0, &q1, &q2, &q3};
    std::vector<std::thread> threads;
    threads.emplace_back(guard([&] { decode(cap, first, q0); }));
    threads.emplace_back(guard([&] { preprocess(q0, q1); }));
    threads.emplace_back(guard([&] { infer(q1, q2); }));
    threads.emplace_back(guard([&] { postprocess(q2, q3); }));
    threads.emplace_back(guard([&] { write(q3); }));
    for (auto& t : threads) t.join();
    writer_.release();
    if (error_) std::rethrow_exception(error_);
    s_.wall_s = s_.frames_out ? std::chrono::duration<double>(last_written_ - first_decoded_).count() : 0.0;
    s_.requests = std::max(1, backend_.depth());
    if (o_.model_seconds > 0 && !last_input_.shape.empty()) time_model();
    return s_;
  }

 private:
  template <class F>
  std::thread guard(F body) {
    return std::thread([this, body] {
      try {
        body();
      } catch (const Channel<Frame>::Aborted&) {
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex_);
        if (!error_) error_ = std::current_exception();
        aborted_ = true;
        for (auto* c : channels_) c->wake();
      }
    });
  }

  void decode(cv::VideoCapture& cap, cv::Mat& first, Channel<Frame>& out) {
    for (long n = 0; o_.max_frames <= 0 || n < o_.max_frames; ++n) {
      const Clock::time_point t0 = Clock::now();
      Frame f;
      if (n == 0) f.image = first;
      else if (!cap.read(f.image) || f.image.empty()) break;
      f.captured = Clock::now();
      s_.stage_ms["decode"].push_back(ms(t0, f.captured));  // the first frame was decoded while opening
      if (n == 0) first_decoded_ = f.captured;
      f.index = n;
      out.put(std::move(f));
    }
    out.close();
  }

  void preprocess(Channel<Frame>& in, Channel<Frame>& out) {
    while (auto f = in.get()) {
      const Clock::time_point t0 = Clock::now();
      f->input = prepare(f->image, artifact_.contract, size_);
      s_.stage_ms["preprocess"].push_back(ms(t0, Clock::now()));
      out.put(std::move(*f));
    }
    out.close();
  }

  void infer(Channel<Frame>& in, Channel<Frame>& out) {
    struct Pending { Frame frame; int slot; Clock::time_point submitted; };
    std::deque<Pending> pending;
    const int depth = std::max(1, backend_.depth());
    int turn = 0;
    Clock::time_point last_done{};
    auto collect = [&] {
      Pending p = std::move(pending.front());
      pending.pop_front();
      p.frame.output = backend_.wait(p.slot);
      const Clock::time_point done = Clock::now();  // requests run one after another: its share starts when the last ended
      s_.stage_ms["infer"].push_back(ms(std::max(p.submitted, last_done), done));
      last_done = done;
      out.put(std::move(p.frame));
    };
    while (auto f = in.get()) {
      const int slot = turn++ % depth;
      const Clock::time_point t0 = Clock::now();
      backend_.start(slot, f->input.data(), f->input.shape);  // copies the input: it is free again
      last_input_ = std::move(f->input);  // the model-only timing runs on the last input, as edgeseg run's does
      pending.push_back({std::move(*f), slot, t0});
      if (static_cast<int>(pending.size()) >= depth) collect();
    }
    while (!pending.empty()) collect();
    out.close();
  }

  void postprocess(Channel<Frame>& in, Channel<Frame>& out) {
    const bool want_overlay = !o_.video_out.empty() || o_.masks_out.empty();
    while (auto f = in.get()) {
      const Clock::time_point t0 = Clock::now();
      f->labels = to_labels(f->output, f->image.rows, f->image.cols);
      if (want_overlay) f->shown = overlay(f->image, colorize(f->labels, artifact_.palette), o_.alpha);
      s_.stage_ms["postprocess"].push_back(ms(t0, Clock::now()));
      out.put(std::move(*f));
    }
    out.close();
  }

  void write(Channel<Frame>& in) {
    while (auto f = in.get()) {
      ++s_.frames_in;
      const Clock::time_point t0 = Clock::now();
      if (writer_.isOpened()) {
        cv::Mat shown = f->shown;
        if (shown.size() != out_size_) cv::resize(shown, shown, out_size_, 0, 0, cv::INTER_LINEAR);
        writer_.write(shown);
      }
      if (!o_.masks_out.empty()) {
        char name[32];
        std::snprintf(name, sizeof name, "/%06ld.png", f->index);
        write_png(o_.masks_out + name, f->labels);
      }
      last_written_ = Clock::now();
      s_.stage_ms["write"].push_back(ms(t0, last_written_));
      s_.latency_ms.push_back(ms(f->captured, last_written_));
      ++s_.frames_out;
    }
  }

  // model_time.model_only on the last input, `model_seconds` split between its two figures: calls one
  // after another (latency), then `requests` in flight collected in order, as infer() runs them
  // (throughput, at least one full round).
  void time_model() {
    const void* data = last_input_.data();
    const std::vector<int64_t>& shape = last_input_.shape;
    const auto half = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.model_seconds / 2));
    for (int i = 0; i < 2; ++i) backend_.infer(data, shape);  // warm-up
    Clock::time_point deadline = Clock::now() + half;
    while (s_.model_sync_ms.empty() || Clock::now() < deadline) {
      const Clock::time_point t0 = Clock::now();
      backend_.infer(data, shape);
      s_.model_sync_ms.push_back(ms(t0, Clock::now()));
    }
    const int depth = s_.requests;
    for (int i = 0; i < 2; ++i) backend_.infer(data, shape);  // warm-up
    std::deque<int> pending;  // slots, oldest first
    long started = 0, done = 0;
    const Clock::time_point start = Clock::now();
    deadline = start + half;
    auto collect = [&] {
      backend_.wait(pending.front());
      pending.pop_front();
      ++done;
    };
    while (done < depth || Clock::now() < deadline) {
      while (static_cast<int>(pending.size()) < depth) {
        const int slot = static_cast<int>(started++ % depth);
        backend_.start(slot, data, shape);
        pending.push_back(slot);
      }
      collect();
    }
    while (!pending.empty()) collect();
    s_.model_async_count = done;
    s_.model_async_wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  }

  const Artifact& artifact_;
  Backend& backend_;
  RunOptions o_;
  RunSummary s_;
  double fps_ = 30.0;
  cv::Size size_, out_size_;
  cv::VideoWriter writer_;
  std::atomic<bool> aborted_{false};
  std::vector<Channel<Frame>*> channels_;
  std::mutex error_mutex_;
  std::exception_ptr error_;
  Clock::time_point first_decoded_, last_written_;
  Input last_input_;
};

}  // namespace

void check_video(const std::string& source) {
  cv::Mat first;
  open_capture(source, first);
}

RunSummary run_video(const Artifact& artifact, Backend& backend, const std::string& source, const RunOptions& options) {
  return Run(artifact, backend, options).go(source);
}

}  // namespace edgeseg
