#pragma once

// What a service process is made of, assembled once: the gRPC host (health,
// metrics, admin port, executor), Redis and the Kafka producer, the platform
// clients (credential verifier and tenant directory from tenancy, for every
// service but tenancy), a scheduler for periodic work, the outbox relay and
// the event consumers, and the order they stop in. A service's main.cc reads
// its flags, builds its store and logic, registers them here and calls Run():
//
//   auto rt = ServiceRuntime::Create(RuntimeOptionsFromFlags("foo"));   // +platform
//   auto outbox = rt->MakeOutbox({...});
//   FooManager manager(std::make_shared<RedisFooStore>(rt->redis(), outbox), ...);
//   rt->StartRelay(outbox, relay_options);
//   FooServiceImpl service(rt->Env(&rt->platform().verifier()), manager);
//   rt->AddService(&service, "dialgrid.foo.v1.FooService");
//   return rt->Run();
//
// Run() serves until SIGTERM/SIGINT, then stops in this order (nothing stops
// before what depends on it): not ready and gRPC drained (in-flight calls
// finish) and the executor drained; event consumers; periodic tasks; the
// service's own stop steps (AddStopStep, last added first); the outbox relay
// (publishing what is pending, up to 5 s); the platform clients; the Kafka
// producer flushed; Redis closed; the admin port.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "services/common/core/scheduler.h"
#include "services/common/events/outbox_relay.h"
#include "services/common/events/redis_outbox.h"
#include "services/common/kafka/kafka_consumer.h"
#include "services/common/platform/platform_clients.h"
#include "services/common/server/backends.h"
#include "services/common/server/rate_limiter.h"
#include "services/common/server/rpc.h"
#include "services/common/server/service_host.h"

namespace dialgrid {

struct ServiceRuntimeOptions {
  std::string service;  // "contacts": metric and log prefix, Kafka client id
  ServiceHostOptions host;
  BackendOptions backends;
  // Every service but tenancy: how to reach tenancy.
  std::optional<PlatformClientsOptions> platform;
};

class ServiceRuntime {
 public:
  // Connects Redis and Kafka, creates the platform clients (if asked) and the
  // host. Nothing serves until Run().
  static absl::StatusOr<std::unique_ptr<ServiceRuntime>> Create(ServiceRuntimeOptions options);
  ~ServiceRuntime();

  const std::string& service() const { return options_.service; }
  const ServiceRuntimeOptions& options() const { return options_; }
  ServiceHost& host() { return *host_; }
  prometheus::Registry& metrics() { return host_->registry(); }
  const Backends& backends() const { return backends_; }
  std::shared_ptr<redis::Client> redis() const { return backends_.redis; }
  // The producer name for events ("<service>/<random>").
  const std::string& instance() const { return backends_.instance; }
  // Only with ServiceRuntimeOptions::platform.
  PlatformClients& platform() { return *platform_; }
  std::shared_ptr<PlatformClients> shared_platform() { return platform_; }
  // Runs periodic work on a thread of its own; stopped after the consumers.
  Scheduler& scheduler() { return *scheduler_; }

  // The service's outbox (stream = the service name unless set).
  std::shared_ptr<events::RedisOutbox> MakeOutbox(events::RedisOutboxOptions options);
  // Relays `outbox` to Kafka from Run() on (metrics dialgrid_<service>_outbox_*).
  void StartRelay(std::shared_ptr<events::EventOutbox> outbox, events::OutboxRelayOptions options);
  // Starts with Run(), stops first.
  void AddConsumer(std::unique_ptr<kafka::KafkaConsumer> consumer);
  // Runs at shutdown after the consumers and periodic tasks, before the relay.
  void AddStopStep(std::string name, std::function<void()> step);

  // The per-RPC environment: `verifier` authenticates callers; the tenants'
  // max_requests_per_second quota comes from `rate_quota` (default: the
  // platform's tenant directory). The returned env lives as long as this.
  RpcEnv& Env(auth::CredentialVerifier* verifier, TenantRateLimiter::LimitSource rate_quota = nullptr);
  void AddService(grpc::Service* service, std::string full_name);

  // Serves until SIGTERM or SIGINT, then stops as described above. The
  // process's exit code.
  int Run();

 private:
  explicit ServiceRuntime(ServiceRuntimeOptions options) : options_(std::move(options)) {}

  ServiceRuntimeOptions options_;
  Backends backends_;
  std::shared_ptr<PlatformClients> platform_;
  std::unique_ptr<ServiceHost> host_;
  std::unique_ptr<ThreadScheduler> scheduler_;
  std::unique_ptr<events::OutboxRelay> relay_;
  std::vector<std::unique_ptr<kafka::KafkaConsumer>> consumers_;
  // dialgrid_<service>_kafka_consumer_lag{group, topic}, made with the first consumer.
  prometheus::Family<prometheus::Gauge>* lag_family_ = nullptr;
  std::vector<std::pair<std::string, std::function<void()>>> stop_steps_;
  std::unique_ptr<RateBudget> rate_budget_;
  std::unique_ptr<TenantRateLimiter> limiter_;
  std::unique_ptr<RpcEnv> env_;
};

}  // namespace dialgrid
