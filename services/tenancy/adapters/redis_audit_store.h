#pragma once

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "services/common/redis/redis_client.h"
#include "services/tenancy/ports/audit_store.h"

namespace dialgrid::tenancy {

struct RedisAuditStoreOptions {
  // How long an appended event id is remembered (longer than the topics'
  // retention, so a replay from the start appends nothing twice).
  absl::Duration dedup_ttl = absl::Hours(24 * 14);
  // Records older than this (by Redis' clock, as the stream ids) are
  // trimmed when new ones are appended.
  absl::Duration retention = absl::Hours(24 * 400);
};

// The audit log in Redis: a stream per scope, "<tag>:audit" (the tenant's
// hash tag, so a tenant placed on its own Redis keeps its log there), and
// "<tag>:audit-seen:<event id>" markers.
class RedisAuditStore final : public AuditStore {
 public:
  explicit RedisAuditStore(std::shared_ptr<redis::Client> redis,
                           RedisAuditStoreOptions options = {});
  absl::StatusOr<bool> Append(const v1::AuditRecord& record) override;
  absl::StatusOr<AuditPage> Scan(const AuditScan& scan) override;
  bool ValidPosition(const std::string& position) const override;

 private:
  std::shared_ptr<redis::Client> redis_;
  RedisAuditStoreOptions options_;
};

}  // namespace dialgrid::tenancy
