#include "services/common/auth/tenancy_events.h"

#include "dialgrid/tenancy/v1/tenancy.pb.h"

namespace dialgrid::auth {

absl::Status ApplyTenancyEvent(const event::v1::Envelope& event,
                               CachingCredentialVerifier& cache) {
  tenancy::v1::CredentialRevoked revoked;
  tenancy::v1::TenantSuspended suspended;
  tenancy::v1::TenantResumed resumed;
  if (event.payload().UnpackTo(&revoked)) {
    cache.InvalidateCredential(revoked.credential().name());
  } else if (event.payload().UnpackTo(&suspended) || event.payload().UnpackTo(&resumed)) {
    cache.InvalidateTenant(event.tenant());
  }
  return absl::OkStatus();
}

}  // namespace dialgrid::auth
