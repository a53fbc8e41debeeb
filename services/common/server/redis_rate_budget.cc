#include "services/common/server/redis_rate_budget.h"

#include "absl/strings/str_cat.h"
#include "services/common/core/names.h"

namespace dialgrid {

absl::StatusOr<int64_t> RedisRateBudget::Take(const std::string& tenant, int64_t second,
                                              int64_t want, int64_t limit) {
  // Grants what is left of the second's limit, up to `want`, in one step.
  static const redis::Script* script = new redis::Script(R"lua(
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local left = tonumber(ARGV[2]) - used
if left <= 0 then return 0 end
local grant = math.min(tonumber(ARGV[1]), left)
redis.call('INCRBY', KEYS[1], grant)
redis.call('PEXPIRE', KEYS[1], 2000)
return grant
)lua");
  auto r = redis_->Eval(*script, {absl::StrCat(TenantHashTag(tenant), ":rate:", service_, ":", second)},
                        {absl::StrCat(want), absl::StrCat(limit)});
  if (!r.ok()) return r.status();
  return static_cast<int64_t>(r->integer);
}

}  // namespace dialgrid
