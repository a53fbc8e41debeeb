#include "services/common/core/files.h"

#include <fstream>
#include <iterator>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"

namespace dialgrid {

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return absl::DataLossError(absl::StrCat("error reading ", path));
  return out;
}

absl::StatusOr<std::string> ReadNonEmptyFile(const std::string& path, const char* field) {
  absl::StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  if (text->empty()) return InvalidField(field, "EMPTY_FILE", absl::StrCat(path, " is empty"));
  return text;
}

}  // namespace dialgrid
