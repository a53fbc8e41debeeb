#pragma once

// What every service's main.cc shares: the common flags (defined once, in
// service_main.cc: --listen, --admin_listen, --port_file, --redis (and its
// credentials), --kafka (and its security settings),
// --tls_cert_file, --tls_key_file, --drain_seconds, --workers, each also from
// its DIALGRID_* environment variable), the options built from them, and the
// serve-until-signal tail. A main parses the command line, then:
//
//   auto backends = ConnectBackends(BackendOptionsFromFlags("contacts"));
//   auto host = ServiceHost::Create(HostOptionsFromFlags("contacts"));
//   RpcEnv env = RpcEnvFor("contacts", verifier, **host, &limiter);  // outlives the service
//   ... host->AddService(...) ...
//   return ServeUntilSignal(**host);

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "services/common/server/backends.h"
#include "services/common/server/rpc.h"
#include "services/common/server/service_host.h"
#include "services/common/server/service_runtime.h"

namespace dialgrid {

// Logs why `service` cannot start and returns the process's exit code (1).
int StartupFailure(absl::string_view service, absl::string_view what, const absl::Status& st);

// --tls_reload_seconds: how often TLS files (served pair, client certificate) are
// read again; zero: once.
absl::Duration TlsReloadIntervalFromFlags();

// From --listen, --admin_listen, --port_file, --tls_*, --drain_seconds, --workers.
ServiceHostOptions HostOptionsFromFlags(const std::string& service);

// From --redis, --redis_username, --redis_password_file, --kafka,
// --kafka_security_protocol, --kafka_sasl_mechanism, --kafka_sasl_username,
// --kafka_sasl_password_file and --kafka_tls_ca_file (ConnectBackends reads
// the files and refuses a combination that cannot log in).
BackendOptions BackendOptionsFromFlags(const std::string& service);

// Host and backends from the flags above (add `platform` for services that
// reach tenancy: PlatformOptionsFromFlags).
ServiceRuntimeOptions RuntimeOptionsFromFlags(const std::string& service);

// The per-RPC environment of `service` on `host`: errors in domain
// "<service>.dialgrid", the host's executor and RPC metrics.
RpcEnv RpcEnvFor(const std::string& service, auth::CredentialVerifier* verifier, ServiceHost& host,
                 Admission* admission);

// Starts `host` (serving, ready), waits for SIGTERM or SIGINT (block
// them first: ServiceHost::BlockTerminationSignals), then drains and stops
// it. Returns the process's exit code: 0, or 1 when it could not start (its
// stop steps have run then).
int ServeUntilSignal(ServiceHost& host);

}  // namespace dialgrid
