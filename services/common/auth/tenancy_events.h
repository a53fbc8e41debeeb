#pragma once

#include "absl/status/status.h"
#include "dialgrid/event/v1/envelope.pb.h"
#include "services/common/auth/credential_verifier.h"

namespace dialgrid::auth {

// Kafka topic the tenancy service publishes on.
inline constexpr char kTenancyTopic[] = "tenancy";

// Applies a tenancy event to a credential cache: a revoked credential, a
// suspended or resumed tenant drop their cached answers at once. Other
// events are ignored. Idempotent.
absl::Status ApplyTenancyEvent(const event::v1::Envelope& event,
                               CachingCredentialVerifier& cache);

}  // namespace dialgrid::auth
