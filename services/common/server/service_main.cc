#include "services/common/server/service_main.h"

#include <algorithm>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "services/common/core/env.h"
#include "services/common/core/log.h"

ABSL_FLAG(std::string, listen, dialgrid::EnvOr("DIALGRID_LISTEN", "127.0.0.1:0"),
          "gRPC address (host:port; port 0 picks one). Env DIALGRID_LISTEN.");
ABSL_FLAG(std::string, admin_listen, dialgrid::EnvOr("DIALGRID_ADMIN_LISTEN", "127.0.0.1:0"),
          "Admin HTTP address for /metrics, /healthz, /readyz. Env DIALGRID_ADMIN_LISTEN.");
ABSL_FLAG(std::string, port_file, dialgrid::EnvOr("DIALGRID_PORT_FILE", ""),
          "Write the bound ports here once serving. Env DIALGRID_PORT_FILE.");
ABSL_FLAG(std::string, redis, dialgrid::EnvOr("DIALGRID_REDIS", "127.0.0.1:6379"),
          "Redis address host:port, unix:/path, or sentinel://host:port[,host:port...]/<master> "
          "to follow the master the Sentinels name. Env DIALGRID_REDIS.");
ABSL_FLAG(std::string, redis_username, dialgrid::EnvOr("DIALGRID_REDIS_USERNAME", ""),
          "Redis 6+ ACL user to log in as (with --redis_password_file); empty: the default "
          "user. Env DIALGRID_REDIS_USERNAME.");
ABSL_FLAG(std::string, redis_password_file, dialgrid::EnvOr("DIALGRID_REDIS_PASSWORD_FILE", ""),
          "File whose first line is the Redis password, sent (AUTH) on every connection; "
          "empty: no AUTH. Env DIALGRID_REDIS_PASSWORD_FILE.");
ABSL_FLAG(std::string, kafka, dialgrid::EnvOr("DIALGRID_KAFKA", "127.0.0.1:9092"),
          "Kafka bootstrap servers. Env DIALGRID_KAFKA.");
ABSL_FLAG(std::string, kafka_security_protocol,
          dialgrid::EnvOr("DIALGRID_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT"),
          "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL, for every producer and consumer. "
          "Env DIALGRID_KAFKA_SECURITY_PROTOCOL.");
ABSL_FLAG(std::string, kafka_sasl_mechanism, dialgrid::EnvOr("DIALGRID_KAFKA_SASL_MECHANISM", ""),
          "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (SASL_* protocols only, required there). "
          "Env DIALGRID_KAFKA_SASL_MECHANISM.");
ABSL_FLAG(std::string, kafka_sasl_username, dialgrid::EnvOr("DIALGRID_KAFKA_SASL_USERNAME", ""),
          "SASL username (SASL_* protocols only, required there). "
          "Env DIALGRID_KAFKA_SASL_USERNAME.");
ABSL_FLAG(std::string, kafka_sasl_password_file,
          dialgrid::EnvOr("DIALGRID_KAFKA_SASL_PASSWORD_FILE", ""),
          "File whose first line is the SASL password (SASL_* protocols only, required there). "
          "Env DIALGRID_KAFKA_SASL_PASSWORD_FILE.");
ABSL_FLAG(std::string, kafka_tls_ca_file, dialgrid::EnvOr("DIALGRID_KAFKA_TLS_CA_FILE", ""),
          "PEM roots the brokers' certificates chain to (SSL and SASL_SSL only); empty: the "
          "system's roots. Env DIALGRID_KAFKA_TLS_CA_FILE.");
ABSL_FLAG(std::string, tls_cert_file, dialgrid::EnvOr("DIALGRID_TLS_CERT_FILE", ""),
          "PEM certificate for the gRPC port (with --tls_key_file).");
ABSL_FLAG(std::string, tls_key_file, dialgrid::EnvOr("DIALGRID_TLS_KEY_FILE", ""),
          "PEM private key for the gRPC port.");
ABSL_FLAG(int, tls_reload_seconds, 60,
          "How often the TLS certificate and key files are read again (a renewed certificate "
          "is served to new connections without a restart); 0: read once at start.");
ABSL_FLAG(std::string, tls_client_ca_file, dialgrid::EnvOr("DIALGRID_TLS_CLIENT_CA_FILE", ""),
          "Mutual TLS (with --tls_cert_file): PEM roots clients' certificates are verified "
          "against. Clients without a certificate still connect, but calls with the "
          "platform's service credential must present one (service identity). Env "
          "DIALGRID_TLS_CLIENT_CA_FILE.");
