#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace dialgrid {

// Errors carry a machine-readable reason (UPPER_SNAKE_CASE) and, for bad
// input, the offending field, as absl::Status payloads. The gRPC layer turns
// them into ErrorInfo / BadRequest details (see server/grpc_status.h).
inline constexpr absl::string_view kReasonPayload = "dialgrid.reason";
inline constexpr absl::string_view kFieldPayload = "dialgrid.field";
inline constexpr absl::string_view kMetadataPayloadPrefix = "dialgrid.meta.";

// Returns `status` with `reason` attached.
absl::Status WithReason(absl::Status status, absl::string_view reason);
// Returns `status` with a metadata entry (e.g. quota name) attached.
absl::Status WithMetadata(absl::Status status, absl::string_view key, absl::string_view value);

// The reason attached to `status`, or "" if none.
std::string ReasonOf(const absl::Status& status);
// The field attached to `status`, or "" if none.
std::string FieldOf(const absl::Status& status);

// INVALID_ARGUMENT about one field, e.g. InvalidField("tenant.display_name",
// "FIELD_TOO_LONG", "must be at most 200 characters").
absl::Status InvalidField(absl::string_view field, absl::string_view reason,
                          absl::string_view description);

// Shorthands that attach a reason.
absl::Status PermissionDenied(absl::string_view reason, absl::string_view message);
absl::Status Unauthenticated(absl::string_view reason, absl::string_view message);
absl::Status NotFound(absl::string_view reason, absl::string_view message);
absl::Status FailedPrecondition(absl::string_view reason, absl::string_view message);
absl::Status Aborted(absl::string_view reason, absl::string_view message);
absl::Status Unavailable(absl::string_view reason, absl::string_view message);
absl::Status AlreadyExists(absl::string_view reason, absl::string_view message);
// RESOURCE_EXHAUSTED naming the quota (metadata "quota").
absl::Status QuotaExceeded(absl::string_view quota, absl::string_view message);

}  // namespace dialgrid
