#pragma once

// A RateBudget in Redis: each tenant's requests of one second to one service
// counted in one key of the tenant's slot, shared by every replica.

#include <memory>
#include <string>

#include "services/common/redis/redis_client.h"
#include "services/common/server/rate_limiter.h"

namespace dialgrid {

class RedisRateBudget final : public RateBudget {
 public:
  // `service`: whose requests (each service's quota is counted apart).
  RedisRateBudget(std::shared_ptr<redis::Client> redis, std::string service)
      : redis_(std::move(redis)), service_(std::move(service)) {}

  // `{t:<tenant>}:rate:<service>:<second>`, kept 2 s.
  absl::StatusOr<int64_t> Take(const std::string& tenant, int64_t second, int64_t want,
                               int64_t limit) override;

 private:
  std::shared_ptr<redis::Client> redis_;
  std::string service_;
};

}  // namespace dialgrid
