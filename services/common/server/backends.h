#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/kafka/kafka_producer.h"
#include "services/common/redis/redis_client.h"
#include "services/common/server/service_host.h"

namespace dialgrid {

// The stateful backends every service talks to.
struct BackendOptions {
  std::string service;          // e.g. "contacts"; names the Kafka client id
  std::string redis_address;    // host:port or unix:/path
  absl::Duration redis_command_timeout = absl::Seconds(2);
  // Connections to Redis: how many round trips may be in flight at once
  // (with AOF fsync always, each waits for an fsync).
  int redis_pool_size = 8;
  // Redis AUTH: a Redis 6+ ACL user (empty: the default user) and the file
  // whose first line is the password (empty: no AUTH). No TLS to Redis:
  // Debian's hiredis 0.14 has none.
  std::string redis_username;
  std::string redis_password_file;
  // The vendor's placement of tenants on Redis deployments of their own
  // (redis::ParsePlacement's file; empty: every tenant on redis_address).
  std::string redis_placement_file;
  std::string kafka_bootstrap;
  // How to log in to Kafka; its password is read from
  // kafka_sasl_password_file (security.password is not used here).
  kafka::SecurityOptions kafka_security;
  std::string kafka_sasl_password_file;
};

struct Backends {
  std::string instance;  // "<service>/<random>", the event producer name
  std::shared_ptr<redis::Client> redis;
  std::shared_ptr<kafka::KafkaProducer> producer;
};

// Reads the password files, checks the Kafka security settings, makes the
// credentials of both the process's defaults (redis::SetDefaultCredentials,
// kafka::SetDefaultSecurity: every later Redis connection and Kafka client
// uses them unless its options say otherwise), creates the Redis pool and
// the producer, and tries Redis once. Fails (INVALID_ARGUMENT for settings,
// UNAVAILABLE REDIS_AUTH_FAILED when Redis refuses the credentials or asks
// for some) so the service does not start; an unreachable Redis does not
// fail it (readiness reports it until Redis answers).
absl::StatusOr<Backends> ConnectBackends(const BackendOptions& options);

// The readiness check on Redis (services write through their outbox, so
// Kafka is not one), and the Kafka flush when draining.
void RegisterBackends(ServiceHost& host, const Backends& backends);

// The first line of a file, trimmed (secrets from mounted files).
absl::StatusOr<std::string> ReadSecretFile(const std::string& path);

}  // namespace dialgrid
