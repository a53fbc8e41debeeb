#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "dialgrid/tenancy/v1/tenancy.pb.h"
#include "services/common/auth/credential_verifier.h"
#include "services/common/auth/principal.h"
#include "services/common/core/clock.h"
#include "services/common/kafka/event_publisher.h"
#include "services/tenancy/ports/tenancy_store.h"

namespace dialgrid::tenancy {

// The tenancy service's logic between the gRPC handlers (which have already
// authenticated the caller and checked its tenant against the resource) and
// the store. Every change is stored with its event in one step (the outbox);
// a relay publishes the events on the "tenancy" topic. A create with a
// request_id stores its answer sealed with it (request_seal.h), so a retry
// gets the first answer (README "Request ids").
class TenancyManager final {
 public:
  TenancyManager(std::shared_ptr<TenancyStore> store, const Clock& clock,
                 std::string producer_name);

  absl::StatusOr<v1::Tenant> CreateTenant(const auth::Principal& caller,
                                          const v1::CreateTenantRequest& req);
  absl::StatusOr<v1::Tenant> GetTenant(const v1::GetTenantRequest& req);
  absl::StatusOr<v1::ListTenantsResponse> ListTenants(const v1::ListTenantsRequest& req);
  absl::StatusOr<v1::Tenant> UpdateTenant(const auth::Principal& caller,
                                          const v1::UpdateTenantRequest& req);
  absl::StatusOr<v1::Tenant> SuspendTenant(const auth::Principal& caller,
                                           const v1::SuspendTenantRequest& req);
  absl::StatusOr<v1::Tenant> ResumeTenant(const auth::Principal& caller,
                                          const v1::ResumeTenantRequest& req);

  absl::StatusOr<v1::CreateCredentialResponse> CreateCredential(
      const auth::Principal& caller, const v1::CreateCredentialRequest& req);
  absl::StatusOr<v1::Credential> GetCredential(const v1::GetCredentialRequest& req);
  absl::StatusOr<v1::ListCredentialsResponse> ListCredentials(
      const v1::ListCredentialsRequest& req);
  absl::StatusOr<v1::Credential> RevokeCredential(const auth::Principal& caller,
                                                  const v1::RevokeCredentialRequest& req);

  // Creates a vendor-scope credential for a secret an operator supplied (the
  // first vendor admin, the platform services' own credential). Does nothing
  // when the secret's credential already exists.
  absl::Status EnsureBootstrapCredential(absl::string_view secret, v1::Role role,
                                         absl::string_view display_name);

  // Resolves a secret against the store (tenancy's own verifier).
  absl::StatusOr<auth::Principal> Authenticate(absl::string_view secret);

 private:
  // The event of a change `caller` made, as the store keeps it (the
  // caller is its actor, for the audit log).
  Events Event(const auth::Principal& caller, absl::string_view tenant, absl::string_view subject,
               const google::protobuf::Message& payload) const;
  absl::StatusOr<v1::Tenant> SetState(const auth::Principal& caller, absl::string_view name,
                                      v1::Tenant::State state, absl::string_view reason);

  std::shared_ptr<TenancyStore> store_;
  const Clock& clock_;
  std::string producer_name_;
};

// CredentialVerifier backed directly by the manager (used inside tenancy).
class LocalCredentialVerifier final : public auth::CredentialVerifier {
 public:
  explicit LocalCredentialVerifier(TenancyManager& manager) : manager_(manager) {}
  absl::StatusOr<auth::Principal> Verify(absl::string_view secret) override {
    return manager_.Authenticate(secret);
  }

 private:
  TenancyManager& manager_;
};

}  // namespace dialgrid::tenancy
