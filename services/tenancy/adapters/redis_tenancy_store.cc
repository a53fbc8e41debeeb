#include "services/tenancy/adapters/redis_tenancy_store.h"

#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/events/outbox_record.h"

namespace dialgrid::tenancy {
namespace {

const char kTenantIndex[] = "{dg}:tenants";
const char kCredentialIndex[] = "{dg}:credential-index";

std::string TenantKey(absl::string_view tenant) {
  return absl::StrCat(TenantHashTag(tenant), ":tenant");
}
std::string CredentialKey(absl::string_view tenant, absl::string_view id) {
  return absl::StrCat(TenantHashTag(tenant), ":credential:", id);
}
std::string CredentialListKey(absl::string_view tenant) {
  return absl::StrCat(TenantHashTag(tenant), ":credentials");
}

// KEYS[1] tenant hash, KEYS[2] outbox; ARGV proto, etag, event records...
// 1 = created, 0 = exists (nothing written).
const redis::Script& CreateTenantScript() {
  static const redis::Script* s = new redis::Script(std::string(events::RedisOutbox::kLuaAppend) + R"lua(
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'proto', ARGV[1], 'etag', ARGV[2])
for i = 3, #ARGV do outbox(ARGV[i]) end
return 1
)lua");
  return *s;
}

// KEYS[1] tenant hash, KEYS[2] outbox; ARGV expected etag, proto, new etag,
// event records... 1 replaced, 0 etag mismatch, -1 missing.
const redis::Script& ReplaceTenantScript() {
  static const redis::Script* s = new redis::Script(std::string(events::RedisOutbox::kLuaAppend) + R"lua(
local cur = redis.call('HGET', KEYS[1], 'etag')
if not cur then return -1 end
if cur ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'proto', ARGV[2], 'etag', ARGV[3])
for i = 4, #ARGV do outbox(ARGV[i]) end
return 1
)lua");
  return *s;
}

absl::StatusOr<StoredCredential> DecodeCredential(const redis::Reply& reply) {
  // HMGET proto hash tenant
  if (reply.elements.size() != 3 || reply.elements[0].is_nil()) {
    return NotFound("CREDENTIAL_NOT_FOUND", "credential not found");
  }
  StoredCredential c;
  if (!c.credential.ParseFromString(reply.elements[0].str)) {
    return absl::DataLossError("stored credential does not parse");
  }
  c.secret_hash = reply.elements[1].str;
  c.tenant = reply.elements[2].str;
  return c;
}

}  // namespace

RedisTenancyStore::RedisTenancyStore(std::shared_ptr<redis::Client> redis,
                                     std::shared_ptr<events::RedisOutbox> outbox)
    : redis_(std::move(redis)), outbox_(std::move(outbox)) {}

