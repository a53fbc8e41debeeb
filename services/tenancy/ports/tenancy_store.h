#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "dialgrid/event/v1/envelope.pb.h"
#include "dialgrid/tenancy/v1/tenancy.pb.h"

namespace dialgrid::tenancy {

// A credential as stored: the public record and the hash of its secret.
struct StoredCredential {
  v1::Credential credential;
  std::string tenant;       // "" for vendor scope
  std::string secret_hash;  // SHA-256 hex
};

using Events = std::vector<event::v1::Envelope>;

struct Page {
  std::string after;  // exclusive lower bound id, "" for the first page
  int size = 50;
};

// Where tenants and credentials live. Every method is atomic on its own;
// NOT_FOUND / ALREADY_EXISTS / ABORTED (etag mismatch) carry reasons. A write
// stores the `events` describing it in the same atomic step (the tenant's
// outbox), so a change that is stored is a change that will be published.
class TenancyStore {
 public:
  virtual ~TenancyStore() = default;

  // ALREADY_EXISTS when the id is taken (nothing written). The tenant carries
  // its etag.
  virtual absl::Status CreateTenant(const v1::Tenant& tenant, const Events& events) = 0;
  virtual absl::StatusOr<v1::Tenant> GetTenant(absl::string_view tenant_id) = 0;
  // Ids in order; `next_after` is "" when there are no more.
  virtual absl::StatusOr<std::vector<v1::Tenant>> ListTenants(const Page& page,
                                                              std::string& next_after) = 0;
  // Replaces the tenant if its stored etag equals `expected_etag`; the new
  // record carries its new etag. ABORTED (ETAG_MISMATCH) otherwise.
  virtual absl::Status ReplaceTenant(const v1::Tenant& tenant, absl::string_view expected_etag,
                                     const Events& events) = 0;

  virtual absl::Status CreateCredential(const StoredCredential& credential,
                                        const Events& events) = 0;
  // By tenant ("" = vendor) and id.
  virtual absl::StatusOr<StoredCredential> GetCredential(absl::string_view tenant,
                                                         absl::string_view id) = 0;
  // By id alone (authentication); NOT_FOUND when unknown.
  virtual absl::StatusOr<StoredCredential> FindCredential(absl::string_view id) = 0;
  virtual absl::StatusOr<std::vector<v1::Credential>> ListCredentials(absl::string_view tenant,
                                                                      const Page& page,
                                                                      std::string& next_after) = 0;
  // Stores the revoked record (idempotent).
  virtual absl::Status UpdateCredential(const StoredCredential& credential,
                                        const Events& events) = 0;

  // For readiness.
  virtual absl::Status Ping() = 0;
};

}  // namespace dialgrid::tenancy
