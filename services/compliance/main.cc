// dialgrid-compliance: flags -> config, wiring, run, drain, stop.
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "prometheus/counter.h"
#include "services/common/core/env.h"
#include "services/common/core/log.h"
#include "services/common/kafka/kafka_consumer.h"
#include "services/common/kafka/kafka_producer.h"
#include "services/common/platform/platform_clients.h"
#include "services/common/redis/redis_client.h"
#include "services/common/server/backends.h"
#include "services/common/server/rate_limiter.h"
#include "services/common/server/service_host.h"
#include "services/compliance/adapters/redis_compliance_store.h"
#include "services/compliance/compliance_manager.h"
#include "services/compliance/outbox_relay.h"
#include "services/compliance/server/compliance_service.h"

ABSL_FLAG(std::string, listen, dialgrid::EnvOr("DIALGRID_LISTEN", "127.0.0.1:0"),
          "gRPC address (host:port; port 0 picks one). Env DIALGRID_LISTEN.");
ABSL_FLAG(std::string, admin_listen, dialgrid::EnvOr("DIALGRID_ADMIN_LISTEN", "127.0.0.1:0"),
          "Admin HTTP address for /metrics, /healthz, /readyz. Env DIALGRID_ADMIN_LISTEN.");
ABSL_FLAG(std::string, port_file, dialgrid::EnvOr("DIALGRID_PORT_FILE", ""),
          "Write the bound ports here once serving. Env DIALGRID_PORT_FILE.");
ABSL_FLAG(std::string, redis, dialgrid::EnvOr("DIALGRID_REDIS", "127.0.0.1:6379"),
          "Redis address host:port or unix:/path. Env DIALGRID_REDIS.");
ABSL_FLAG(std::string, kafka, dialgrid::EnvOr("DIALGRID_KAFKA", "127.0.0.1:9092"),
          "Kafka bootstrap servers. Env DIALGRID_KAFKA.");
ABSL_FLAG(std::string, tenancy, dialgrid::EnvOr("DIALGRID_TENANCY", "127.0.0.1:7001"),
          "Tenancy service address. Env DIALGRID_TENANCY.");
ABSL_FLAG(std::string, service_secret_file, dialgrid::EnvOr("DIALGRID_SERVICE_SECRET_FILE", ""),
          "File with the platform services' secret (ROLE_PLATFORM_SERVICE).");
ABSL_FLAG(std::string, calling_hours,
          dialgrid::EnvOr("DIALGRID_CALLING_HOURS", DIALGRID_COMPLIANCE_DATA_DIR "/calling_hours.tsv"),
          "Calling-hour presets table. Env DIALGRID_CALLING_HOURS.");
ABSL_FLAG(std::string, zone_data_dir, dialgrid::EnvOr("DIALGRID_CONTACTS_DATA_DIR", DIALGRID_CONTACTS_DATA_DIR),
          "Directory with region_time_zones.tsv and postal_code_regions.tsv (shared with contacts).");
ABSL_FLAG(std::string, zone_tab, dialgrid::EnvOr("DIALGRID_ZONE_TAB", "/usr/share/zoneinfo/zone.tab"),
          "tzdata's zone.tab (country -> zones).");
ABSL_FLAG(std::string, registries, dialgrid::EnvOr("DIALGRID_REGISTRIES", ""),
          "Vendor-wide registries, comma-separated id:dnc|wireless:/path/to/index (built with "
          "dialgrid-registry-build). Env DIALGRID_REGISTRIES.");
ABSL_FLAG(int, audit_retention_days, 90, "How long decisions and calls stay queryable in Redis.");
ABSL_FLAG(std::string, consumer_group, "compliance",
          "Kafka consumer group for the contacts and dialing topics (shared by all replicas).");
ABSL_FLAG(std::string, tls_cert_file, dialgrid::EnvOr("DIALGRID_TLS_CERT_FILE", ""),
          "PEM certificate for the gRPC port (with --tls_key_file).");
ABSL_FLAG(std::string, tls_key_file, dialgrid::EnvOr("DIALGRID_TLS_KEY_FILE", ""),
          "PEM private key for the gRPC port.");
ABSL_FLAG(int, drain_seconds, 10, "How long in-flight RPCs may finish on SIGTERM.");
ABSL_FLAG(int, workers, 8, "Handler threads (Redis calls block on these, not on gRPC's).");

