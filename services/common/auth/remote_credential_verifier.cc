#include "services/common/auth/remote_credential_verifier.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/core/errors.h"

namespace dialgrid::auth {
namespace {

client::PeerOptions TenancyPeer(std::string service_secret, absl::Duration timeout) {
  client::PeerOptions o;
  o.name = "tenancy";
  o.credential = std::move(service_secret);
  o.max_timeout = timeout;
  return o;
}

}  // namespace

RemoteCredentialVerifier::RemoteCredentialVerifier(std::shared_ptr<client::PeerChannel> tenancy)
    : tenancy_(std::move(tenancy)) {}

RemoteCredentialVerifier::RemoteCredentialVerifier(std::shared_ptr<grpc::Channel> tenancy_channel,
                                                   std::string service_secret,
                                                   absl::Duration timeout)
    : RemoteCredentialVerifier(client::PeerChannel::Wrap(
          std::move(tenancy_channel), TenancyPeer(std::move(service_secret), timeout))) {}

absl::StatusOr<Principal> RemoteCredentialVerifier::Verify(absl::string_view secret) {
  tenancy::v1::AuthenticateCredentialRequest req;
  req.set_secret(std::string(secret));
  // Outside of any incoming call's deadline (the verifier's interface has
  // none): the peer's max_timeout.
  auto resp = tenancy_.Call(&tenancy::v1::TenancyService::Stub::AuthenticateCredential, req);
  if (!resp.ok()) {
    const absl::Status& s = resp.status();
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
  p.credential = resp->credential();
  p.tenant = resp->tenant();
  for (int r : resp->roles()) p.roles.push_back(static_cast<Role>(r));
  p.agent = resp->agent();
  if (resp->has_expire_time()) {
    p.expire_time = absl::FromUnixNanos(
        google::protobuf::util::TimeUtil::TimestampToNanoseconds(resp->expire_time()));
  }
  return p;
}

}  // namespace dialgrid::auth
