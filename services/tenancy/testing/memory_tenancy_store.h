#pragma once

// An in-memory TenancyStore for unit tests of the application layer (no
// Redis). It keeps the port's contract as the Redis adapter does: creates
// refuse taken ids and write nothing then, tenants are replaced only on their
// etag, request records are kept kRequestRetention by the injected clock with
// the create they belong to (a stored record replays, a CreateTenant request
// id claimed for another tenant is REQUEST_ID_REUSED), and every change's
// events are recorded in order (events()). Thread-safe.

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "services/common/core/clock.h"
#include "services/tenancy/ports/tenancy_store.h"

namespace dialgrid::tenancy::testing {

class MemoryTenancyStore final : public TenancyStore {
 public:
  explicit MemoryTenancyStore(const Clock& clock) : clock_(clock) {}

  absl::StatusOr<Created> CreateTenant(const v1::Tenant& tenant, const Events& events,
                                       const RequestRecord& request) override;
  absl::StatusOr<v1::Tenant> GetTenant(absl::string_view tenant_id) override;
  absl::StatusOr<std::vector<v1::Tenant>> ListTenants(const Page& page,
                                                      std::string& next_after) override;
  absl::Status ReplaceTenant(const v1::Tenant& tenant, absl::string_view expected_etag,
                             const Events& events) override;
  absl::StatusOr<Created> CreateCredential(const StoredCredential& credential, const Events& events,
                                           const RequestRecord& request) override;
  absl::StatusOr<std::string> GetCredentialRequest(absl::string_view tenant,
                                                   absl::string_view index) override;
  absl::StatusOr<StoredCredential> GetCredential(absl::string_view tenant,
                                                 absl::string_view id) override;
  absl::StatusOr<StoredCredential> FindCredential(absl::string_view id) override;
  absl::StatusOr<std::vector<v1::Credential>> ListCredentials(absl::string_view tenant,
                                                              const Page& page,
                                                              std::string& next_after) override;
  absl::Status UpdateCredential(const StoredCredential& credential, const Events& events) override;
  absl::Status Ping() override;

  // Every call fails with `status` while it is not OK (an unreachable Redis).
  void SetFailure(absl::Status status);
  // Events stored so far, in order, with the tenant whose outbox took them.
  std::vector<std::pair<std::string, event::v1::Envelope>> events() const;
  // Request records kept now (expired ones dropped), by "<tenant>/<index>"
  // ("/<index>" for vendor scope): what a dump of the store would show.
  std::map<std::string, std::string> requests() const;
  int credential_count() const;

 private:
  struct Kept {
    std::string value;
    absl::Time expires;
  };
  // Drops expired request records and claims; caller holds mu_.
  void Expire();
  void Record(const std::string& tenant, const Events& events);

  const Clock& clock_;
  mutable std::mutex mu_;
  absl::Status failure_;
  std::map<std::string, v1::Tenant> tenants_;                    // by id
  std::map<std::string, StoredCredential> credentials_;          // by id
  std::map<std::string, std::map<std::string, Kept>> requests_;  // scope -> index -> sealed
  std::map<std::string, Kept> tenant_claims_;                    // index -> tenant id
  std::vector<std::pair<std::string, event::v1::Envelope>> events_;
};

}  // namespace dialgrid::tenancy::testing
