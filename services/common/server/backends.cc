#include "services/common/server/backends.h"

#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"
#include "services/common/core/log.h"
#include "services/common/core/random.h"

namespace dialgrid {

absl::StatusOr<Backends> ConnectBackends(const BackendOptions& options) {
  Backends b;
  b.instance = absl::StrCat(options.service, "/", RandomHex(3));
  redis::Options redis_options;
  redis_options.command_timeout = options.redis_command_timeout;
  redis_options.pool_size = options.redis_pool_size;
  absl::Status st = redis::ParseAddress(options.redis_address, redis_options);
  if (!st.ok()) return st;
  auto redis_client = redis::Client::Create(redis_options);
  if (!redis_client.ok()) return redis_client.status();
  b.redis = std::move(*redis_client);
  kafka::ProducerOptions producer_options;
  producer_options.bootstrap_servers = options.kafka_bootstrap;
  producer_options.client_id = b.instance;
  auto producer = kafka::KafkaProducer::Create(producer_options);
  if (!producer.ok()) return producer.status();
  b.producer = std::move(*producer);
  return b;
}

void RegisterBackends(ServiceHost& host, const Backends& backends) {
  auto redis = backends.redis;
  auto producer = backends.producer;
  std::string instance = backends.instance;
  // Ready = can do its job. Every write goes through the tenant's outbox in
  // Redis, so a Kafka outage delays events but stops no call: Kafka is not a
  // readiness condition (under Kubernetes it would take every replica out of
  // service at once). Its trouble shows in the relay's error counter.
  host.AddReadinessCheck("redis", [redis] { return redis->Ping(); });
  host.AddStopStep("kafka flush", [producer, instance] {
    absl::Status st = producer->Flush(absl::Seconds(5));
    if (!st.ok()) Log(LogLevel::kWarning, instance, "kafka flush", {{"error", st.ToString()}});
  });
}

absl::StatusOr<std::string> ReadSecretFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return InvalidField("secret_file", "UNREADABLE_FILE", absl::StrCat("cannot read ", path));
  std::string line;
  std::getline(in, line);
  std::string secret(absl::StripAsciiWhitespace(line));
  if (secret.empty()) return InvalidField("secret_file", "EMPTY_FILE", absl::StrCat(path, " is empty"));
  return secret;
}

}  // namespace dialgrid
