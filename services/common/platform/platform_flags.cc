#include "services/common/platform/platform_flags.h"

#include "absl/flags/flag.h"
#include "services/common/core/env.h"
#include "services/common/server/service_main.h"

ABSL_FLAG(std::string, tenancy, dialgrid::EnvOr("DIALGRID_TENANCY", "127.0.0.1:7001"),
          "Tenancy service address. Env DIALGRID_TENANCY.");
ABSL_FLAG(std::string, service_secret_file, dialgrid::EnvOr("DIALGRID_SERVICE_SECRET_FILE", ""),
          "File with the platform services' secret (ROLE_PLATFORM_SERVICE). "
          "Env DIALGRID_SERVICE_SECRET_FILE.");

namespace dialgrid {

absl::StatusOr<PlatformClientsOptions> PlatformOptionsFromFlags(const std::string& service,
                                                                const BackendOptions& backends) {
  auto secret = ReadSecretFile(absl::GetFlag(FLAGS_service_secret_file));
  if (!secret.ok()) return secret.status();
  PlatformClientsOptions o;
  o.service = service;
  o.tenancy_address = absl::GetFlag(FLAGS_tenancy);
  o.service_secret = *std::move(secret);
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
