#pragma once

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace dialgrid {

// absl::Status -> grpc::Status. The details trailer carries an RpcStatus
// (wire-compatible with google.rpc.Status) holding an ErrorInfo with the
// reason (default: the code's name) and domain, and a BadRequest naming the
// field for INVALID_ARGUMENT.
// The message (and each detail's text) is cut to kMaxErrorMessageBytes, a
// metadata value or field name to kMaxErrorMetadataBytes, so the whole status
// stays far below the 8 KiB of metadata default clients accept.
grpc::Status ToGrpcStatus(const absl::Status& status, absl::string_view domain);

inline constexpr size_t kMaxErrorMessageBytes = 1024;
inline constexpr size_t kMaxErrorMetadataBytes = 256;
// `text` cut to at most `max_bytes` at a UTF-8 boundary, with "... (N bytes)"
// appended when it was cut.
std::string TruncateForClient(absl::string_view text, size_t max_bytes);

// grpc::Status -> absl::Status, keeping the reason, metadata and the first
// field violation from the details.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace dialgrid
