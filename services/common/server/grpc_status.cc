#include "services/common/server/grpc_status.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "dialgrid/type/v1/error.pb.h"
#include "services/common/core/errors.h"

namespace dialgrid {

grpc::Status ToGrpcStatus(const absl::Status& status, absl::string_view domain) {
  if (status.ok()) return grpc::Status::OK;
  type::v1::RpcStatus rpc;
  rpc.set_code(static_cast<int>(status.code()));
  rpc.set_message(std::string(status.message()));
  type::v1::ErrorInfo info;
  std::string reason = ReasonOf(status);
  info.set_reason(reason.empty() ? absl::StatusCodeToString(status.code()) : reason);
  info.set_domain(std::string(domain));
  status.ForEachPayload([&](absl::string_view url, const absl::Cord& value) {
    if (absl::StartsWith(url, kMetadataPayloadPrefix)) {
      (*info.mutable_metadata())[std::string(url.substr(kMetadataPayloadPrefix.size()))] =
          std::string(value);
    }
  });
  rpc.add_details()->PackFrom(info);
  std::string field = FieldOf(status);
  if (!field.empty()) {
    type::v1::BadRequest bad;
    auto* v = bad.add_field_violations();
    v->set_field(field);
    v->set_description(std::string(status.message()));
    rpc.add_details()->PackFrom(bad);
  }
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()),
                      rpc.SerializeAsString());
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  absl::Status out(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  type::v1::RpcStatus rpc;
  if (!status.error_details().empty() && rpc.ParseFromString(status.error_details())) {
    for (const auto& any : rpc.details()) {
      type::v1::ErrorInfo info;
      if (any.UnpackTo(&info)) {
        out = WithReason(out, info.reason());
        for (const auto& [k, v] : info.metadata()) out = WithMetadata(out, k, v);
      }
      type::v1::BadRequest bad;
      if (any.UnpackTo(&bad) && bad.field_violations_size() > 0 && FieldOf(out).empty()) {
        out.SetPayload(kFieldPayload, absl::Cord(bad.field_violations(0).field()));
      }
    }
  }
  return out;
}

}  // namespace dialgrid