absl::Status RedisTenancyStore::CreateTenant(const v1::Tenant& tenant, const Events& events) {
  std::string id = tenant.name().substr(std::string("tenants/").size());
  std::vector<std::string> args = {tenant.SerializeAsString(), tenant.etag()};
  events::AppendEnvelopeRecords(events, args);
  auto r = outbox_->EvalWithEvents(CreateTenantScript(), {TenantKey(id)}, args, id);
  if (!r.ok()) return r.status();
  // The index is written even when the tenant exists, so a retry after a
  // crash between the two writes repairs it.
  auto z = redis_->Command({"ZADD", kTenantIndex, "0", id});
  if (!z.ok()) return z.status();
  if (r->integer == 0) {
    return AlreadyExists("TENANT_EXISTS", absl::StrCat("tenant \"", id, "\" already exists"));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Tenant> RedisTenancyStore::GetTenant(absl::string_view tenant_id) {
  auto r = redis_->Command({"HGET", TenantKey(tenant_id), "proto"});
  if (!r.ok()) return r.status();
  if (r->is_nil()) {
    return NotFound("TENANT_NOT_FOUND", absl::StrCat("tenant \"", tenant_id, "\" not found"));
  }
  v1::Tenant t;
  if (!t.ParseFromString(r->str)) return absl::DataLossError("stored tenant does not parse");
  return t;
}

absl::StatusOr<std::vector<std::string>> RedisTenancyStore::RangeIds(const std::string& key,
                                                                     const Page& page,
                                                                     std::string& next_after) {
  std::string min = page.after.empty() ? "-" : absl::StrCat("(", page.after);
  auto r = redis_->Command(
      {"ZRANGEBYLEX", key, min, "+", "LIMIT", "0", std::to_string(page.size + 1)});
  if (!r.ok()) return r.status();
  std::vector<std::string> ids;
  for (const auto& e : r->elements) ids.push_back(e.str);
  next_after.clear();
  if (static_cast<int>(ids.size()) > page.size) {
    ids.resize(static_cast<size_t>(page.size));
    next_after = ids.back();
  }
  return ids;
}

absl::StatusOr<std::vector<v1::Tenant>> RedisTenancyStore::ListTenants(const Page& page,
                                                                       std::string& next_after) {
  auto ids = RangeIds(kTenantIndex, page, next_after);
  if (!ids.ok()) return ids.status();
  std::vector<std::vector<std::string>> cmds;
  for (const auto& id : *ids) cmds.push_back({"HGET", TenantKey(id), "proto"});
  auto replies = redis_->Pipeline(cmds);
  if (!replies.ok()) return replies.status();
  std::vector<v1::Tenant> out;
  for (const auto& r : *replies) {
    if (r.is_nil()) continue;  // index entry of a half-created tenant
    v1::Tenant t;
    if (!t.ParseFromString(r.str)) return absl::DataLossError("stored tenant does not parse");
    out.push_back(std::move(t));
  }
  return out;
}

absl::Status RedisTenancyStore::ReplaceTenant(const v1::Tenant& tenant,
                                              absl::string_view expected_etag,
                                              const Events& events) {
  std::string id = tenant.name().substr(std::string("tenants/").size());
  std::vector<std::string> args = {std::string(expected_etag), tenant.SerializeAsString(),
                                   tenant.etag()};
  events::AppendEnvelopeRecords(events, args);
  auto r = outbox_->EvalWithEvents(ReplaceTenantScript(), {TenantKey(id)}, args, id);
  if (!r.ok()) return r.status();
  if (r->integer == -1) return NotFound("TENANT_NOT_FOUND", "tenant not found");
  if (r->integer == 0) {
    return Aborted("ETAG_MISMATCH", "the tenant changed since it was read; read it again and retry");
  }
  return absl::OkStatus();
}

absl::Status RedisTenancyStore::CreateCredential(const StoredCredential& c, const Events& events) {
  std::string id = c.credential.name().substr(c.credential.name().rfind('/') + 1);
  // The index claims the id first (HSETNX), so an id collision never touches
  // the existing credential. Until the record is written the id cannot
  // authenticate (NOT_FOUND), so a crash in between leaves nothing usable.
  auto idx = redis_->Command({"HSETNX", kCredentialIndex, id, c.tenant});
  if (!idx.ok()) return idx.status();
  if (idx->integer == 0) return AlreadyExists("CREDENTIAL_EXISTS", "credential id already in use");
  // The record, its listing and its events in one transaction.
  auto r = outbox_->ExecWithEvents(
      {{"HSET", CredentialKey(c.tenant, id), "proto", c.credential.SerializeAsString(), "hash",
        c.secret_hash, "tenant", c.tenant},
       {"ZADD", CredentialListKey(c.tenant), "0", id}},
      c.tenant, events);
  return r.ok() ? absl::OkStatus() : r.status();
}

absl::StatusOr<StoredCredential> RedisTenancyStore::GetCredential(absl::string_view tenant,
                                                                  absl::string_view id) {
  auto r = redis_->Command({"HMGET", CredentialKey(tenant, id), "proto", "hash", "tenant"});
  if (!r.ok()) return r.status();
  return DecodeCredential(*r);
}

absl::StatusOr<StoredCredential> RedisTenancyStore::FindCredential(absl::string_view id) {
  auto t = redis_->Command({"HGET", kCredentialIndex, std::string(id)});
  if (!t.ok()) return t.status();
  if (t->is_nil()) return NotFound("CREDENTIAL_NOT_FOUND", "credential not found");
  return GetCredential(t->str, id);
}

absl::StatusOr<std::vector<v1::Credential>> RedisTenancyStore::ListCredentials(
    absl::string_view tenant, const Page& page, std::string& next_after) {
  auto ids = RangeIds(CredentialListKey(tenant), page, next_after);
  if (!ids.ok()) return ids.status();
  std::vector<std::vector<std::string>> cmds;
  for (const auto& id : *ids) cmds.push_back({"HGET", CredentialKey(tenant, id), "proto"});
  auto replies = redis_->Pipeline(cmds);
  if (!replies.ok()) return replies.status();
  std::vector<v1::Credential> out;
  for (const auto& r : *replies) {
    if (r.is_nil()) continue;
    v1::Credential c;
    if (!c.ParseFromString(r.str)) return absl::DataLossError("stored credential does not parse");
    out.push_back(std::move(c));
  }
  return out;
}

absl::Status RedisTenancyStore::UpdateCredential(const StoredCredential& c, const Events& events) {
  std::string id = c.credential.name().substr(c.credential.name().rfind('/') + 1);
  auto r = outbox_->ExecWithEvents(
      {{"HSET", CredentialKey(c.tenant, id), "proto", c.credential.SerializeAsString()}}, c.tenant,
      events);
  return r.ok() ? absl::OkStatus() : r.status();
}

absl::Status RedisTenancyStore::Ping() { return redis_->Ping(); }

}  // namespace dialgrid::tenancy
