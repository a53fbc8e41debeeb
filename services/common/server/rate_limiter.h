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

// Where the replicas of a service draw a tenant's requests of one second
// from, so that its quota holds across them (RedisRateBudget).
class RateBudget {
 public:
  virtual ~RateBudget() = default;
  // Takes up to `want` of the `limit` requests `tenant` may make in the
  // second starting at Unix second `second`: how many were granted (0 when
  // the others took them all).
  virtual absl::StatusOr<int64_t> Take(const std::string& tenant, int64_t second, int64_t want,
                                       int64_t limit) = 0;
};

// Enforces each tenant's quota.max_requests_per_second. Vendor-scope callers
// are not limited; a limit of 0 means "not limited". The limit is looked up
// through `limit_source` and reused for `refresh` so the hot path stays in
// memory; when the lookup fails the last known limit applies (or none, at
// first).
//
// With a `budget`, across every replica: each second's requests are drawn
// from the budget in small leases (a fiftieth of the limit, 1 to 100) kept in
// memory, so the replicas together admit at most the limit in any calendar
// second and the shared store is asked a few dozen times a second at most; a
// lease a replica does not use within its second is lost to the others (the
// cost of not asking per request). When the budget cannot be reached the
// replica falls back to a token bucket of its own (burst = one second's
// worth) until it can: a rate limit protects capacity and never decides
// legality, so an outage of the store does not stop the tenant's calls.
// Without a budget, that token bucket per replica is all there is.
class TenantRateLimiter final : public Admission {
 public:
  using LimitSource = std::function<absl::StatusOr<int64_t>(const std::string& tenant)>;

  TenantRateLimiter(LimitSource limit_source, const Clock& clock,
                    absl::Duration refresh = absl::Seconds(5), RateBudget* budget = nullptr);
  absl::Status Admit(const CallContext& call) override;

  // A lease's size for a limit.
  static int64_t LeaseSize(int64_t limit);

 private:
  struct Bucket {
    int64_t limit = 0;
    double tokens = 0;
    absl::Time refilled;
    absl::Time looked_up = absl::InfinitePast();
    int64_t second = 0;  // of the leased requests
    int64_t leased = 0;  // left of them
  };
  absl::Status OverQuota(const std::string& tenant, int64_t limit) const;
  // The local token bucket (no budget, or the budget unreachable).
  absl::Status AdmitLocally(Bucket& b, const std::string& tenant, absl::Time now);

  LimitSource limit_source_;
  const Clock& clock_;
  absl::Duration refresh_;
  RateBudget* budget_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_;
};

}  // namespace dialgrid
