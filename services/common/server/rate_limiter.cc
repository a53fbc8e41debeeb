#include "services/common/server/rate_limiter.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"

namespace dialgrid {

TenantRateLimiter::TenantRateLimiter(LimitSource limit_source, const Clock& clock,
                                     absl::Duration refresh, RateBudget* budget)
    : limit_source_(std::move(limit_source)), clock_(clock), refresh_(refresh), budget_(budget) {}

int64_t TenantRateLimiter::LeaseSize(int64_t limit) {
  return std::clamp<int64_t>(limit / 50, 1, 100);
}

absl::Status TenantRateLimiter::OverQuota(const std::string& tenant, int64_t limit) const {
  return QuotaExceeded("max_requests_per_second",
                       absl::StrCat("tenant \"", tenant, "\" is over its quota of ", limit,
                                    " requests per second; retry later"));
}

absl::Status TenantRateLimiter::AdmitLocally(Bucket& b, const std::string& tenant,
                                             absl::Time now) {
  double cap = static_cast<double>(b.limit);
  b.tokens = std::min(cap, b.tokens + absl::ToDoubleSeconds(now - b.refilled) * cap);
  b.refilled = now;
  if (b.tokens < 1.0) return OverQuota(tenant, b.limit);
  b.tokens -= 1.0;
  return absl::OkStatus();
}

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
  const int64_t second = absl::ToUnixSeconds(now);
  int64_t limit;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Bucket& b = buckets_[tenant];
    if (b.limit <= 0) return absl::OkStatus();
    if (budget_ == nullptr) return AdmitLocally(b, tenant, now);
    if (b.second != second) {
      b.second = second;
      b.leased = 0;
    }
    if (b.leased > 0) {
      --b.leased;
      return absl::OkStatus();
    }
    limit = b.limit;
  }
  // A new lease, asked outside the lock (a round trip to the shared store).
  absl::StatusOr<int64_t> granted = budget_->Take(tenant, second, LeaseSize(limit), limit);
  std::lock_guard<std::mutex> lock(mu_);
  Bucket& b = buckets_[tenant];
  if (!granted.ok()) return AdmitLocally(b, tenant, now);
  if (b.second != second) {
    b.second = second;
    b.leased = 0;
  }
  b.leased += *granted;
  if (b.leased <= 0) return OverQuota(tenant, limit);
  --b.leased;
  return absl::OkStatus();
}

}  // namespace dialgrid
