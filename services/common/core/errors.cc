#include "services/common/core/errors.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace dialgrid {

absl::Status WithReason(absl::Status status, absl::string_view reason) {
  if (!status.ok()) status.SetPayload(kReasonPayload, absl::Cord(reason));
  return status;
}

absl::Status WithMetadata(absl::Status status, absl::string_view key, absl::string_view value) {
  if (!status.ok()) status.SetPayload(absl::StrCat(kMetadataPayloadPrefix, key), absl::Cord(value));
  return status;
}

std::string ReasonOf(const absl::Status& status) {
  auto p = status.GetPayload(kReasonPayload);
  return p ? std::string(*p) : std::string();
}

std::string FieldOf(const absl::Status& status) {
  auto p = status.GetPayload(kFieldPayload);
  return p ? std::string(*p) : std::string();
}

absl::Status InvalidField(absl::string_view field, absl::string_view reason,
                          absl::string_view description) {
  absl::Status s = absl::InvalidArgumentError(absl::StrCat(field, ": ", description));
  s.SetPayload(kFieldPayload, absl::Cord(field));
  return WithReason(std::move(s), reason);
}

absl::Status PermissionDenied(absl::string_view reason, absl::string_view message) {
  return WithReason(absl::PermissionDeniedError(message), reason);
}
absl::Status Unauthenticated(absl::string_view reason, absl::string_view message) {
  return WithReason(absl::UnauthenticatedError(message), reason);
}
absl::Status NotFound(absl::string_view reason, absl::string_view message) {
  return WithReason(absl::NotFoundError(message), reason);
}
absl::Status FailedPrecondition(absl::string_view reason, absl::string_view message) {
  return WithReason(absl::FailedPreconditionError(message), reason);
}
absl::Status Aborted(absl::string_view reason, absl::string_view message) {
  return WithReason(absl::AbortedError(message), reason);
}
absl::Status Unavailable(absl::string_view reason, absl::string_view message) {
  return WithReason(absl::UnavailableError(message), reason);
}
absl::Status AlreadyExists(absl::string_view reason, absl::string_view message) {
  return WithReason(absl::AlreadyExistsError(message), reason);
}
absl::Status QuotaExceeded(absl::string_view quota, absl::string_view message) {
  return WithMetadata(WithReason(absl::ResourceExhaustedError(message), "QUOTA_EXCEEDED"),
                      "quota", quota);
}

}  // namespace dialgrid
