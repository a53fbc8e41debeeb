#pragma once

// Idempotency keys (AIP-155 request_id) as every service takes them on its
// creating and state-changing calls: optional, up to kMaxRequestId printable
// ASCII characters without spaces; a retry with the same key returns the
// first answer, the same key with another request is refused.

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace dialgrid {

inline constexpr size_t kMaxRequestId = 128;

// OK for "" (no idempotency). INVALID_ARGUMENT naming the field `request_id`:
// FIELD_TOO_LONG over kMaxRequestId, INVALID_REQUEST_ID for a byte outside
// printable ASCII or a space, or fewer than `min_length` characters (where
// the key must be hard to guess).
absl::Status ValidateRequestId(absl::string_view request_id, size_t min_length = 0);

// ALREADY_EXISTS REQUEST_ID_REUSED (metadata field=request_id): the key was
// used in the retention window for a different request.
absl::Status RequestIdReused();

}  // namespace dialgrid
