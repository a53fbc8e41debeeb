#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
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

// The request id of a create (AIP-155), as the store keeps it: written in the
// same atomic step as the create and kept kRequestRetention, so a retry finds
// it. The store never sees the request id itself, only what the application
// derived from it (see README "Request ids"):
struct RequestRecord {
  std::string index;   // names the record: a digest of the request id; "" = no request id
  std::string sealed;  // the create's answer, sealed by the application; opaque here
  bool present() const { return !index.empty(); }
};
inline constexpr absl::Duration kRequestRetention = absl::Hours(24);

// What a create did.
struct Created {
  // The request record was already stored: nothing was written, and `sealed`
  // holds the answer stored with it (the application opens it and compares
  // the request).
  bool replayed = false;
  std::string sealed;
};

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

  // ALREADY_EXISTS TENANT_EXISTS when the id is taken (nothing written). The
  // tenant carries its etag. With a request record: when a record of that
  // index is stored for this tenant, nothing is written and Created{replayed}
  // carries it; when the index was used in the last kRequestRetention to
  // create another tenant, ALREADY_EXISTS REQUEST_ID_REUSED (nothing written).
  virtual absl::StatusOr<Created> CreateTenant(const v1::Tenant& tenant, const Events& events,
                                               const RequestRecord& request) = 0;
  virtual absl::StatusOr<v1::Tenant> GetTenant(absl::string_view tenant_id) = 0;
  // Ids in order; `next_after` is "" when there are no more.
  virtual absl::StatusOr<std::vector<v1::Tenant>> ListTenants(const Page& page,
                                                              std::string& next_after) = 0;
  // Replaces the tenant if its stored etag equals `expected_etag`; the new
  // record carries its new etag. ABORTED (ETAG_MISMATCH) otherwise.
  virtual absl::Status ReplaceTenant(const v1::Tenant& tenant, absl::string_view expected_etag,
                                     const Events& events) = 0;

  // ALREADY_EXISTS CREDENTIAL_EXISTS when the id is taken. With a request
  // record: when a record of that index is stored in the credential's scope,
  // nothing is written and Created{replayed} carries it.
  virtual absl::StatusOr<Created> CreateCredential(const StoredCredential& credential,
                                                   const Events& events,
                                                   const RequestRecord& request) = 0;
  // The sealed answer of the request record `index` of a credential create in
  // the scope `tenant` ("" = vendor); NOT_FOUND when none is kept.
  virtual absl::StatusOr<std::string> GetCredentialRequest(absl::string_view tenant,
                                                           absl::string_view index) = 0;
  // By tenant ("" = vendor) and id.
  virtual absl::StatusOr<StoredCredential> GetCredential(absl::string_view tenant,
                                                         absl::string_view id) = 0;
  // By id alone (authentication); NOT_FOUND when unknown.
  virtual absl::StatusOr<StoredCredential> FindCredential(absl::string_view id) = 0;
  virtual absl::StatusOr<std::vector<v1::Credential>> ListCredentials(absl::string_view tenant,
                                                                      const Page& page,
                                                                      std::string& next_after) = 0;
  // Stores the revoked record (idempotent); NOT_FOUND when it does not exist.
  virtual absl::Status UpdateCredential(const StoredCredential& credential,
                                        const Events& events) = 0;

  // For readiness.
  virtual absl::Status Ping() = 0;
};

}  // namespace dialgrid::tenancy
