// dialgridctl: the operator's and integrator's command line (README.md).
#include <cstdlib>
#include <iostream>

#include "tools/dialgridctl/ctl_app.h"

int main(int argc, char** argv) {
  return dialgrid::ctl::Main(argc, argv, std::cout, std::cerr,
                             [](const char* name) -> std::optional<std::string> {
                               const char* v = std::getenv(name);
                               if (v == nullptr) return std::nullopt;
                               return std::string(v);
                             });
}
