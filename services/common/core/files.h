#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace dialgrid {

// The whole file, bytes as they are; NOT_FOUND "cannot read <path>" when it
// cannot be opened.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

}  // namespace dialgrid
