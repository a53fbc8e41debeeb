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
  std::string kafka_bootstrap;
};

struct Backends {
  std::string instance;  // "<service>/<random>", the event producer name
  std::shared_ptr<redis::Client> redis;
  std::shared_ptr<kafka::KafkaProducer> producer;
};

absl::StatusOr<Backends> ConnectBackends(const BackendOptions& options);

// The readiness check on Redis (services write through their outbox, so
// Kafka is not one), and the Kafka flush when draining.
void RegisterBackends(ServiceHost& host, const Backends& backends);

// The first line of a file, trimmed (secrets from mounted files).
absl::StatusOr<std::string> ReadSecretFile(const std::string& path);

}  // namespace dialgrid
