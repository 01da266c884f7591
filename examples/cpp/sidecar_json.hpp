// A small JSON reader (enough for edgeseg sidecars) and the preprocessing contract read from one.
//
// Hand-rolled so the example needs nothing beyond TensorRT, CUDA and, optionally, OpenCV.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace edgeseg {

struct Json {
  enum class Type { Null, Bool, Number, String, Array, Object };
  Type type = Type::Null;
  bool boolean = false;
  double number = 0.0;
  std::string string;
  std::vector<Json> items;                            // Array
  std::vector<std::pair<std::string, Json>> members;  // Object, in file order

  // Member `key` of an object, or nullptr (also when this is not an object).
  const Json* get(const std::string& key) const {
    if (type != Type::Object) return nullptr;
    for (const auto& m : members)
      if (m.first == key) return &m.second;
    return nullptr;
  }
  // Follows "a.b.c"; nullptr where any step is missing.
  const Json* path(const std::string& dotted) const {
    const Json* node = this;
    size_t start = 0;
    while (node && start <= dotted.size()) {
      size_t end = dotted.find('.', start);
      node = node->get(dotted.substr(start, end == std::string::npos ? std::string::npos : end - start));
      if (end == std::string::npos) break;
      start = end + 1;
    }
    return node;
  }
  std::vector<double> numbers() const {
    std::vector<double> out;
    for (const auto& item : items)
      if (item.type == Type::Number) out.push_back(item.number);
    return out;
  }
};

class JsonParser {
 public:
  explicit JsonParser(const std::string& text) : s_(text) {}

  Json parse() {
    Json value = parse_value();
    skip_space();
    if (pos_ != s_.size()) fail("trailing characters");
    return value;
  }

 private:
  const std::string& s_;
  size_t pos_ = 0;

  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("sidecar JSON: " + what + " at byte " + std::to_string(pos_));
  }
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t')) ++pos_;
  }
  bool consume(const char* word) {
    size_t n = std::char_traits<char>::length(word);
    if (s_.compare(pos_, n, word) != 0) return false;
    pos_ += n;
    return true;
  }
  Json parse_value() {
    skip_space();
    if (pos_ >= s_.size()) fail("unexpected end");
    Json v;
    char c = s_[pos_];
    if (c == '{') return parse_object();
    if (c == '[') return parse_array();
    if (c == '"') {
      v.type = Json::Type::String;
      v.string = parse_string();
    } else if (consume("true")) {
      v.type = Json::Type::Bool;
      v.boolean = true;
    } else if (consume("false")) {
      v.type = Json::Type::Bool;
    } else if (consume("null")) {
      v.type = Json::Type::Null;
    } else {
      const char* begin = s_.c_str() + pos_;
      char* end = nullptr;
      v.type = Json::Type::Number;
      v.number = std::strtod(begin, &end);
      if (end == begin) fail("unexpected character");
      pos_ += static_cast<size_t>(end - begin);
    }
    return v;
  }
  std::string parse_string() {
    std::string out;
    ++pos_;  // opening quote
    while (pos_ < s_.size() && s_[pos_] != '"') {
      char c = s_[pos_++];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) fail("unterminated escape");
      char e = s_[pos_++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u': {  // basic multilingual plane, as UTF-8
          if (pos_ + 4 > s_.size()) fail("short \\u escape");
          unsigned code = static_cast<unsigned>(std::stoul(s_.substr(pos_, 4), nullptr, 16));
          pos_ += 4;
          if (code < 0x80) {
            out += static_cast<char>(code);
          } else if (code < 0x800) {
            out += static_cast<char>(0xC0 | (code >> 6));
            out += static_cast<char>(0x80 | (code & 0x3F));
          } else {
            out += static_cast<char>(0xE0 | (code >> 12));
            out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (code & 0x3F));
          }
          break;
        }
        default: out += e;  // \" \\ \/
      }
    }
    if (pos_ >= s_.size()) fail("unterminated string");
    ++pos_;  // closing quote
    return out;
  }
  Json parse_array() {
    Json v;
    v.type = Json::Type::Array;
    ++pos_;
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == ']') return ++pos_, v;
    while (true) {
      v.items.push_back(parse_value());
      skip_space();
      if (pos_ < s_.size() && s_[pos_] == ',') { ++pos_; continue; }
      if (pos_ < s_.size() && s_[pos_] == ']') { ++pos_; return v; }
      fail("expected , or ]");
    }
  }
  Json parse_object() {
    Json v;
    v.type = Json::Type::Object;
    ++pos_;
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == '}') return ++pos_, v;
    while (true) {
      skip_space();
      if (pos_ >= s_.size() || s_[pos_] != '"') fail("expected a key");
      std::string key = parse_string();
      skip_space();
      if (pos_ >= s_.size() || s_[pos_++] != ':') fail("expected :");
      v.members.emplace_back(std::move(key), parse_value());
      skip_space();
      if (pos_ < s_.size() && s_[pos_] == ',') { ++pos_; continue; }
      if (pos_ < s_.size() && s_[pos_] == '}') { ++pos_; return v; }
      fail("expected , or }");
    }
  }
};

// "8.7" -> "sm_87".
inline std::string sm(std::string cc) {
  cc.erase(std::remove(cc.begin(), cc.end(), '.'), cc.end());
  return "sm_" + cc;
}

// What the program needs from the sidecar: the preprocessing contract and where the engine was built.
struct Contract {
  std::vector<double> mean_bgr;   // subtracted per channel, in the image's BGR order
  std::vector<double> std_bgr;    // empty: no division (official S²-FPN checkpoints)
  bool rgb = true;                // channel order fed to the model
  int height = 0, width = 0;      // model input size (0: take the engine's or the image's)
  bool embedded = false;          // uint8 NHWC BGR input, preprocessing inside the engine
  std::string tensorrt, gpu, compute_capability;  // the build target
  int classes = 0;
};

inline Contract read_contract(const Json& sidecar) {
  Contract c;
  const Json* pre = sidecar.get("preprocess");
  if (!pre) throw std::runtime_error("sidecar has no preprocess block: rebuild the engine with `edgeseg build`");
  if (const Json* m = pre->get("mean_bgr")) c.mean_bgr = m->numbers();
  if (const Json* s = pre->get("std_bgr")) c.std_bgr = s->numbers();
  if (const Json* o = pre->get("channel_order")) c.rgb = o->string != "BGR";
  if (const Json* size = pre->get("input_size"); size && size->items.size() == 2) {
    c.height = static_cast<int>(size->items[0].number);
    c.width = static_cast<int>(size->items[1].number);
  }
  if (const Json* e = sidecar.get("embedded_preprocess")) c.embedded = e->boolean;
  if (!c.embedded && c.mean_bgr.size() != 3) throw std::runtime_error("sidecar preprocess.mean_bgr needs 3 values");
  if (const Json* t = sidecar.path("target.tensorrt")) c.tensorrt = t->string;
  if (const Json* g = sidecar.path("target.gpu")) c.gpu = g->string;
  if (const Json* cc = sidecar.path("target.compute_capability")) c.compute_capability = cc->string;
  if (const Json* k = sidecar.path("dataset.classes")) c.classes = static_cast<int>(k->items.size());
  return c;
}

}  // namespace edgeseg
