#pragma once

// The report counters in Redis (README "Redis keys"). Every key of a tenant
// starts with "<prefix>:{t:<tenant}>" (its hash tag): the prefix is the
// counters' generation, so a rebuild writes a new one beside the old.

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "services/common/redis/redis_client.h"
#include "services/reporting/ports/report_store.h"

namespace dialgrid::reporting {

struct RedisReportStoreOptions {
  // Key prefix (the generation), 1-32 characters of [a-z0-9-].
  std::string prefix = "rp1";
  // How long an event id's dedup mark and a call's markers are kept: longer
  // than the topics' retention, so a redelivery is always recognised.
  absl::Duration dedup_ttl = absl::Hours(24 * 14);
  // How long hour and day buckets (and settings records) are kept.
  absl::Duration bucket_ttl = absl::Hours(24 * 400);
};

class RedisReportStore final : public ReportStore {
 public:
  RedisReportStore(std::shared_ptr<redis::Client> redis, RedisReportStoreOptions options);

  absl::StatusOr<ApplyResult> Apply(const std::string& event_id, const EventPlan& plan) override;
  absl::StatusOr<std::vector<Counters>> ReadSpans(const std::string& tenant,
                                                  const std::vector<DaySpan>& spans) override;
  absl::StatusOr<std::map<std::string, std::string>> ReadRecord(const std::string& tenant,
                                                                const std::string& key) override;
  absl::StatusOr<std::vector<std::string>> Agents(const std::string& tenant) override;
  absl::StatusOr<int64_t> StorageBefore(const std::string& tenant, int64_t end_hour) override;

 private:
  std::string Base(const std::string& tenant) const;

  std::shared_ptr<redis::Client> redis_;
  RedisReportStoreOptions options_;
};

}  // namespace dialgrid::reporting
