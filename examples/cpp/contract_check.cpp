// edgeseg_contract_check: the sidecar reader and preprocessing of edgeseg_infer, without TensorRT.
//
//   edgeseg_contract_check model.engine.json image.ppm input.f32
//
// Writes the model input edgeseg_infer would feed (CHW float32, raw little-endian) and prints
// its shape, so the C++ side of the preprocessing contract can be compared with edgeseg's
// Python side on any machine (edgeseg's tests do exactly that).
#include <fstream>
#include <iostream>
#include <sstream>

#include "image_io.hpp"
#include "sidecar_json.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: edgeseg_contract_check SIDECAR.json IMAGE OUTPUT.f32\n";
    return 2;
  }
  try {
    std::ifstream f(argv[1], std::ios::binary);
    if (!f) throw std::runtime_error(std::string("cannot open ") + argv[1]);
    std::stringstream text;
    text << f.rdbuf();
    const edgeseg::Contract contract = edgeseg::read_contract(edgeseg::parse_sidecar(text.str()));
    if (contract.embedded) throw std::runtime_error("this engine takes raw uint8 BGR: there is no preprocessing to check");
    const edgeseg::Image img = edgeseg::load_image(argv[2], contract.height, contract.width);
    const std::vector<float> chw = edgeseg::preprocess(img, contract);
    std::ofstream out(argv[3], std::ios::binary);
    out.write(reinterpret_cast<const char*>(chw.data()), static_cast<std::streamsize>(chw.size() * sizeof(float)));
    if (!out) throw std::runtime_error(std::string("cannot write ") + argv[3]);
    std::cout << "3x" << img.h << "x" << img.w << " " << (contract.rgb ? "RGB" : "BGR") << " classes=" << contract.classes
              << " target=" << contract.tensorrt << "/" << contract.gpu << "/" << edgeseg::sm(contract.compute_capability) << "\n";
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
