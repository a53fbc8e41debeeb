#include "services/tenancy/testing/memory_tenancy_store.h"

#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"
#include "services/tenancy/domain/tenancy_rules.h"

namespace dialgrid::tenancy::testing {
namespace {

std::string TenantIdOf(const v1::Tenant& t) {
  return t.name().substr(std::string("tenants/").size());
}
std::string CredentialIdOf(const v1::Credential& c) {
  return c.name().substr(c.name().rfind('/') + 1);
}

}  // namespace

void MemoryTenancyStore::Expire() {
  const absl::Time now = clock_.Now();
  for (auto& [scope, records] : requests_) {
    for (auto it = records.begin(); it != records.end();) {
      it = it->second.expires <= now ? records.erase(it) : std::next(it);
    }
  }
  for (auto it = tenant_claims_.begin(); it != tenant_claims_.end();) {
    it = it->second.expires <= now ? tenant_claims_.erase(it) : std::next(it);
  }
}

void MemoryTenancyStore::Record(const std::string& tenant, const Events& events) {
  for (const auto& e : events) events_.emplace_back(tenant, e);
}

absl::StatusOr<Created> MemoryTenancyStore::CreateTenant(const v1::Tenant& tenant,
                                                         const Events& events,
                                                         const RequestRecord& request) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!failure_.ok()) return failure_;
  Expire();
  const std::string id = TenantIdOf(tenant);
  const absl::Time expires = clock_.Now() + kRequestRetention;
  if (request.present()) {
    auto claim = tenant_claims_.emplace(request.index, Kept{id, expires}).first;
    if (claim->second.value != id) return RequestIdReused();
    auto& records = requests_[id];
    auto kept = records.find(request.index);
    if (kept != records.end()) return Created{true, kept->second.value};
  }
  if (tenants_.count(id) != 0) {
    return AlreadyExists("TENANT_EXISTS", absl::StrCat("tenant \"", id, "\" already exists"));
  }
  tenants_[id] = tenant;
  if (request.present()) requests_[id][request.index] = Kept{request.sealed, expires};
  Record(id, events);
  return Created{};
}

absl::StatusOr<v1::Tenant> MemoryTenancyStore::GetTenant(absl::string_view tenant_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!failure_.ok()) return failure_;
  auto it = tenants_.find(std::string(tenant_id));
  if (it == tenants_.end()) {
    return NotFound("TENANT_NOT_FOUND", absl::StrCat("tenant \"", tenant_id, "\" not found"));
  }
  return it->second;
}

absl::StatusOr<std::vector<v1::Tenant>> MemoryTenancyStore::ListTenants(const Page& page,
                                                                        std::string& next_after) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!failure_.ok()) return failure_;
  std::vector<v1::Tenant> out;
  for (auto it = tenants_.upper_bound(page.after);
       it != tenants_.end() && static_cast<int>(out.size()) < page.size; ++it) {
    out.push_back(it->second);
  }
  next_after.clear();
  if (!out.empty() && tenants_.upper_bound(TenantIdOf(out.back())) != tenants_.end()) {
    next_after = TenantIdOf(out.back());
  }
  return out;
}

absl::Status MemoryTenancyStore::ReplaceTenant(const v1::Tenant& tenant,
                                               absl::string_view expected_etag,
                                               const Events& events) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!failure_.ok()) return failure_;
  const std::string id = TenantIdOf(tenant);
  auto it = tenants_.find(id);
  if (it == tenants_.end()) return NotFound("TENANT_NOT_FOUND", "tenant not found");
  if (it->second.etag() != expected_etag) {
    return Aborted("ETAG_MISMATCH",
                   "the tenant changed since it was read; read it again and retry");
  }
  it->second = tenant;
  Record(id, events);
  return absl::OkStatus();
}

