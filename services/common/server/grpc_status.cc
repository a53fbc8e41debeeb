#include "services/common/server/grpc_status.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "services/common/core/errors.h"

namespace dialgrid {

std::string TruncateForClient(absl::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  size_t cut = max_bytes;
  // Back up to the start of a UTF-8 sequence (continuation bytes are 10xxxxxx).
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return absl::StrCat(text.substr(0, cut), "... (", text.size(), " bytes)");
}

grpc::Status ToGrpcStatus(const absl::Status& status, absl::string_view domain) {
  if (status.ok()) return grpc::Status::OK;
  // Messages may quote the caller's input; the details travel in trailing
  // metadata, which default clients cap at 8 KiB. Bounded here, once, so no
  // echoed value can turn an INVALID_ARGUMENT into the client's
  // RESOURCE_EXHAUSTED.
  const std::string message = TruncateForClient(status.message(), kMaxErrorMessageBytes);
  google::rpc::Status rpc;
  rpc.set_code(static_cast<int>(status.code()));
  rpc.set_message(message);
  google::rpc::ErrorInfo info;
  std::string reason = ReasonOf(status);
  info.set_reason(reason.empty() ? absl::StatusCodeToString(status.code()) : reason);
  info.set_domain(std::string(domain));
  status.ForEachPayload([&](absl::string_view url, const absl::Cord& value) {
    if (absl::StartsWith(url, kMetadataPayloadPrefix)) {
      (*info.mutable_metadata())[std::string(url.substr(kMetadataPayloadPrefix.size()))] =
          TruncateForClient(std::string(value), kMaxErrorMetadataBytes);
    }
  });
  rpc.add_details()->PackFrom(info);
  std::string field = FieldOf(status);
  if (!field.empty()) {
    google::rpc::BadRequest bad;
    auto* v = bad.add_field_violations();
    v->set_field(TruncateForClient(field, kMaxErrorMetadataBytes));
    v->set_description(message);
    rpc.add_details()->PackFrom(bad);
  }
  // A quota that ran out is also a QuotaFailure, the detail standard clients
  // look for on RESOURCE_EXHAUSTED; its subject is the quota's name.
  auto quota = info.metadata().find("quota");
  if (status.code() == absl::StatusCode::kResourceExhausted && quota != info.metadata().end()) {
    google::rpc::QuotaFailure failure;
    auto* v = failure.add_violations();
    v->set_subject(quota->second);
    v->set_description(message);
    rpc.add_details()->PackFrom(failure);
  }
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), message,
                      rpc.SerializeAsString());
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  absl::Status out(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  google::rpc::Status rpc;
  if (!status.error_details().empty() && rpc.ParseFromString(status.error_details())) {
    for (const auto& any : rpc.details()) {
      google::rpc::ErrorInfo info;
      if (any.UnpackTo(&info)) {
        out = WithReason(out, info.reason());
        for (const auto& [k, v] : info.metadata()) out = WithMetadata(out, k, v);
      }
      google::rpc::BadRequest bad;
      if (any.UnpackTo(&bad) && bad.field_violations_size() > 0 && FieldOf(out).empty()) {
        out.SetPayload(kFieldPayload, absl::Cord(bad.field_violations(0).field()));
      }
      google::rpc::QuotaFailure quota;
      if (any.UnpackTo(&quota) && quota.violations_size() > 0 &&
          !out.GetPayload(absl::StrCat(kMetadataPayloadPrefix, "quota"))) {
        out = WithMetadata(out, "quota", quota.violations(0).subject());
      }
    }
  }
  return out;
}

}  // namespace dialgrid
