#include "services/common/core/pages.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"

namespace dialgrid {

std::string EncodePageToken(absl::string_view last_key) {
  return absl::WebSafeBase64Escape(absl::StrCat("after:", last_key));
}

absl::StatusOr<std::string> DecodePageToken(absl::string_view token) {
  if (token.empty()) return std::string();
  std::string raw;
  bool ok = token.size() <= 200 && absl::WebSafeBase64Unescape(token, &raw) &&
            absl::StartsWith(raw, "after:") && raw.size() > 6;
  for (char c : raw) ok = ok && static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
  if (!ok) return InvalidField("page_token", "INVALID_PAGE_TOKEN", "not a token this service issued");
  return raw.substr(6);
}

absl::StatusOr<int> EffectivePageSize(int requested) {
  if (requested < 0) return InvalidField("page_size", "INVALID_PAGE_SIZE", "must not be negative");
  if (requested == 0) return kDefaultPageSize;
  return std::min(requested, kMaxPageSize);
}

}  // namespace dialgrid