namespace {

int Fail(absl::string_view what, const absl::Status& st) {
  dialgrid::Log(dialgrid::LogLevel::kError, "compliance", what, {{"error", st.ToString()}});
  return 1;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dialgrid;
  ServiceHost::BlockTerminationSignals();
  absl::SetProgramUsageMessage(
      "Dialgrid compliance service: CheckDial before every dial, do-not-call lists, consent, "
      "rule sets, decision audit.");
  absl::ParseCommandLine(argc, argv);

  auto secret = ReadSecretFile(absl::GetFlag(FLAGS_service_secret_file));
  if (!secret.ok()) return Fail("--service_secret_file", secret.status());
  auto table = ReadFile(absl::GetFlag(FLAGS_calling_hours));
  if (!table.ok()) return Fail("--calling_hours", table.status());
  auto presets = compliance::ParseCallingHours(*table);
  if (!presets.ok()) return Fail("--calling_hours", presets.status());
  auto zones = contacts::ZoneResolver::Load(absl::GetFlag(FLAGS_zone_data_dir), absl::GetFlag(FLAGS_zone_tab));
  if (!zones.ok()) return Fail("time-zone tables", zones.status());
  std::vector<std::string> specs;
  for (absl::string_view s : absl::StrSplit(absl::GetFlag(FLAGS_registries), ',', absl::SkipEmpty())) {
    specs.emplace_back(s);
  }
  auto registries = compliance::LoadRegistries(specs);
  if (!registries.ok()) return Fail("--registries", registries.status());

  BackendOptions backend_options;
  backend_options.service = "compliance";
  backend_options.redis_address = absl::GetFlag(FLAGS_redis);
  backend_options.kafka_bootstrap = absl::GetFlag(FLAGS_kafka);
  auto backends = ConnectBackends(backend_options);
  if (!backends.ok()) return Fail("backends", backends.status());

  PlatformClientsOptions platform_options;
  platform_options.service = "compliance";
  platform_options.tenancy_address = absl::GetFlag(FLAGS_tenancy);
  platform_options.service_secret = *secret;
  platform_options.kafka_bootstrap = absl::GetFlag(FLAGS_kafka);
  auto platform_or = PlatformClients::Create(platform_options, SystemClock::Get());
  if (!platform_or.ok()) return Fail("platform clients", platform_or.status());
  std::shared_ptr<PlatformClients> platform = std::move(*platform_or);

  ServiceHostOptions host_options;
  host_options.service = "compliance";
  host_options.listen_address = absl::GetFlag(FLAGS_listen);
  host_options.admin_address = absl::GetFlag(FLAGS_admin_listen);
  host_options.port_file = absl::GetFlag(FLAGS_port_file);
  host_options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  host_options.tls_key_file = absl::GetFlag(FLAGS_tls_key_file);
  host_options.drain_timeout = absl::Seconds(absl::GetFlag(FLAGS_drain_seconds));
  host_options.executor_threads = absl::GetFlag(FLAGS_workers);
  auto host_or = ServiceHost::Create(host_options);
  if (!host_or.ok()) return Fail("service host", host_or.status());
  ServiceHost& host = **host_or;

  // Metrics of the decisions themselves (RPC metrics come from the host).
  auto& decisions = prometheus::BuildCounter()
                        .Name("dialgrid_compliance_decisions_total")
                        .Help("Dial decisions taken, by result (scrubs included).")
                        .Register(host.registry());
  auto& allowed = decisions.Add({{"result", "allowed"}});
  auto& denied = decisions.Add({{"result", "denied"}});
  auto& reasons = prometheus::BuildCounter()
                      .Name("dialgrid_compliance_denial_reasons_total")
                      .Help("Reasons of denied dials, by reason code.")
                      .Register(host.registry());

  auto store = std::make_shared<compliance::RedisComplianceStore>(backends->redis, backends->instance);
  compliance::ComplianceOptions options;
  options.producer = backends->instance;
  options.audit_retention = absl::Hours(24) * absl::GetFlag(FLAGS_audit_retention_days);
  options.on_decision = [&](const compliance::v1::DialDecision& d) {
    (d.allowed() ? allowed : denied).Increment();
    for (const auto& r : d.reasons()) reasons.Add({{"code", r.code()}}).Increment();
  };
  compliance::ComplianceManager manager(store, *zones, *std::move(presets), *std::move(registries),
                                        SystemClock::Get(), options);

  auto& outbox_events = prometheus::BuildCounter()
                            .Name("dialgrid_compliance_outbox_events_total")
                            .Help("Events moved from the outbox to Kafka, and records skipped as malformed.")
                            .Register(host.registry());
  auto& published = outbox_events.Add({{"result", "published"}});
  auto& malformed = outbox_events.Add({{"result", "malformed"}});
  auto& relay_errors = prometheus::BuildCounter()
                           .Name("dialgrid_compliance_outbox_relay_errors_total")
                           .Help("Relay passes that failed (Redis or Kafka unavailable); retried.")
                           .Register(host.registry())
                           .Add({});
  compliance::OutboxRelayOptions relay_options;
  relay_options.on_batch = [&](int n, int bad) {
    published.Increment(n);
    malformed.Increment(bad);
  };
  relay_options.on_error = [&] { relay_errors.Increment(); };
  compliance::OutboxRelay relay(store, backends->producer, relay_options);
  kafka::ConsumerOptions consumer_options;
  consumer_options.bootstrap_servers = absl::GetFlag(FLAGS_kafka);
  consumer_options.group_id = absl::GetFlag(FLAGS_consumer_group);
  consumer_options.topics = {"contacts", "dialing"};
  auto consumer = kafka::KafkaConsumer::Create(
      consumer_options, [&manager](const event::v1::Envelope& e) { return manager.HandleEvent(e); },
      std::make_unique<kafka::LruEventDeduper>());
  if (!consumer.ok()) return Fail("kafka consumer", consumer.status());

  // Registry changes reach every replica: a consumer group of its own.
  absl::Status overlays = manager.LoadRegistryOverlays();
  if (!overlays.ok()) return Fail("registry overlays", overlays);
  kafka::ConsumerOptions registry_options;
  registry_options.bootstrap_servers = absl::GetFlag(FLAGS_kafka);
  registry_options.group_id = absl::StrCat(backends->instance, "-registries");
  registry_options.topics = {compliance::OutboxRelayOptions{}.registry_topic};
  registry_options.auto_offset_reset = "latest";  // earlier changes came from Redis above
  auto registry_consumer = kafka::KafkaConsumer::Create(
      registry_options,
      [&manager](const event::v1::Envelope& e) { return manager.HandleRegistryEvent(e); }, nullptr);
  if (!registry_consumer.ok()) return Fail("kafka consumer", registry_consumer.status());
  // Changes published while the consumer was joining its group are not lost:
  // Redis holds every overlay, replayed every 30 s (idempotent).
  std::mutex resync_mu;
  std::condition_variable resync_cv;
  bool resync_stop = false;
  std::thread resync([&] {
    std::unique_lock<std::mutex> lock(resync_mu);
    while (!resync_cv.wait_for(lock, std::chrono::seconds(30), [&] { return resync_stop; })) {
      lock.unlock();
      absl::Status rs = manager.LoadRegistryOverlays();
      if (!rs.ok()) Log(LogLevel::kWarning, "compliance", "registry resync", {{"error", rs.ToString()}});
      lock.lock();
    }
  });

  TenantRateLimiter limiter(platform->QuotaLookup(&tenancy::v1::Quota::max_requests_per_second),
                            SystemClock::Get());
  RpcEnv env;
  env.service = "compliance";
  env.error_domain = "compliance.dialgrid";
  env.verifier = &platform->verifier();
  env.executor = &host.executor();
  env.metrics = &host.rpc_metrics();
  env.admission = &limiter;
  compliance::ComplianceServiceImpl service(env, manager);
  host.AddService(&service, "dialgrid.compliance.v1.ComplianceService");
  RegisterBackends(host, *backends);
  host.AddStopStep("event consumers", [&] {
    (*consumer)->Stop();
    (*registry_consumer)->Stop();
    {
      std::lock_guard<std::mutex> lock(resync_mu);
      resync_stop = true;
    }
    resync_cv.notify_all();
    resync.join();
  });
  host.AddStopStep("outbox relay", [&relay] { relay.Stop(absl::Seconds(5)); });
  host.AddStopStep("tenancy events", [platform] { platform->Stop(); });

  platform->Start();
  relay.Start();
  (*consumer)->Start();
  (*registry_consumer)->Start();
  absl::Status st = host.Start();
  if (!st.ok()) {
    host.Shutdown();  // runs the stop steps: consumers, resync thread, relay
    return Fail("start", st);
  }
  int sig = ServiceHost::WaitForTerminationSignal();
  Log(LogLevel::kInfo, "compliance", "termination signal", {{"signal", sig}});
  host.Shutdown();
  return 0;
}