ABSL_FLAG(int, drain_seconds, 10, "How long in-flight RPCs may finish on SIGTERM.");
ABSL_FLAG(int, workers, 8, "Handler threads (Redis calls block on these, not on gRPC's).");
ABSL_FLAG(std::string, redis_placement_file,
          dialgrid::EnvOr("DIALGRID_REDIS_PLACEMENT_FILE", ""),
          "Tenants placed on Redis deployments of their own: a file of \"<tenant> <host:port>\" "
          "lines. Every key of a placed tenant lives there; platform-wide keys and every other "
          "tenant stay on --redis. Every service must be given the same file.");
ABSL_FLAG(int, redis_pool_size, 0,
          "Connections to Redis (round trips in flight at once); 0: --workers plus 4.");

namespace dialgrid {

int StartupFailure(absl::string_view service, absl::string_view what, const absl::Status& st) {
  Log(LogLevel::kError, service, what, {{"error", st.ToString()}});
  return 1;
}

absl::Duration TlsReloadIntervalFromFlags() {
  return absl::Seconds(std::max(0, absl::GetFlag(FLAGS_tls_reload_seconds)));
}

ServiceHostOptions HostOptionsFromFlags(const std::string& service) {
  ServiceHostOptions o;
  o.service = service;
  o.listen_address = absl::GetFlag(FLAGS_listen);
  o.admin_address = absl::GetFlag(FLAGS_admin_listen);
  o.port_file = absl::GetFlag(FLAGS_port_file);
  o.tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  o.tls_key_file = absl::GetFlag(FLAGS_tls_key_file);
  o.tls_reload_interval = TlsReloadIntervalFromFlags();
  o.tls_client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file);
  o.drain_timeout = absl::Seconds(absl::GetFlag(FLAGS_drain_seconds));
  o.executor_threads = absl::GetFlag(FLAGS_workers);
  return o;
}

BackendOptions BackendOptionsFromFlags(const std::string& service) {
  BackendOptions o;
  o.service = service;
  o.redis_address = absl::GetFlag(FLAGS_redis);
  o.redis_pool_size = absl::GetFlag(FLAGS_redis_pool_size) > 0 ? absl::GetFlag(FLAGS_redis_pool_size)
                                                               : absl::GetFlag(FLAGS_workers) + 4;
  o.redis_username = absl::GetFlag(FLAGS_redis_username);
  o.redis_password_file = absl::GetFlag(FLAGS_redis_password_file);
  o.redis_placement_file = absl::GetFlag(FLAGS_redis_placement_file);
  o.kafka_bootstrap = absl::GetFlag(FLAGS_kafka);
  o.kafka_security.protocol = absl::GetFlag(FLAGS_kafka_security_protocol);
  o.kafka_security.sasl_mechanism = absl::GetFlag(FLAGS_kafka_sasl_mechanism);
  o.kafka_security.username = absl::GetFlag(FLAGS_kafka_sasl_username);
  o.kafka_security.ca_file = absl::GetFlag(FLAGS_kafka_tls_ca_file);
  o.kafka_sasl_password_file = absl::GetFlag(FLAGS_kafka_sasl_password_file);
  return o;
}

ServiceRuntimeOptions RuntimeOptionsFromFlags(const std::string& service) {
  ServiceRuntimeOptions o;
  o.service = service;
  o.host = HostOptionsFromFlags(service);
  o.backends = BackendOptionsFromFlags(service);
  return o;
}

RpcEnv RpcEnvFor(const std::string& service, auth::CredentialVerifier* verifier, ServiceHost& host,
                 Admission* admission) {
  RpcEnv env;
  env.service = service;
  env.error_domain = absl::StrCat(service, ".dialgrid");
  env.verifier = verifier;
  env.executor = &host.executor();
  env.metrics = &host.rpc_metrics();
  env.admission = admission;
  env.service_certificate_required = host.verifies_client_certificates();
  return env;
}

int ServeUntilSignal(ServiceHost& host) {
  absl::Status st = host.Start();
  if (!st.ok()) {
    host.Shutdown();  // runs the stop steps of whatever was started
    return StartupFailure(host.service(), "start", st);
  }
  int sig = ServiceHost::WaitForTerminationSignal();
  Log(LogLevel::kInfo, host.service(), "termination signal", {{"signal", sig}});
  host.Shutdown();
  return 0;
}

}  // namespace dialgrid
