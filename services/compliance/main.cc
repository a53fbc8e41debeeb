// dialgrid-compliance: flags -> config, wiring, run, drain, stop.
#include <cstdlib>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "services/common/core/env.h"
#include "services/common/core/files.h"
#include "services/common/core/log.h"
#include "services/common/kafka/kafka_consumer.h"
#include "services/common/platform/platform_clients.h"
#include "services/common/platform/platform_flags.h"
#include "services/common/server/service_main.h"
#include "services/common/server/service_runtime.h"
#include "services/compliance/adapters/redis_compliance_store.h"
#include "services/compliance/application/compliance_manager.h"
#include "services/compliance/server/compliance_service.h"

ABSL_FLAG(std::string, statutory_rules_dir,
          dialgrid::EnvOr("DIALGRID_STATUTORY_RULES_DIR", DIALGRID_COMPLIANCE_DATA_DIR),
          "Directory of consent_rules.tsv, attempt_caps.tsv, lockouts.tsv, registry_rules.tsv, "
          "ebr_rules.tsv, registry_consent_rules.tsv, hours_waivers.tsv and "
          "recording_consent.tsv (the law's rows besides calling hours). "
          "Env DIALGRID_STATUTORY_RULES_DIR.");
ABSL_FLAG(std::string, calling_hours,
          dialgrid::EnvOr("DIALGRID_CALLING_HOURS", DIALGRID_COMPLIANCE_DATA_DIR "/calling_hours.tsv"),
          "Calling-hour presets table. Env DIALGRID_CALLING_HOURS.");
ABSL_FLAG(std::string, zone_data_dir, dialgrid::EnvOr("DIALGRID_ZONE_DATA_DIR", DIALGRID_ZONE_DATA_DIR),
          "Directory with region_time_zones.tsv and postal_code_regions.tsv (shared with contacts).");
ABSL_FLAG(std::string, zone_tab, dialgrid::EnvOr("DIALGRID_ZONE_TAB", "/usr/share/zoneinfo/zone.tab"),
          "tzdata's zone.tab (country -> zones).");
ABSL_FLAG(std::string, registries, dialgrid::EnvOr("DIALGRID_REGISTRIES", ""),
          "Vendor-wide registries, comma-separated id:dnc|wireless:/path/to/index (built with "
          "dialgrid-registry-build). Env DIALGRID_REGISTRIES.");
ABSL_FLAG(int64_t, max_created_registry_numbers, 1000000,
          "Numbers a registry or suppression list created over the API may hold: every replica "
          "keeps them all in memory (about 115 bytes each, measured; Redis about 180); larger "
          "registries are built into an index (dialgrid-registry-build) and named in "
          "--registries.");
ABSL_FLAG(int, audit_retention_days, 90, "How long decisions and calls stay queryable in Redis.");
ABSL_FLAG(int, redis_wait_replicas,
          std::atoi(dialgrid::EnvOr("DIALGRID_REDIS_WAIT_REPLICAS", "0").c_str()),
          "Redis replicas that must acknowledge every write (decisions, opt-outs, consent, rule sets) "
          "before it is acknowledged (WAIT); 0: the master's persistence only. With Sentinel failover, "
          "1 keeps a failover from losing acknowledged writes. Env DIALGRID_REDIS_WAIT_REPLICAS.");
ABSL_FLAG(int, redis_wait_timeout_ms, 100,
          "How long a write waits for those replicas before it fails (UNAVAILABLE NOT_REPLICATED).");
ABSL_FLAG(std::string, consumer_group, "compliance",
          "Kafka consumer group for the contacts and dialing topics (shared by all replicas).");

