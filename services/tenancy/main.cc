// dialgrid-tenancy: flags -> config, wiring, run, drain, stop.
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "services/common/auth/principal.h"
#include "services/common/auth/tenancy_events.h"
#include "services/common/core/env.h"
#include "services/common/kafka/kafka_consumer.h"
#include "services/common/server/service_main.h"
#include "services/common/server/service_runtime.h"
#include "prometheus/counter.h"
#include "services/tenancy/adapters/redis_audit_store.h"
#include "services/tenancy/adapters/redis_tenancy_store.h"
#include "services/tenancy/server/tenancy_service.h"
#include "services/tenancy/application/tenancy_manager.h"

ABSL_FLAG(std::string, bootstrap_admin_secret_file,
          dialgrid::EnvOr("DIALGRID_BOOTSTRAP_ADMIN_SECRET_FILE", ""),
          "File holding the first vendor-admin secret; its credential is created at start if absent.");
ABSL_FLAG(std::string, bootstrap_service_secret_file,
          dialgrid::EnvOr("DIALGRID_BOOTSTRAP_SERVICE_SECRET_FILE", ""),
          "File holding the platform services' secret; its credential is created at start if absent.");
ABSL_FLAG(bool, audit_consume, true,
          "Record the audit log from topics tenancy, compliance-changes and compliance-registries "
          "(off: this replica only "
          "answers ListAuditRecords; one consuming replica is enough, more share the work).");
ABSL_FLAG(std::string, audit_consumer_group, "tenancy-audit",
          "Kafka consumer group of the audit log (shared by all replicas).");
ABSL_FLAG(int, audit_retention_days, 400,
          "How long audit records are kept (at least 31).");
ABSL_FLAG(bool, print_new_secret, false,
          "Print a freshly generated secret (for a bootstrap secret file) and exit.");

int main(int argc, char** argv) {
  using namespace dialgrid;
  ServiceHost::BlockTerminationSignals();
  absl::SetProgramUsageMessage("Dialgrid tenancy service: tenants, quotas, credentials.");
  absl::ParseCommandLine(argc, argv);
  auto fail = [](absl::string_view what, const absl::Status& st) {
    return StartupFailure("tenancy", what, st);
  };
  if (absl::GetFlag(FLAGS_print_new_secret)) {
    std::cout << auth::NewSecret(auth::NewCredentialId()) << "\n";
    return 0;
  }

  if (absl::GetFlag(FLAGS_audit_retention_days) < 31) {
    return fail("--audit_retention_days", absl::InvalidArgumentError("at least 31 days"));
  }
  auto rt_or = ServiceRuntime::Create(RuntimeOptionsFromFlags("tenancy"));
  if (!rt_or.ok()) return fail("runtime", rt_or.status());
  ServiceRuntime& rt = **rt_or;
  auto outbox = rt.MakeOutbox({});
  auto store = std::make_shared<tenancy::RedisTenancyStore>(rt.redis(), outbox);
  tenancy::TenancyManager manager(store, SystemClock::Get(), rt.instance());

  const std::pair<std::string, tenancy::v1::Role> bootstrap[] = {
      {absl::GetFlag(FLAGS_bootstrap_admin_secret_file), tenancy::v1::ROLE_VENDOR_ADMIN},
      {absl::GetFlag(FLAGS_bootstrap_service_secret_file), tenancy::v1::ROLE_PLATFORM_SERVICE},
  };
  for (const auto& [path, role] : bootstrap) {
    if (path.empty()) continue;
    auto secret = ReadSecretFile(path);
    if (!secret.ok()) return fail("bootstrap secret file", secret.status());
    absl::Status st = manager.EnsureBootstrapCredential(
        *secret, role,
        role == tenancy::v1::ROLE_VENDOR_ADMIN ? "bootstrap vendor admin" : "platform services");
    if (!st.ok()) return fail("bootstrap credential", st);
  }

  events::OutboxRelayOptions relay;
  relay.default_topic = auth::kTenancyTopic;
  rt.StartRelay(outbox, relay);
  // Tenancy verifies callers against its own store and reads quotas there.
  tenancy::LocalCredentialVerifier verifier(manager);
  RpcEnv& env = rt.Env(&verifier, [store](const std::string& tenant) -> absl::StatusOr<int64_t> {
    auto t = store->GetTenant(tenant);
    if (!t.ok()) return t.status();
    return t->quota().max_requests_per_second();
  });
  tenancy::RedisAuditStoreOptions audit_options;
  audit_options.retention = absl::Hours(24) * absl::GetFlag(FLAGS_audit_retention_days);
  tenancy::AuditLog audit(
      std::make_shared<tenancy::RedisAuditStore>(rt.redis(), audit_options),
      SystemClock::Get());
  if (absl::GetFlag(FLAGS_audit_consume)) {
    prometheus::Counter& recorded = prometheus::BuildCounter()
                                        .Name("dialgrid_tenancy_audit_records_total")
                                        .Help("Audit records appended (admin changes recorded)")
                                        .Register(rt.metrics())
                                        .Add({});
    kafka::ConsumerOptions consumer_options;
    consumer_options.bootstrap_servers = rt.options().backends.kafka_bootstrap;
    consumer_options.group_id = absl::GetFlag(FLAGS_audit_consumer_group);
    // Compliance's changes and registry changes, on topics of their own (not
    // its decisions, thousands a second, which the audit log has no use for).
    consumer_options.topics = {auth::kTenancyTopic, "compliance-changes", "compliance-registries"};
    auto consumer = kafka::KafkaConsumer::Create(
        consumer_options,
        [&audit, &recorded](const event::v1::Envelope& e) {
          const int64_t before = audit.recorded();
          absl::Status st = audit.Record(e);
          recorded.Increment(static_cast<double>(audit.recorded() - before));
          return st;
        },
        std::make_unique<kafka::StoreDedups>());
    if (!consumer.ok()) return fail("kafka consumer", consumer.status());
    rt.AddConsumer(*std::move(consumer));
  }
  tenancy::TenancyServiceImpl service(env, manager, audit);
  rt.AddService(&service, "dialgrid.tenancy.v1.TenancyService");
  return rt.Run();
}
