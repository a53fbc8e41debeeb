// dialgrid-tenancy: flags -> config, wiring, run, drain, stop.
#include <fstream>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "services/common/auth/principal.h"
#include "services/common/core/env.h"
#include "services/common/core/log.h"
#include "services/common/core/random.h"
#include "services/common/kafka/kafka_producer.h"
#include "services/common/redis/redis_client.h"
#include "services/common/server/backends.h"
#include "services/common/server/rate_limiter.h"
#include "services/common/server/service_host.h"
#include "services/tenancy/adapters/redis_tenancy_store.h"
#include "services/tenancy/server/tenancy_service.h"
#include "services/tenancy/tenancy_manager.h"

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
ABSL_FLAG(std::string, bootstrap_admin_secret_file,
          dialgrid::EnvOr("DIALGRID_BOOTSTRAP_ADMIN_SECRET_FILE", ""),
          "File holding the first vendor-admin secret; its credential is created at start if absent.");
ABSL_FLAG(std::string, bootstrap_service_secret_file,
          dialgrid::EnvOr("DIALGRID_BOOTSTRAP_SERVICE_SECRET_FILE", ""),
          "File holding the platform services' secret; its credential is created at start if absent.");
ABSL_FLAG(std::string, tls_cert_file, dialgrid::EnvOr("DIALGRID_TLS_CERT_FILE", ""),
          "PEM certificate for the gRPC port (with --tls_key_file).");
ABSL_FLAG(std::string, tls_key_file, dialgrid::EnvOr("DIALGRID_TLS_KEY_FILE", ""),
          "PEM private key for the gRPC port.");
ABSL_FLAG(int, drain_seconds, 10, "How long in-flight RPCs may finish on SIGTERM.");
ABSL_FLAG(int, workers, 8, "Handler threads (Redis calls block on these, not on gRPC's).");
ABSL_FLAG(bool, print_new_secret, false,
          "Print a freshly generated secret (for a bootstrap secret file) and exit.");

namespace {

int Fail(absl::string_view what, const absl::Status& st) {
  dialgrid::Log(dialgrid::LogLevel::kError, "tenancy", what, {{"error", st.ToString()}});
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dialgrid;
  ServiceHost::BlockTerminationSignals();
  absl::SetProgramUsageMessage("Dialgrid tenancy service: tenants, quotas, credentials.");
  absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_print_new_secret)) {
    std::cout << auth::NewSecret(auth::NewCredentialId()) << "\n";
    return 0;
  }

  BackendOptions backend_options;
  backend_options.service = "tenancy";
  backend_options.redis_address = absl::GetFlag(FLAGS_redis);
  backend_options.kafka_bootstrap = absl::GetFlag(FLAGS_kafka);
  auto backends = ConnectBackends(backend_options);
  if (!backends.ok()) return Fail("backends", backends.status());
  std::shared_ptr<redis::Client> redis = backends->redis;
  std::shared_ptr<kafka::KafkaProducer> publisher = backends->producer;
  std::string instance = backends->instance;

  auto store = std::make_shared<tenancy::RedisTenancyStore>(redis);
  tenancy::TenancyManager manager(store, publisher, SystemClock::Get(), instance);

  const std::pair<std::string, tenancy::v1::Role> bootstrap[] = {
      {absl::GetFlag(FLAGS_bootstrap_admin_secret_file), tenancy::v1::ROLE_VENDOR_ADMIN},
      {absl::GetFlag(FLAGS_bootstrap_service_secret_file), tenancy::v1::ROLE_PLATFORM_SERVICE},
  };
  for (const auto& [path, role] : bootstrap) {
    if (path.empty()) continue;
    auto secret = ReadSecretFile(path);
    if (!secret.ok()) return Fail("bootstrap secret file", secret.status());
    absl::Status st = manager.EnsureBootstrapCredential(
        *secret, role,
        role == tenancy::v1::ROLE_VENDOR_ADMIN ? "bootstrap vendor admin" : "platform services");
    if (!st.ok()) return Fail("bootstrap credential", st);
  }

  ServiceHostOptions host_options;
  host_options.service = "tenancy";
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

  tenancy::LocalCredentialVerifier verifier(manager);
  RpcEnv env;
  env.service = "tenancy";
  env.error_domain = "tenancy.dialgrid";
  env.verifier = &verifier;
  env.executor = &host.executor();
  env.metrics = &host.rpc_metrics();
  TenantRateLimiter limiter(
      [store](const std::string& tenant) -> absl::StatusOr<int64_t> {
        auto t = store->GetTenant(tenant);
        if (!t.ok()) return t.status();
        return t->quota().max_requests_per_second();
      },
      SystemClock::Get());
  env.admission = &limiter;
  tenancy::TenancyServiceImpl service(env, manager);
  host.AddService(&service, "dialgrid.tenancy.v1.TenancyService");
  RegisterBackends(host, *backends);

  absl::Status st = host.Start();
  if (!st.ok()) return Fail("start", st);
  int sig = ServiceHost::WaitForTerminationSignal();
  Log(LogLevel::kInfo, "tenancy", "termination signal", {{"signal", sig}});
  host.Shutdown();
  return 0;
}
