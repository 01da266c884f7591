// The one error type: a problem the user can fix, said in one line (the programs print it and exit 1).
#pragma once

#include <stdexcept>
#include <string>

namespace edgeseg {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace edgeseg
