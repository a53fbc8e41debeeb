#pragma once

// The flags of every service that reaches the platform (all but tenancy),
// defined once in platform_flags.cc: --tenancy, --service_secret_file,
// --peer_tls and --peer_tls_ca_file.

#include <string>

#include "absl/status/statusor.h"
#include "services/common/platform/platform_clients.h"
#include "services/common/server/backends.h"
#include "services/common/server/service_runtime.h"

namespace dialgrid {

// From --tenancy and --service_secret_file (read here: INVALID_ARGUMENT when
// unreadable or empty), TLS to peers from --peer_tls and --peer_tls_ca_file
// (read here, likewise); Kafka as in `backends`.
absl::StatusOr<PlatformClientsOptions> PlatformOptionsFromFlags(const std::string& service,
                                                                const BackendOptions& backends);

// The runtime options of a service that reaches the platform: the common
// flags' (RuntimeOptionsFromFlags) with `platform` from the flags above.
absl::StatusOr<ServiceRuntimeOptions> PlatformRuntimeOptionsFromFlags(const std::string& service);

}  // namespace dialgrid
