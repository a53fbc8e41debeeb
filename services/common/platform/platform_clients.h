#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "dialgrid/tenancy/v1/tenancy.grpc.pb.h"
#include "services/common/auth/credential_verifier.h"
#include "services/common/client/peer_channel.h"
#include "services/common/core/clock.h"
#include "services/common/kafka/kafka_consumer.h"

namespace dialgrid {

// Reads tenants (state, quotas) from the tenancy service, cached briefly.
class TenantDirectory {
 public:
  virtual ~TenantDirectory() = default;
  // NOT_FOUND for unknown tenants; UNAVAILABLE when tenancy cannot answer.
  virtual absl::StatusOr<tenancy::v1::Tenant> Get(const std::string& tenant) = 0;
};

struct PlatformClientsOptions {
  std::string service;            // e.g. "contacts"; names the consumer group
  std::string tenancy_address;    // host:port of the tenancy service
  std::string service_secret;     // this platform's ROLE_PLATFORM_SERVICE secret
  // TLS to tenancy and to every peer from ConnectPeer; plaintext by default.
  client::PeerTlsOptions peer_tls;
  std::string kafka_bootstrap;
  // The longest a call to tenancy may take (no incoming call's deadline is
  // known to the verifier and the directory, so always this).
  absl::Duration call_timeout = absl::Seconds(2);
  absl::Duration cache_ttl = absl::Seconds(10);
};

// What every service but tenancy needs from the platform: a cached credential
// verifier and tenant directory backed by the tenancy service, kept fresh by
// the "tenancy" topic (revocations, suspensions and quota changes drop cached
// entries at once; the TTL bounds staleness if an event is missed). Each
// replica reads the topic in its own consumer group, from the latest offset.
class PlatformClients {
 public:
  static absl::StatusOr<std::unique_ptr<PlatformClients>> Create(
      const PlatformClientsOptions& options, const Clock& clock);
  ~PlatformClients();

  auth::CredentialVerifier& verifier() { return *verifier_; }
  TenantDirectory& tenants();
  // One quota of a tenant from the cached directory, as TenantRateLimiter and
  // other quota checks take it, e.g.
  // QuotaLookup(&tenancy::v1::Quota::max_requests_per_second). The function
  // refers to this object, which must outlive it.
  std::function<absl::StatusOr<int64_t>(const std::string&)> QuotaLookup(
      int64_t (tenancy::v1::Quota::*quota)() const);
  // The tenancy peer that the verifier and the directory call.
  const std::shared_ptr<client::PeerChannel>& tenancy() const { return tenancy_; }
  // A channel to another peer service, secured and credentialed as the one
  // to tenancy (options.peer_tls, the service secret); calls take at most
  // `max_timeout`. Call once per peer at start-up and share the result.
  absl::StatusOr<std::shared_ptr<client::PeerChannel>> ConnectPeer(std::string name,
                                                                   std::string address,
                                                                   absl::Duration max_timeout);
  // Starts and stops the tenancy-topic consumer.
  void Start();
  void Stop();

 private:
  class CachedTenantDirectory;
  PlatformClients() = default;

  PlatformClientsOptions options_;
  std::shared_ptr<client::PeerChannel> tenancy_;
  std::shared_ptr<auth::CachingCredentialVerifier> verifier_;
  std::shared_ptr<CachedTenantDirectory> tenants_;
  std::unique_ptr<kafka::KafkaConsumer> consumer_;
};

}  // namespace dialgrid