int main(int argc, char** argv) {
  using namespace dialgrid;
  ServiceHost::BlockTerminationSignals();
  absl::SetProgramUsageMessage(
      "Dialgrid compliance service: CheckDial before every dial, do-not-call lists, consent, "
      "rule sets, decision audit.");
  absl::ParseCommandLine(argc, argv);
  auto fail = [](absl::string_view what, const absl::Status& st) {
    return StartupFailure("compliance", what, st);
  };

  if (absl::GetFlag(FLAGS_redis_wait_replicas) < 0 || absl::GetFlag(FLAGS_redis_wait_timeout_ms) <= 0) {
    return fail("--redis_wait_replicas", absl::InvalidArgumentError(
                                             "replicas must be 0 or more and the timeout positive"));
  }
  auto table = ReadFileToString(absl::GetFlag(FLAGS_calling_hours));
  if (!table.ok()) return fail("--calling_hours", table.status());
  auto presets = compliance::ParseCallingHours(*table);
  if (!presets.ok()) return fail("--calling_hours", presets.status());
  auto statutory = compliance::LoadStatutoryRules(absl::GetFlag(FLAGS_statutory_rules_dir));
  if (!statutory.ok()) return fail("--statutory_rules_dir", statutory.status());
  auto zones = geo::ZoneResolver::Load(absl::GetFlag(FLAGS_zone_data_dir), absl::GetFlag(FLAGS_zone_tab));
  if (!zones.ok()) return fail("time-zone tables", zones.status());
  std::vector<std::string> specs;
  for (absl::string_view s : absl::StrSplit(absl::GetFlag(FLAGS_registries), ',', absl::SkipEmpty())) {
    specs.emplace_back(s);
  }
  auto registries = compliance::LoadRegistries(specs);
  if (!registries.ok()) return fail("--registries", registries.status());
  // Each registry's grace period from the row its manifest names.
  if (absl::Status st = compliance::ApplyRegistryRules(statutory->registries, *registries);
      !st.ok()) {
    return fail("--registries", st);
  }

  auto runtime_options = PlatformRuntimeOptionsFromFlags("compliance");
  if (!runtime_options.ok()) return fail("--service_secret_file", runtime_options.status());
  auto rt_or = ServiceRuntime::Create(*std::move(runtime_options));
  if (!rt_or.ok()) return fail("runtime", rt_or.status());
  ServiceRuntime& rt = **rt_or;

  // Metrics of the decisions themselves (RPC metrics come from the host).
  auto& decisions = prometheus::BuildCounter()
                        .Name("dialgrid_compliance_decisions_total")
                        .Help("Dial decisions taken, by result (scrubs included).")
                        .Register(rt.metrics());
  auto& allowed = decisions.Add({{"result", "allowed"}});
  auto& denied = decisions.Add({{"result", "denied"}});
  auto& reasons = prometheus::BuildCounter()
                      .Name("dialgrid_compliance_denial_reasons_total")
                      .Help("Reasons of denied dials, by reason code.")
                      .Register(rt.metrics());

  compliance::RedisReplication replication;
  replication.replicas = absl::GetFlag(FLAGS_redis_wait_replicas);
  replication.timeout = absl::Milliseconds(absl::GetFlag(FLAGS_redis_wait_timeout_ms));
  auto store = std::make_shared<compliance::RedisComplianceStore>(rt.redis(), rt.instance(),
                                                                  replication);
  compliance::ComplianceOptions options;
  options.producer = rt.instance();
  options.audit_retention = absl::Hours(24) * absl::GetFlag(FLAGS_audit_retention_days);
  options.statutory = *std::move(statutory);
  options.max_created_registry_numbers = absl::GetFlag(FLAGS_max_created_registry_numbers);
  options.on_decision = [&](const compliance::v1::DialDecision& d) {
    (d.allowed() ? allowed : denied).Increment();
    for (const auto& r : d.reasons()) reasons.Add({{"code", r.code()}}).Increment();
  };
  compliance::ComplianceManager manager(store, *zones, *std::move(presets), *std::move(registries),
                                        SystemClock::Get(), options);

  // When each registry's data becomes too old to clear a dial (alert well
  // before: checks relying on it fail closed from then on).
  auto& stale_at = prometheus::BuildGauge()
                       .Name("dialgrid_compliance_registry_stale_timestamp_seconds")
                       .Help("Unix time from which a registry's data is too old to clear a dial "
                             "(absent: no age limit).")
                       .Register(rt.metrics());
  // Set now and after each overlay resync (a change file's as_of moves it).
  auto publish_stale_times = [&manager, &stale_at] {
    const compliance::v1::ListRegistriesResponse loaded = manager.ListRegistries();
    for (const auto& r : loaded.registries()) {
      if (r.has_stale_time()) {
        stale_at.Add({{"registry", r.id()}}).Set(static_cast<double>(r.stale_time().seconds()));
      }
    }
  };

  rt.StartRelay(store->outbox(), compliance::RelayOptions());
  kafka::ConsumerOptions consumer_options;
  consumer_options.bootstrap_servers = rt.options().backends.kafka_bootstrap;
  consumer_options.group_id = absl::GetFlag(FLAGS_consumer_group);
  consumer_options.topics = {"contacts", "dialing"};
  auto consumer = kafka::KafkaConsumer::Create(
      consumer_options, [&manager](const event::v1::Envelope& e) { return manager.HandleEvent(e); },
      std::make_unique<kafka::LruEventDeduper>());
  if (!consumer.ok()) return fail("kafka consumer", consumer.status());

  // Registry changes reach every replica: a consumer group of its own.
  absl::Status overlays = manager.LoadRegistryOverlays();
  if (!overlays.ok()) return fail("registry overlays", overlays);
  publish_stale_times();
  kafka::ConsumerOptions registry_options;
  registry_options.bootstrap_servers = rt.options().backends.kafka_bootstrap;
  registry_options.group_id = absl::StrCat(rt.instance(), "-registries");
  registry_options.topics = {compliance::kRegistryTopic};
  registry_options.auto_offset_reset = "latest";  // earlier changes came from Redis above
  auto registry_consumer = kafka::KafkaConsumer::Create(
      registry_options,
      [&manager](const event::v1::Envelope& e) { return manager.HandleRegistryEvent(e); }, nullptr);
  if (!registry_consumer.ok()) return fail("kafka consumer", registry_consumer.status());
  // Changes published while the consumer was joining its group are not lost:
  // Redis holds every overlay, replayed every 30 s (idempotent).
  rt.scheduler().Every(absl::Seconds(30), [&manager, &publish_stale_times] {
    absl::Status rs = manager.LoadRegistryOverlays();
    if (!rs.ok()) Log(LogLevel::kWarning, "compliance", "registry resync", {{"error", rs.ToString()}});
    publish_stale_times();
  });
  rt.AddConsumer(*std::move(consumer));
  rt.AddConsumer(*std::move(registry_consumer));

  compliance::ComplianceServiceImpl service(rt.Env(&rt.platform().verifier()), manager);
  rt.AddService(&service, "dialgrid.compliance.v1.ComplianceService");
  return rt.Run();  // on a failed start, its stop steps run too
}
