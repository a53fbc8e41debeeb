#pragma once

// Internal to services/common/redis: one hiredis connection as both the pool
// (Client) and a Subscriber open it.

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
absl::StatusOr<redisContext*> OpenConnection(const Options& options);

}  // namespace dialgrid::redis
