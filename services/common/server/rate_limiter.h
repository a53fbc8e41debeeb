#pragma once

#include <functional>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/core/clock.h"
#include "services/common/server/rpc.h"

namespace dialgrid {

// Enforces each tenant's quota.max_requests_per_second on this replica with a
// token bucket (burst = one second's worth). Vendor-scope callers are not
// limited; a limit of 0 means "not limited". The limit is looked up through
// `limit_source` and reused for `refresh` so the hot path stays in memory;
// when the lookup fails the last known limit applies (or none, at first).
class TenantRateLimiter final : public Admission {
 public:
  using LimitSource = std::function<absl::StatusOr<int64_t>(const std::string& tenant)>;

  TenantRateLimiter(LimitSource limit_source, const Clock& clock,
                    absl::Duration refresh = absl::Seconds(5));
  absl::Status Admit(const CallContext& call) override;

 private:
  struct Bucket {
    int64_t limit = 0;
    double tokens = 0;
    absl::Time refilled;
    absl::Time looked_up = absl::InfinitePast();
  };
  LimitSource limit_source_;
  const Clock& clock_;
  absl::Duration refresh_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_;
};

}  // namespace dialgrid
