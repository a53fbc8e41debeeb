#include "services/common/platform/platform_flags.h"

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "services/common/core/env.h"
#include "services/common/core/errors.h"
#include "services/common/core/files.h"
#include "services/common/server/service_main.h"
#include "services/common/tls/tls_files.h"

ABSL_FLAG(std::string, tenancy, dialgrid::EnvOr("DIALGRID_TENANCY", "127.0.0.1:7001"),
          "Tenancy service address. Env DIALGRID_TENANCY.");
ABSL_FLAG(std::string, service_secret_file, dialgrid::EnvOr("DIALGRID_SERVICE_SECRET_FILE", ""),
          "File with the platform services' secret (ROLE_PLATFORM_SERVICE). "
          "Env DIALGRID_SERVICE_SECRET_FILE.");
ABSL_FLAG(bool, peer_tls, dialgrid::EnvOr("DIALGRID_PEER_TLS", "") == "true",
          "Call tenancy and other peer services over TLS (plaintext otherwise). "
          "Env DIALGRID_PEER_TLS=true.");
ABSL_FLAG(std::string, peer_tls_ca_file, dialgrid::EnvOr("DIALGRID_PEER_TLS_CA_FILE", ""),
          "PEM roots that peers' certificates must chain to (implies --peer_tls; "
          "default: the system's roots). Env DIALGRID_PEER_TLS_CA_FILE.");
ABSL_FLAG(std::string, peer_tls_cert_file, dialgrid::EnvOr("DIALGRID_PEER_TLS_CERT_FILE", ""),
          "Mutual TLS: PEM client certificate presented to peer services (with "
          "--peer_tls_key_file; implies --peer_tls). Peers started with --tls_client_ca_file "
          "accept this service's credential only with it. Env DIALGRID_PEER_TLS_CERT_FILE.");
ABSL_FLAG(std::string, peer_tls_key_file, dialgrid::EnvOr("DIALGRID_PEER_TLS_KEY_FILE", ""),
          "Mutual TLS: the PEM private key of --peer_tls_cert_file. Env DIALGRID_PEER_TLS_KEY_FILE.");

namespace dialgrid {

absl::StatusOr<PlatformClientsOptions> PlatformOptionsFromFlags(const std::string& service,
                                                                const BackendOptions& backends) {
  auto secret = ReadSecretFile(absl::GetFlag(FLAGS_service_secret_file));
  if (!secret.ok()) return secret.status();
  PlatformClientsOptions o;
  o.service = service;
  o.tenancy_address = absl::GetFlag(FLAGS_tenancy);
  o.service_secret = *std::move(secret);
  const std::string ca_file = absl::GetFlag(FLAGS_peer_tls_ca_file);
  const std::string cert_file = absl::GetFlag(FLAGS_peer_tls_cert_file);
  const std::string key_file = absl::GetFlag(FLAGS_peer_tls_key_file);
  if (cert_file.empty() != key_file.empty()) {
    return InvalidField("peer_tls_cert_file", "INCOMPLETE_TLS",
                        "a client certificate needs both --peer_tls_cert_file and --peer_tls_key_file");
  }
  o.peer_tls.enabled = absl::GetFlag(FLAGS_peer_tls) || !ca_file.empty() || !cert_file.empty();
  if (!ca_file.empty()) {
    auto roots = ReadNonEmptyFile(ca_file, "peer_tls_ca_file");
    if (!roots.ok()) return roots.status();
    o.peer_tls.root_certs_pem = *std::move(roots);
  }
  if (!cert_file.empty()) {
    // Followed on disk like the serving pair (--tls_reload_seconds): a
    // renewed client certificate is presented without a restart.
    const absl::Duration interval = TlsReloadIntervalFromFlags();
    auto identity = TlsFiles::Create(absl::StrCat(service, "-peer-identity"), cert_file, key_file,
                                     interval);
    if (!identity.ok()) return identity.status();
    o.peer_tls.client_identity = std::shared_ptr<TlsFiles>(std::move(*identity));
    o.peer_tls.root_certs_file = ca_file;
    o.peer_tls.reload_interval = interval;
  }
  o.kafka_bootstrap = backends.kafka_bootstrap;
  return o;
}

absl::StatusOr<ServiceRuntimeOptions> PlatformRuntimeOptionsFromFlags(const std::string& service) {
  ServiceRuntimeOptions o = RuntimeOptionsFromFlags(service);
  auto platform = PlatformOptionsFromFlags(service, o.backends);
  if (!platform.ok()) return platform.status();
  o.platform = *std::move(platform);
  return o;
}

}  // namespace dialgrid
