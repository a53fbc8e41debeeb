#include "services/common/server/backends.h"

#include <fstream>
#include <iterator>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"
#include "services/common/core/log.h"
#include "services/common/core/random.h"

namespace dialgrid {

namespace {

absl::StatusOr<redis::Credentials> RedisCredentials(const BackendOptions& options) {
  redis::Credentials credentials;
  if (options.redis_password_file.empty()) {
    if (!options.redis_username.empty()) {
      return InvalidField("redis_password_file", "INVALID_REDIS_AUTH",
                          "a Redis username needs its password (--redis_password_file)");
    }
    return credentials;
  }
  auto password = ReadSecretFile(options.redis_password_file);
  if (!password.ok()) return password.status();
  credentials.username = options.redis_username;
  credentials.password = *std::move(password);
  return credentials;
}

absl::StatusOr<kafka::SecurityOptions> KafkaSecurity(const BackendOptions& options) {
  kafka::SecurityOptions security = options.kafka_security;
  security.password.clear();
  if (!options.kafka_sasl_password_file.empty()) {
    auto password = ReadSecretFile(options.kafka_sasl_password_file);
    if (!password.ok()) return password.status();
    security.password = *std::move(password);
  }
  absl::Status st = kafka::ValidateSecurity(security);
  if (!st.ok()) return st;
  return security;
}

}  // namespace

absl::StatusOr<Backends> ConnectBackends(const BackendOptions& options) {
  Backends b;
  b.instance = absl::StrCat(options.service, "/", RandomHex(3));
  auto credentials = RedisCredentials(options);
  if (!credentials.ok()) return credentials.status();
  auto security = KafkaSecurity(options);
  if (!security.ok()) return security.status();
  redis::SetDefaultCredentials(*credentials);
  kafka::SetDefaultSecurity(*security);

  redis::Options redis_options;
  redis_options.command_timeout = options.redis_command_timeout;
  redis_options.pool_size = options.redis_pool_size;
  redis_options.credentials = *credentials;
  absl::Status st = redis::ParseAddress(options.redis_address, redis_options);
  if (!st.ok()) return st;
  redis::Placement placement;
  if (!options.redis_placement_file.empty()) {
    std::ifstream in(options.redis_placement_file);
    if (!in) {
      return InvalidField("redis_placement_file", "INVALID_REDIS_PLACEMENT",
                          absl::StrCat("cannot read ", options.redis_placement_file));
    }
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto parsed = redis::ParsePlacement(text, redis_options);
    if (!parsed.ok()) return parsed.status();
    placement = *std::move(parsed);
    Log(LogLevel::kInfo, options.service, "tenants placed on Redis deployments of their own",
        {{"tenants", absl::StrCat(placement.tenants.size())}});
  }
  auto redis_client = redis::Client::Create(redis_options, placement);
  if (!redis_client.ok()) return redis_client.status();
  b.redis = std::move(*redis_client);
  // Wrong or missing credentials never heal by waiting: refuse to start.
  // Redis merely down is what readiness is for.
  st = b.redis->Ping();
  if (!st.ok() && ReasonOf(st) == "REDIS_AUTH_FAILED") {
    return Unavailable("REDIS_AUTH_FAILED", absl::StrCat(st.message(),
                                                         " (check --redis_username and "
                                                         "--redis_password_file against ",
                                                         options.redis_address, ")"));
  }
  if (!st.ok()) {
    Log(LogLevel::kWarning, options.service, "redis not reachable at start; not ready until it is",
        {{"error", st.ToString()}});
  }
  kafka::ProducerOptions producer_options;
  producer_options.bootstrap_servers = options.kafka_bootstrap;
  producer_options.client_id = b.instance;
  producer_options.security = *security;
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
