// dockerbox-init: the first process of every container and of every exec. Static, so it
// loads nothing from the image. Thin: everything is in run.cpp.
#include "init/run.hpp"

#include <string_view>
#include <vector>

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  return dockerbox::init::runInit(args);
}
