// dialgrid-contacts: flags -> config, wiring, run, drain, stop.
#include <fstream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "services/common/core/env.h"
#include "services/common/core/log.h"
#include "services/common/core/random.h"
#include "services/common/kafka/kafka_producer.h"
#include "services/common/platform/platform_clients.h"
#include "services/common/redis/redis_client.h"
#include "services/common/server/backends.h"
#include "services/common/server/rate_limiter.h"
#include "services/common/server/service_host.h"
#include "services/contacts/adapters/redis_contact_store.h"
#include "services/contacts/contact_manager.h"
#include "services/contacts/server/contacts_service.h"

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
ABSL_FLAG(std::string, data_dir, dialgrid::EnvOr("DIALGRID_CONTACTS_DATA_DIR", DIALGRID_CONTACTS_DATA_DIR),
          "Directory with region_time_zones.tsv and postal_code_regions.tsv.");
ABSL_FLAG(std::string, zone_tab, dialgrid::EnvOr("DIALGRID_ZONE_TAB", "/usr/share/zoneinfo/zone.tab"),
          "tzdata's zone.tab (country -> zones).");
ABSL_FLAG(std::string, tls_cert_file, dialgrid::EnvOr("DIALGRID_TLS_CERT_FILE", ""),
          "PEM certificate for the gRPC port (with --tls_key_file).");
ABSL_FLAG(std::string, tls_key_file, dialgrid::EnvOr("DIALGRID_TLS_KEY_FILE", ""),
          "PEM private key for the gRPC port.");
ABSL_FLAG(int, drain_seconds, 10, "How long in-flight RPCs may finish on SIGTERM.");
ABSL_FLAG(int, workers, 8, "Handler threads (Redis calls block on these, not on gRPC's).");

namespace {

int Fail(absl::string_view what, const absl::Status& st) {
  dialgrid::Log(dialgrid::LogLevel::kError, "contacts", what, {{"error", st.ToString()}});
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dialgrid;
  ServiceHost::BlockTerminationSignals();
  absl::SetProgramUsageMessage("Dialgrid contacts service: lists, import, dialer feed, erasure.");
  absl::ParseCommandLine(argc, argv);

  auto secret = ReadSecretFile(absl::GetFlag(FLAGS_service_secret_file));
  if (!secret.ok()) return Fail("--service_secret_file", secret.status());
  auto zones = contacts::ZoneResolver::Load(absl::GetFlag(FLAGS_data_dir), absl::GetFlag(FLAGS_zone_tab));
  if (!zones.ok()) return Fail("time-zone tables", zones.status());

  BackendOptions backend_options;
  backend_options.service = "contacts";
  backend_options.redis_address = absl::GetFlag(FLAGS_redis);
  backend_options.redis_command_timeout = absl::Seconds(10);  // imports send large batches
  backend_options.kafka_bootstrap = absl::GetFlag(FLAGS_kafka);
  auto backends = ConnectBackends(backend_options);
  if (!backends.ok()) return Fail("backends", backends.status());
  std::shared_ptr<redis::Client> redis = backends->redis;
  std::shared_ptr<kafka::KafkaProducer> publisher = backends->producer;
  std::string instance = backends->instance;

  PlatformClientsOptions platform_options;
  platform_options.service = "contacts";
  platform_options.tenancy_address = absl::GetFlag(FLAGS_tenancy);
  platform_options.service_secret = *secret;
  platform_options.kafka_bootstrap = absl::GetFlag(FLAGS_kafka);
  auto platform_or = PlatformClients::Create(platform_options, SystemClock::Get());
  if (!platform_or.ok()) return Fail("platform clients", platform_or.status());
  std::shared_ptr<PlatformClients> platform = std::move(*platform_or);

  auto store = std::make_shared<contacts::RedisContactStore>(redis);
  contacts::ContactManager manager(
      store, *zones, publisher,
      platform->QuotaLookup(&tenancy::v1::Quota::max_contacts),
      SystemClock::Get(), instance);

  ServiceHostOptions host_options;
  host_options.service = "contacts";
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

  TenantRateLimiter limiter(platform->QuotaLookup(&tenancy::v1::Quota::max_requests_per_second),
                            SystemClock::Get());
  RpcEnv env;
  env.service = "contacts";
  env.error_domain = "contacts.dialgrid";
  env.verifier = &platform->verifier();
  env.executor = &host.executor();
  env.metrics = &host.rpc_metrics();
  env.admission = &limiter;
  contacts::ContactsServiceImpl service(env, manager);
  host.AddService(&service, "dialgrid.contacts.v1.ContactsService");
  RegisterBackends(host, *backends);
  host.AddStopStep("tenancy events", [platform] { platform->Stop(); });

  platform->Start();
  absl::Status st = host.Start();
  if (!st.ok()) return Fail("start", st);
  int sig = ServiceHost::WaitForTerminationSignal();
  Log(LogLevel::kInfo, "contacts", "termination signal", {{"signal", sig}});
  host.Shutdown();
  return 0;
}
