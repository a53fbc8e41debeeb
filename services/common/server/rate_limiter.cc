#include "services/common/server/rate_limiter.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"

namespace dialgrid {

TenantRateLimiter::TenantRateLimiter(LimitSource limit_source, const Clock& clock,
                                     absl::Duration refresh)
    : limit_source_(std::move(limit_source)), clock_(clock), refresh_(refresh) {}

absl::Status TenantRateLimiter::Admit(const CallContext& call) {
  const std::string& tenant = call.principal.tenant;
  if (tenant.empty()) return absl::OkStatus();  // vendor scope
  absl::Time now = clock_.Now();
  bool stale;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stale = now - buckets_[tenant].looked_up >= refresh_;
  }
  if (stale) {
    // Looked up outside the lock: it may be a Redis read or an RPC.
    absl::StatusOr<int64_t> limit = limit_source_(tenant);
    std::lock_guard<std::mutex> lock(mu_);
    Bucket& b = buckets_[tenant];
    b.looked_up = now;
    if (limit.ok() && *limit != b.limit) {
      b.limit = *limit;
      b.tokens = static_cast<double>(*limit);
      b.refilled = now;
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  Bucket& b = buckets_[tenant];
  if (b.limit <= 0) return absl::OkStatus();
  double cap = static_cast<double>(b.limit);
  b.tokens = std::min(cap, b.tokens + absl::ToDoubleSeconds(now - b.refilled) * cap);
  b.refilled = now;
  if (b.tokens < 1.0) {
    return QuotaExceeded("max_requests_per_second",
                         absl::StrCat("tenant \"", tenant, "\" is over its quota of ", b.limit,
                                      " requests per second; retry later"));
  }
  b.tokens -= 1.0;
  return absl::OkStatus();
}

}  // namespace dialgrid
