#include "services/tenancy/adapters/redis_tenancy_store.h"

#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/events/outbox_record.h"
#include "services/tenancy/adapters/lua/create_credential.lua.h"
#include "services/tenancy/adapters/lua/create_tenant.lua.h"
#include "services/tenancy/adapters/lua/replace_tenant.lua.h"
#include "services/tenancy/adapters/lua/update_credential.lua.h"
#include "services/tenancy/domain/tenancy_rules.h"

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

std::string RequestKey(absl::string_view tenant, const RequestRecord& request) {
  // Without a request id the script is given a key of the same slot that it
  // never touches (every key a script may touch is in KEYS).
  return request.present() ? absl::StrCat(TenantHashTag(tenant), ":request:", request.index)
                           : absl::StrCat(TenantHashTag(tenant), ":none");
}
std::string TenantClaimKey(absl::string_view index) {
  return absl::StrCat(TenantHashTag(""), ":tenant-claim:", index);
}
std::string Millis(absl::Duration d) { return std::to_string(absl::ToInt64Milliseconds(d)); }

std::string WithOutbox(const char* body) {
  return std::string(events::RedisOutbox::kLuaAppend) + body;
}
const redis::Script& CreateTenantScript() {
  static const redis::Script* s = new redis::Script(WithOutbox(lua::kCreateTenant));
  return *s;
}
const redis::Script& ReplaceTenantScript() {
  static const redis::Script* s = new redis::Script(WithOutbox(lua::kReplaceTenant));
  return *s;
}
const redis::Script& CreateCredentialScript() {
  static const redis::Script* s = new redis::Script(WithOutbox(lua::kCreateCredential));
  return *s;
}
const redis::Script& UpdateCredentialScript() {
  static const redis::Script* s = new redis::Script(WithOutbox(lua::kUpdateCredential));
  return *s;
}

// The reply {1} / {0} / {2, sealed} of the create scripts: created, exists
// (-> `exists`), or replayed.
absl::StatusOr<Created> CreateOutcome(const redis::Reply& r, const absl::Status& exists) {
  if (r.elements.empty() || r.elements[0].type != redis::Reply::Type::kInteger) {
    return absl::InternalError("redis: unexpected reply of a create script");
  }
  switch (r.elements[0].integer) {
    case 1:
      return Created{};
    case 0:
      return exists;
    case 2:
      if (r.elements.size() == 2) return Created{true, r.elements[1].str};
      break;
    default:
      break;
  }
  return absl::InternalError("redis: unexpected reply of a create script");
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

absl::StatusOr<Created> RedisTenancyStore::CreateTenant(const v1::Tenant& tenant,
                                                        const Events& events,
                                                        const RequestRecord& request) {
  std::string id = tenant.name().substr(std::string("tenants/").size());
  if (request.present()) {
    // The request id is the vendor's, not the tenant's: it may name one
    // tenant only. Claimed in the vendor scope ({vendor}, a slot of its own)
    // before the tenant's script; a claim whose create never ran is harmless
    // (a retry with the same request proceeds, another request is refused).
    const std::string claim = TenantClaimKey(request.index);
    auto c = redis_->Pipeline({{"SET", claim, id, "NX", "PX", Millis(kRequestRetention)},
                               {"GET", claim}});
    if (!c.ok()) return c.status();
    if ((*c)[1].is_nil() || (*c)[1].str != id) return RequestIdReused();
  }
  // The listing first: a tenant is listed as soon as it exists, and a listed
  // id without a tenant (a create that failed after this) is skipped.
  auto z = redis_->Command({"ZADD", kTenantIndex, "0", id});
  if (!z.ok()) return z.status();
  std::vector<std::string> args = {tenant.SerializeAsString(), tenant.etag(), request.sealed,
                                   Millis(kRequestRetention)};
  events::AppendEnvelopeRecords(events, args);
  auto r = outbox_->EvalWithEvents(CreateTenantScript(), {TenantKey(id), RequestKey(id, request)},
                                   args, id);
  if (!r.ok()) return r.status();
  return CreateOutcome(
      *r, AlreadyExists("TENANT_EXISTS", absl::StrCat("tenant \"", id, "\" already exists")));
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

absl::StatusOr<Created> RedisTenancyStore::CreateCredential(const StoredCredential& c,
                                                            const Events& events,
                                                            const RequestRecord& request) {
  std::string id = c.credential.name().substr(c.credential.name().rfind('/') + 1);
  // The index ({dg}, a slot of its own) claims the id first (HSETNX), so an
  // id collision never touches the existing credential. Until the script has
  // stored the record the id cannot authenticate (NOT_FOUND), so a crash in
  // between leaves nothing usable.
  auto idx = redis_->Command({"HSETNX", kCredentialIndex, id, c.tenant});
  if (!idx.ok()) return idx.status();
  if (idx->integer == 0) return AlreadyExists("CREDENTIAL_EXISTS", "credential id already in use");
  // The record, its listing, the request record and the events in one script.
  std::vector<std::string> args = {id, c.credential.SerializeAsString(), c.secret_hash, c.tenant,
                                   request.sealed, Millis(kRequestRetention)};
  events::AppendEnvelopeRecords(events, args);
  auto r = outbox_->EvalWithEvents(
      CreateCredentialScript(),
      {CredentialKey(c.tenant, id), CredentialListKey(c.tenant), RequestKey(c.tenant, request)},
      args, c.tenant);
  if (!r.ok()) return r.status();
  auto out = CreateOutcome(*r, AlreadyExists("CREDENTIAL_EXISTS", "credential id already in use"));
  if (out.ok() && out->replayed) {
    // A concurrent retry stored the request first: give back the fresh id
    // claimed above (nobody else can hold it). Best effort: an unreleased
    // claim without a record authenticates nothing.
    (void)redis_->Command({"HDEL", kCredentialIndex, id});
  }
  return out;
}

absl::StatusOr<std::string> RedisTenancyStore::GetCredentialRequest(absl::string_view tenant,
                                                                    absl::string_view index) {
  if (index.empty()) return absl::NotFoundError("no request id");
  auto r = redis_->Command({"GET", RequestKey(tenant, RequestRecord{std::string(index), ""})});
  if (!r.ok()) return r.status();
  if (r->is_nil()) return absl::NotFoundError("no request record");
  return std::move(r->str);
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
  std::vector<std::string> args = {c.credential.SerializeAsString()};
  events::AppendEnvelopeRecords(events, args);
  auto r = outbox_->EvalWithEvents(UpdateCredentialScript(), {CredentialKey(c.tenant, id)}, args,
                                   c.tenant);
  if (!r.ok()) return r.status();
  if (r->integer != 1) return NotFound("CREDENTIAL_NOT_FOUND", "credential not found");
  return absl::OkStatus();
}

absl::Status RedisTenancyStore::Ping() { return redis_->Ping(); }

}  // namespace dialgrid::tenancy
