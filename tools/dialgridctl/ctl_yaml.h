#pragma once

// Campaign files in YAML: YAML (1.2 core schema) turned into the JSON that
// protobuf's JSON mapping reads, so a YAML file and its JSON twin make the
// same message. Pure logic.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dialgrid::ctl {

// The first YAML document of `text` as JSON. Plain scalars: null, ~ and
// empty are null; true/false (any case YAML 1.2 allows) are booleans; a
// number JSON can write as it is stays a number; everything else, and every
// quoted scalar, is a string (protobuf's JSON reader takes numbers in
// strings, durations as "30s", enums by name). Mapping keys must be
// scalars. INVALID_ARGUMENT with the line and column of a syntax error.
absl::StatusOr<std::string> YamlToJson(absl::string_view text);

// Whether a file should be read as YAML: its name ends in .yaml or .yml.
bool IsYamlFile(absl::string_view path);

}  // namespace dialgrid::ctl
