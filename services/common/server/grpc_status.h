#pragma once

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace dialgrid {

// absl::Status -> grpc::Status. The grpc-status-details-bin trailer carries a
// google.rpc.Status whose details are, with their standard type URLs
// (type.googleapis.com/google.rpc.*), so the status helpers of any gRPC client
// library decode them:
// - ErrorInfo: the reason (default: the code's name), the domain and the
//   status's metadata (e.g. "quota");
// - BadRequest: one field violation naming the field, when the status has
//   one (INVALID_ARGUMENT from InvalidField);
// - QuotaFailure: one violation whose subject is the quota's name, for
//   RESOURCE_EXHAUSTED with metadata "quota" (QuotaExceeded).
// The message (and each detail's text) is cut to kMaxErrorMessageBytes, a
// metadata value or field name to kMaxErrorMetadataBytes, so the whole status
// stays far below the 8 KiB of metadata default clients accept.
grpc::Status ToGrpcStatus(const absl::Status& status, absl::string_view domain);

inline constexpr size_t kMaxErrorMessageBytes = 1024;
inline constexpr size_t kMaxErrorMetadataBytes = 256;
// `text` cut to at most `max_bytes` at a UTF-8 boundary, with "... (N bytes)"
// appended when it was cut.
std::string TruncateForClient(absl::string_view text, size_t max_bytes);

// grpc::Status -> absl::Status, keeping the reason and metadata (ErrorInfo),
// the first field violation (BadRequest) and, when ErrorInfo did not name it,
// the quota (metadata "quota" from the first QuotaFailure violation).
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace dialgrid
