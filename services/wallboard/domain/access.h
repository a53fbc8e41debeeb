#pragma once

// Who is looking at a board: the tenant named in the request and the
// credential the page sends ("Authorization: Bearer <credential>"). The
// wallboard holds no privilege of its own: it passes the credential on to the
// platform's services, which decide what it may see.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace dialgrid::wallboard {

struct Viewer {
  std::string tenant;                            // tenant id, e.g. "acme-insurance"
  std::string credential;                        // the bearer secret; never logged
  absl::Time deadline = absl::InfiniteFuture();  // for the whole board
  std::string request_id;
};

// The longest credential passed on (real ones are 64 characters).
inline constexpr size_t kMaxCredentialLength = 256;

// The secret of an "Authorization: Bearer <secret>" header value.
// UNAUTHENTICATED MISSING_CREDENTIAL when empty; MALFORMED_CREDENTIAL when
// not "Bearer " and 1-256 characters of [A-Za-z0-9_-] (what may travel as
// gRPC metadata unchanged; the services check the rest).
absl::StatusOr<std::string> CredentialFromHeader(absl::string_view authorization);

// INVALID_ARGUMENT INVALID_ID unless a tenant id (3-40 of [a-z0-9-], letter
// first, no trailing '-').
absl::Status ValidateTenant(absl::string_view tenant);

// The credential id of a "dgk_<id>_<secret>" credential (safe to log), or
// "" when it has not that shape.
std::string CredentialIdOf(absl::string_view credential);

}  // namespace dialgrid::wallboard