absl::StatusOr<Created> MemoryTenancyStore::CreateCredential(const StoredCredential& credential,
                                                             const Events& events,
                                                             const RequestRecord& request) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!failure_.ok()) return failure_;
  Expire();
  const std::string id = CredentialIdOf(credential.credential);
  if (credentials_.count(id) != 0) {
    return AlreadyExists("CREDENTIAL_EXISTS", "credential id already in use");
  }
  if (request.present()) {
    auto& records = requests_[credential.tenant];
    auto kept = records.find(request.index);
    if (kept != records.end()) return Created{true, kept->second.value};
    records[request.index] = Kept{request.sealed, clock_.Now() + kRequestRetention};
  }
  credentials_[id] = credential;
  Record(credential.tenant, events);
  return Created{};
}

absl::StatusOr<std::string> MemoryTenancyStore::GetCredentialRequest(absl::string_view tenant,
                                                                     absl::string_view index) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!failure_.ok()) return failure_;
  Expire();
  auto scope = requests_.find(std::string(tenant));
  if (scope == requests_.end()) return absl::NotFoundError("no request record");
  auto it = scope->second.find(std::string(index));
  if (it == scope->second.end()) return absl::NotFoundError("no request record");
  return it->second.value;
}

absl::StatusOr<StoredCredential> MemoryTenancyStore::GetCredential(absl::string_view tenant,
                                                                   absl::string_view id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!failure_.ok()) return failure_;
  auto it = credentials_.find(std::string(id));
  if (it == credentials_.end() || it->second.tenant != tenant) {
    return NotFound("CREDENTIAL_NOT_FOUND", "credential not found");
  }
  return it->second;
}

absl::StatusOr<StoredCredential> MemoryTenancyStore::FindCredential(absl::string_view id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!failure_.ok()) return failure_;
  auto it = credentials_.find(std::string(id));
  if (it == credentials_.end()) return NotFound("CREDENTIAL_NOT_FOUND", "credential not found");
  return it->second;
}

absl::StatusOr<std::vector<v1::Credential>> MemoryTenancyStore::ListCredentials(
    absl::string_view tenant, const Page& page, std::string& next_after) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!failure_.ok()) return failure_;
  std::vector<v1::Credential> out;
  next_after.clear();
  for (auto it = credentials_.upper_bound(page.after); it != credentials_.end(); ++it) {
    if (it->second.tenant != tenant) continue;
    if (static_cast<int>(out.size()) == page.size) {
      next_after = CredentialIdOf(out.back());
      break;
    }
    out.push_back(it->second.credential);
  }
  return out;
}

absl::Status MemoryTenancyStore::UpdateCredential(const StoredCredential& credential,
                                                  const Events& events) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!failure_.ok()) return failure_;
  const std::string id = CredentialIdOf(credential.credential);
  auto it = credentials_.find(id);
  if (it == credentials_.end() || it->second.tenant != credential.tenant) {
    return NotFound("CREDENTIAL_NOT_FOUND", "credential not found");
  }
  it->second.credential = credential.credential;  // the record; hash and tenant stay
  Record(credential.tenant, events);
  return absl::OkStatus();
}

absl::Status MemoryTenancyStore::Ping() {
  std::lock_guard<std::mutex> lock(mu_);
  return failure_;
}

void MemoryTenancyStore::SetFailure(absl::Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  failure_ = std::move(status);
}

std::vector<std::pair<std::string, event::v1::Envelope>> MemoryTenancyStore::events() const {
  std::lock_guard<std::mutex> lock(mu_);
  return events_;
}

std::map<std::string, std::string> MemoryTenancyStore::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  const absl::Time now = clock_.Now();
  std::map<std::string, std::string> out;
  for (const auto& [scope, records] : requests_) {
    for (const auto& [index, kept] : records) {
      if (kept.expires > now) out[absl::StrCat(scope, "/", index)] = kept.value;
    }
  }
  return out;
}

int MemoryTenancyStore::credential_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(credentials_.size());
}

}  // namespace dialgrid::tenancy::testing
