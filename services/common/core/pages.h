#pragma once

// List pages (AIP-158): page sizes and opaque page tokens, the same in every
// service. A token is base64url of "after:<key>", the last key of the page
// returned; a client treats it as opaque.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dialgrid {

inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 1000;

std::string EncodePageToken(absl::string_view last_key);
// "" -> "" (the first page); otherwise the last key, or INVALID_ARGUMENT
// INVALID_PAGE_TOKEN (field page_token) for anything this service did not
// issue (not base64url, no prefix, empty, over 200 characters, control
// characters).
absl::StatusOr<std::string> DecodePageToken(absl::string_view token);
// 0 -> kDefaultPageSize, above kMaxPageSize -> kMaxPageSize, negative ->
// INVALID_ARGUMENT INVALID_PAGE_SIZE.
absl::StatusOr<int> EffectivePageSize(int requested);

}  // namespace dialgrid
