#pragma once

#include <atomic>
#include <memory>

#include "absl/status/statusor.h"
#include "dialgrid/event/v1/envelope.pb.h"
#include "dialgrid/tenancy/v1/tenancy.pb.h"
#include "services/common/core/clock.h"
#include "services/tenancy/ports/audit_store.h"

namespace dialgrid::tenancy {

// The audit log of admin changes: who changed which tenant, quota,
// credential, rule set, do-not-call list, consent record or registry. Fed
// from the `tenancy`, `compliance-changes` and `compliance-registries`
// topics: every event a credential
// caused (Envelope.actor set) becomes one record of its tenant's log (the
// vendor scope's for vendor-scope events); events the platform produced
// itself are not admin changes and are passed over.
class AuditLog {
 public:
  AuditLog(std::shared_ptr<AuditStore> store, const Clock& clock);

  // Records `event` (idempotent per event id). An error is retried by the
  // consumer: nothing is skipped.
  absl::Status Record(const event::v1::Envelope& event);
  // Records taken so far by this process (new ones, not repeats).
  int64_t recorded() const { return recorded_; }

  // ListAuditRecords; the caller's access to the parent is checked before.
  absl::StatusOr<v1::ListAuditRecordsResponse> List(const v1::ListAuditRecordsRequest& req);

 private:
  std::shared_ptr<AuditStore> store_;
  const Clock& clock_;
  std::atomic<int64_t> recorded_{0};
};

}  // namespace dialgrid::tenancy
