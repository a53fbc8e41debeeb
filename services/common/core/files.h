#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace dialgrid {

// The whole file, bytes as they are; NOT_FOUND "cannot read <path>" when it
// cannot be opened.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

// As ReadFileToString, and INVALID_ARGUMENT EMPTY_FILE (field `field`,
// "<path> is empty") when the file holds nothing: for files a setting
// names that must have content (CA bundles, certificates).
absl::StatusOr<std::string> ReadNonEmptyFile(const std::string& path, const char* field);

}  // namespace dialgrid
