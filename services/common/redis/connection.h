#pragma once

// Internal to services/common/redis: one hiredis connection as both the pool
// (Client) and a Subscriber open it.

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "services/common/redis/redis_client.h"

struct redisContext;

namespace dialgrid::redis {

// Connects with options' connect timeout, sets the command timeout and TCP
// keep-alive, and logs in (AUTH) with options' credentials (else the process
// default). UNAVAILABLE REDIS_UNAVAILABLE when Redis cannot be reached,
// UNAVAILABLE REDIS_AUTH_FAILED when it refuses the credentials; the message
// carries Redis' own error, never the password. The caller owns the context
// (redisFree).
// With options.sentinels, the master the Sentinels name (ResolveMaster),
// checked with ROLE (UNAVAILABLE REDIS_NOT_MASTER).
absl::StatusOr<redisContext*> OpenConnection(const Options& options);

// Sentinel: the first answer of options.sentinels, in order, to SENTINEL
// get-master-addr-by-name; UNAVAILABLE REDIS_SENTINEL_UNAVAILABLE when none
// names one.
absl::StatusOr<std::pair<std::string, int>> ResolveMaster(const Options& options);
// A connection to `master` (from ResolveMaster), checked with ROLE.
absl::StatusOr<redisContext*> OpenMaster(const Options& options,
                                         const std::pair<std::string, int>& master);

}  // namespace dialgrid::redis
