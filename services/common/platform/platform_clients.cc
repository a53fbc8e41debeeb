#include "services/common/platform/platform_clients.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/auth/remote_credential_verifier.h"
#include "services/common/auth/tenancy_events.h"
#include "services/common/core/errors.h"
#include "services/common/core/random.h"
#include "services/common/server/grpc_status.h"

namespace dialgrid {

class PlatformClients::CachedTenantDirectory final : public TenantDirectory {
 public:
  CachedTenantDirectory(std::shared_ptr<grpc::Channel> channel, std::string secret,
                        absl::Duration timeout, absl::Duration ttl, const Clock& clock)
      : stub_(tenancy::v1::TenancyService::NewStub(channel)),
        secret_(std::move(secret)),
        timeout_(timeout),
        ttl_(ttl),
        clock_(clock) {}

  absl::StatusOr<tenancy::v1::Tenant> Get(const std::string& tenant) override {
    absl::Time now = clock_.Now();
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = cache_.find(tenant);
      if (it != cache_.end() && now < it->second.second) return it->second.first;
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
    ctx.AddMetadata("authorization", absl::StrCat("Bearer ", secret_));
    tenancy::v1::GetTenantRequest req;
    req.set_name(absl::StrCat("tenants/", tenant));
    tenancy::v1::Tenant t;
    grpc::Status st = stub_->GetTenant(&ctx, req, &t);
    if (!st.ok()) {
      absl::Status s = FromGrpcStatus(st);
      if (absl::IsNotFound(s)) return s;
      return Unavailable("TENANCY_UNAVAILABLE",
                         absl::StrCat("cannot read tenant now: ", s.message()));
    }
    std::lock_guard<std::mutex> lock(mu_);
    cache_[tenant] = {t, now + ttl_};
    return t;
  }

  void Invalidate(const std::string& tenant) {
    std::lock_guard<std::mutex> lock(mu_);
    cache_.erase(tenant);
  }

 private:
  std::unique_ptr<tenancy::v1::TenancyService::Stub> stub_;
  std::string secret_;
  absl::Duration timeout_;
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
  p->channel_ = grpc::CreateChannel(options.tenancy_address, grpc::InsecureChannelCredentials());
  auto remote = std::make_shared<auth::RemoteCredentialVerifier>(
      p->channel_, options.service_secret, options.call_timeout);
  auth::CacheOptions cache_options;
  cache_options.ttl = options.cache_ttl;
  p->verifier_ = std::make_shared<auth::CachingCredentialVerifier>(remote, cache_options, clock);
  p->tenants_ = std::make_shared<CachedTenantDirectory>(
      p->channel_, options.service_secret, options.call_timeout, options.cache_ttl, clock);

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
