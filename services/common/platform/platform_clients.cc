#include "services/common/platform/platform_clients.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/auth/remote_credential_verifier.h"
#include "services/common/auth/tenancy_events.h"
#include "services/common/core/errors.h"
#include "services/common/core/random.h"

namespace dialgrid {

class PlatformClients::CachedTenantDirectory final : public TenantDirectory {
 public:
  CachedTenantDirectory(std::shared_ptr<client::PeerChannel> tenancy, absl::Duration ttl,
                        const Clock& clock)
      : tenancy_(std::move(tenancy)), ttl_(ttl), clock_(clock) {}

  absl::StatusOr<tenancy::v1::Tenant> Get(const std::string& tenant) override {
    absl::Time now = clock_.Now();
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = cache_.find(tenant);
      if (it != cache_.end() && now < it->second.second) return it->second.first;
    }
    tenancy::v1::GetTenantRequest req;
    req.set_name(absl::StrCat("tenants/", tenant));
    // Outside of any incoming call's deadline (the directory's interface has
    // none): the peer's max_timeout.
    auto t = tenancy_.Call(&tenancy::v1::TenancyService::Stub::GetTenant, req);
    if (!t.ok()) {
      if (absl::IsNotFound(t.status())) return t.status();
      return Unavailable("TENANCY_UNAVAILABLE",
                         absl::StrCat("cannot read tenant now: ", t.status().message()));
    }
    std::lock_guard<std::mutex> lock(mu_);
    cache_[tenant] = {*t, now + ttl_};
    return *std::move(t);
  }

  void Invalidate(const std::string& tenant) {
    std::lock_guard<std::mutex> lock(mu_);
    cache_.erase(tenant);
  }

 private:
  client::PeerClient<tenancy::v1::TenancyService> tenancy_;
  absl::Duration ttl_;
  const Clock& clock_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, std::pair<tenancy::v1::Tenant, absl::Time>> cache_;
};

absl::StatusOr<std::unique_ptr<PlatformClients>> PlatformClients::Create(
    const PlatformClientsOptions& options, const Clock& clock) {
  if (options.tenancy_address.empty() || options.service_secret.empty()) {
    return absl::InvalidArgumentError("the tenancy address and the service secret are required");
  }
  std::unique_ptr<PlatformClients> p(new PlatformClients());
  p->options_ = options;
  auto tenancy = p->ConnectPeer("tenancy", options.tenancy_address, options.call_timeout);
  if (!tenancy.ok()) return tenancy.status();
  p->tenancy_ = *std::move(tenancy);
  auto remote = std::make_shared<auth::RemoteCredentialVerifier>(p->tenancy_);
  auth::CacheOptions cache_options;
  cache_options.ttl = options.cache_ttl;
  p->verifier_ = std::make_shared<auth::CachingCredentialVerifier>(remote, cache_options, clock);
  p->tenants_ = std::make_shared<CachedTenantDirectory>(p->tenancy_, options.cache_ttl, clock);

  kafka::ConsumerOptions co;
  co.bootstrap_servers = options.kafka_bootstrap;
  // Every replica must see every tenancy event: a group of its own.
  co.group_id = absl::StrCat(options.service, "-tenancy-cache-", RandomHex(6));
  co.topics = {auth::kTenancyTopic};
  co.auto_offset_reset = "latest";
  auto verifier = p->verifier_;
  auto tenants = p->tenants_;
  auto consumer = kafka::KafkaConsumer::Create(
      co,
      [verifier, tenants](const event::v1::Envelope& e) {
        if (!e.tenant().empty()) tenants->Invalidate(e.tenant());
        return auth::ApplyTenancyEvent(e, *verifier);
      },
      nullptr);
  if (!consumer.ok()) return consumer.status();
  p->consumer_ = std::move(*consumer);
  return p;
}

PlatformClients::~PlatformClients() { Stop(); }

absl::StatusOr<std::shared_ptr<client::PeerChannel>> PlatformClients::ConnectPeer(
    std::string name, std::string address, absl::Duration max_timeout) {
  client::PeerOptions o;
  o.name = std::move(name);
  o.address = std::move(address);
  o.tls = options_.peer_tls;
  o.credential = options_.service_secret;
  o.max_timeout = max_timeout;
  return client::PeerChannel::Create(std::move(o));
}

TenantDirectory& PlatformClients::tenants() { return *tenants_; }

std::function<absl::StatusOr<int64_t>(const std::string&)> PlatformClients::QuotaLookup(
    int64_t (tenancy::v1::Quota::*quota)() const) {
  return [this, quota](const std::string& tenant) -> absl::StatusOr<int64_t> {
    auto t = tenants().Get(tenant);
    if (!t.ok()) return t.status();
    return (t->quota().*quota)();
  };
}

void PlatformClients::Start() { consumer_->Start(); }

void PlatformClients::Stop() {
  if (consumer_) consumer_->Stop();
}

}  // namespace dialgrid
