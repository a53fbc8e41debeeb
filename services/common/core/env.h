#pragma once

#include <cstdlib>
#include <string>

namespace dialgrid {

// The value of environment variable `name`, or `fallback` when unset or
// empty. Used for flag defaults, so every flag can also come from the
// environment (DIALGRID_*), as Kubernetes manifests prefer.
inline std::string EnvOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? std::string(v) : std::string(fallback);
}

}  // namespace dialgrid
