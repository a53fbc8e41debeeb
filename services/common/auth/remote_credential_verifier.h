#pragma once

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "dialgrid/tenancy/v1/tenancy.grpc.pb.h"
#include "services/common/auth/credential_verifier.h"

namespace dialgrid::auth {

// Asks the tenancy service (AuthenticateCredential) with this service's own
// platform credential. Wrap it in CachingCredentialVerifier.
class RemoteCredentialVerifier final : public CredentialVerifier {
 public:
  RemoteCredentialVerifier(std::shared_ptr<grpc::Channel> tenancy_channel,
                           std::string service_secret, absl::Duration timeout);
  absl::StatusOr<Principal> Verify(absl::string_view secret) override;

 private:
  std::unique_ptr<tenancy::v1::TenancyService::Stub> stub_;
  std::string service_secret_;
  absl::Duration timeout_;
};

}  // namespace dialgrid::auth
