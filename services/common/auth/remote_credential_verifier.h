#pragma once

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "dialgrid/tenancy/v1/tenancy.grpc.pb.h"
#include "services/common/auth/credential_verifier.h"
#include "services/common/client/peer_channel.h"

namespace dialgrid::auth {

// Asks the tenancy service (AuthenticateCredential) with this service's own
// platform credential. Wrap it in CachingCredentialVerifier.
class RemoteCredentialVerifier final : public CredentialVerifier {
 public:
  // Through the tenancy peer (its credential is this service's platform
  // secret; a call takes at most its max_timeout).
  explicit RemoteCredentialVerifier(std::shared_ptr<client::PeerChannel> tenancy);
  // The same over a plain channel: the platform secret and the timeout given.
  RemoteCredentialVerifier(std::shared_ptr<grpc::Channel> tenancy_channel,
                           std::string service_secret, absl::Duration timeout);
  absl::StatusOr<Principal> Verify(absl::string_view secret) override;

 private:
  client::PeerClient<tenancy::v1::TenancyService> tenancy_;
};

}  // namespace dialgrid::auth
