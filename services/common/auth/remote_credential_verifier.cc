#include "services/common/auth/remote_credential_verifier.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/core/errors.h"
#include "services/common/server/grpc_status.h"

namespace dialgrid::auth {

RemoteCredentialVerifier::RemoteCredentialVerifier(std::shared_ptr<grpc::Channel> tenancy_channel,
                                                   std::string service_secret,
                                                   absl::Duration timeout)
    : stub_(tenancy::v1::TenancyService::NewStub(tenancy_channel)),
      service_secret_(std::move(service_secret)),
      timeout_(timeout) {}

absl::StatusOr<Principal> RemoteCredentialVerifier::Verify(absl::string_view secret) {
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
  ctx.AddMetadata("authorization", absl::StrCat("Bearer ", service_secret_));
  tenancy::v1::AuthenticateCredentialRequest req;
  req.set_secret(std::string(secret));
  tenancy::v1::AuthenticateCredentialResponse resp;
  grpc::Status st = stub_->AuthenticateCredential(&ctx, req, &resp);
  if (!st.ok()) {
    absl::Status s = FromGrpcStatus(st);
    // Only verdicts about the presented secret pass through (tenancy marks
    // them with metadata subject=secret); anything else (tenancy down, our
    // own platform credential refused) means "cannot answer now".
    auto subject = s.GetPayload(absl::StrCat(kMetadataPayloadPrefix, "subject"));
    if ((absl::IsUnauthenticated(s) || absl::IsPermissionDenied(s)) && subject.has_value() &&
        *subject == "secret") {
      return WithReason(absl::Status(s.code(), s.message()), ReasonOf(s));
    }
    return Unavailable("AUTH_UNAVAILABLE",
                       absl::StrCat("cannot verify credentials now: ", s.message()));
  }
  Principal p;
  p.credential = resp.credential();
  p.tenant = resp.tenant();
  for (int r : resp.roles()) p.roles.push_back(static_cast<Role>(r));
  if (resp.has_expire_time()) {
    p.expire_time = absl::FromUnixNanos(
        google::protobuf::util::TimeUtil::TimestampToNanoseconds(resp.expire_time()));
  }
  return p;
}

}  // namespace dialgrid::auth
