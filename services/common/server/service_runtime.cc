#include "services/common/server/service_runtime.h"

#include "absl/strings/str_cat.h"
#include "prometheus/gauge.h"

#include "services/common/core/log.h"
#include "services/common/events/relay_metrics.h"
#include "services/common/server/redis_rate_budget.h"
#include "services/common/server/service_main.h"

namespace dialgrid {

absl::StatusOr<std::unique_ptr<ServiceRuntime>> ServiceRuntime::Create(ServiceRuntimeOptions options) {
  std::unique_ptr<ServiceRuntime> rt(new ServiceRuntime(std::move(options)));
  auto backends = ConnectBackends(rt->options_.backends);
  if (!backends.ok()) return backends.status();
  rt->backends_ = *std::move(backends);
  if (rt->options_.platform) {
    auto platform = PlatformClients::Create(*rt->options_.platform, SystemClock::Get());
    if (!platform.ok()) return platform.status();
    rt->platform_ = std::move(*platform);
  }
  auto host = ServiceHost::Create(rt->options_.host);
  if (!host.ok()) return host.status();
  rt->host_ = std::move(*host);
  rt->scheduler_ = std::make_unique<ThreadScheduler>();
  return rt;
}

ServiceRuntime::~ServiceRuntime() {
  // Run() stops everything in order; this covers a runtime that never ran.
  for (auto& c : consumers_) c->Stop();
  if (scheduler_) scheduler_->Stop();
  if (relay_) relay_->Stop(absl::ZeroDuration());
  if (platform_) platform_->Stop();
}

std::shared_ptr<events::RedisOutbox> ServiceRuntime::MakeOutbox(events::RedisOutboxOptions options) {
  if (options.stream.empty()) options.stream = options_.service;
  if (options.instance.empty()) options.instance = backends_.instance;
  return std::make_shared<events::RedisOutbox>(backends_.redis, std::move(options));
}

void ServiceRuntime::StartRelay(std::shared_ptr<events::EventOutbox> outbox,
                                events::OutboxRelayOptions options) {
  if (options.service.empty()) options.service = options_.service;
  events::InstrumentRelay(host_->registry(), options_.service, options);
  relay_ = std::make_unique<events::OutboxRelay>(std::move(outbox), backends_.producer,
                                                 std::move(options));
}

void ServiceRuntime::AddConsumer(std::unique_ptr<kafka::KafkaConsumer> consumer) {
  if (lag_family_ == nullptr) {
    lag_family_ = &prometheus::BuildGauge()
                       .Name(absl::StrCat("dialgrid_", options_.service, "_kafka_consumer_lag"))
                       .Help("Records of a topic this replica's consumer group has not handled "
                             "yet, on the partitions the replica holds (high watermark minus "
                             "position; measured every 5 s)")
                       .Register(host_->registry());
  }
  prometheus::Family<prometheus::Gauge>* family = lag_family_;
  consumer->SetLagObserver([family](const std::string& group, const std::string& topic,
                                    int64_t records) {
    family->Add({{"group", group}, {"topic", topic}}).Set(static_cast<double>(records));
  });
  consumers_.push_back(std::move(consumer));
}

void ServiceRuntime::AddStopStep(std::string name, std::function<void()> step) {
  stop_steps_.emplace_back(std::move(name), std::move(step));
}

RpcEnv& ServiceRuntime::Env(auth::CredentialVerifier* verifier,
                            TenantRateLimiter::LimitSource rate_quota) {
  if (!rate_quota && platform_) {
    rate_quota = platform_->QuotaLookup(&tenancy::v1::Quota::max_requests_per_second);
  }
  // The tenant's quota holds across this service's replicas (counted in
  // Redis per second, leased in small batches).
  rate_budget_ = std::make_unique<RedisRateBudget>(backends_.redis, options_.service);
  limiter_ = std::make_unique<TenantRateLimiter>(std::move(rate_quota), SystemClock::Get(),
                                                 absl::Seconds(5), rate_budget_.get());
  env_ = std::make_unique<RpcEnv>(RpcEnvFor(options_.service, verifier, *host_, limiter_.get()));
  return *env_;
}

void ServiceRuntime::AddService(grpc::Service* service, std::string full_name) {
  host_->AddService(service, std::move(full_name));
}

int ServiceRuntime::Run() {
  // The host runs stop steps last-added first, after draining gRPC and the
  // executor: register them in the reverse of the order they must run.
  RegisterBackends(*host_, backends_);  // Kafka flush (last)
  if (platform_) {
    host_->AddStopStep("platform clients", [p = platform_] { p->Stop(); });
  }
  if (relay_) {
    host_->AddStopStep("outbox relay", [this] { relay_->Stop(absl::Seconds(5)); });
  }
  for (auto& [name, step] : stop_steps_) host_->AddStopStep(name, step);
  host_->AddStopStep("periodic tasks", [this] { scheduler_->Stop(); });
  host_->AddStopStep("event consumers", [this] {
    for (auto& c : consumers_) c->Stop();
  });

  if (platform_) platform_->Start();
  if (relay_) relay_->Start();
  for (auto& c : consumers_) c->Start();
  return ServeUntilSignal(*host_);
}

}  // namespace dialgrid
