#pragma once

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace dialgrid {

// absl::Status -> grpc::Status. The details trailer carries an RpcStatus
// (wire-compatible with google.rpc.Status) holding an ErrorInfo with the
// reason (default: the code's name) and domain, and a BadRequest naming the
// field for INVALID_ARGUMENT.
grpc::Status ToGrpcStatus(const absl::Status& status, absl::string_view domain);

// grpc::Status -> absl::Status, keeping the reason, metadata and the first
// field violation from the details.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace dialgrid
