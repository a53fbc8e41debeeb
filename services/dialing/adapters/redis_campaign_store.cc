#include "services/dialing/adapters/redis_campaign_store.h"

#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/core/request_ids.h"
#include "services/common/events/outbox_record.h"
#include "services/dialing/adapters/lua/create_campaign.lua.h"
#include "services/dialing/adapters/lua/delete_campaign.lua.h"
#include "services/dialing/adapters/lua/replace_campaign.lua.h"

namespace dialgrid::dialing {
namespace {

std::string CampaignKey(const std::string& tenant, absl::string_view id) {
  return absl::StrCat(TenantHashTag(tenant), ":campaign:", id);
}
std::string IndexKey(const std::string& tenant) {
  return absl::StrCat(TenantHashTag(tenant), ":campaigns");
}
std::string RequestKey(const std::string& tenant, absl::string_view request_id) {
  return absl::StrCat(TenantHashTag(tenant), ":campaign-req:", request_id);
}

absl::Status ScriptError(const absl::Status& st, absl::string_view what) {
  if (st.code() == absl::StatusCode::kUnavailable) return st;
  return absl::InternalError(absl::StrCat(what, ": ", st.message()));
}

absl::Status Outcome(const std::string& reply) {
  if (reply == "NOT_FOUND") return NotFound("CAMPAIGN_NOT_FOUND", "no such campaign");
  if (reply == "ETAG_MISMATCH") {
    return Aborted("ETAG_MISMATCH", "the campaign was changed meanwhile; read it again");
  }
  return absl::OkStatus();
}

}  // namespace

RedisCampaignStore::RedisCampaignStore(std::shared_ptr<redis::Client> redis,
                                       std::shared_ptr<events::RedisOutbox> outbox)
    : redis_(std::move(redis)), outbox_(std::move(outbox)) {}

absl::StatusOr<CampaignStore::Created> RedisCampaignStore::Create(
    const std::string& tenant, const std::string& id, const StoredCampaign& campaign,
    absl::string_view request_id, absl::string_view fingerprint, const Events& events) {
  static const redis::Script* script =
      new redis::Script(std::string(events::RedisOutbox::kLuaAppend) + lua::kCreateCampaign);
  std::vector<std::string> args = {id, campaign.definition, campaign.etag,
                                   request_id.empty() ? std::string() : std::string(fingerprint)};
  events::AppendEnvelopeRecords(events, args);
  auto r = outbox_->EvalWithEvents(
      *script, {CampaignKey(tenant, id), IndexKey(tenant), RequestKey(tenant, request_id)}, args,
      tenant);
  if (!r.ok()) return ScriptError(r.status(), "creating the campaign");
  if (r->str == "REPLAY") return Created::kReplayed;
  if (r->str == "REUSED") return RequestIdReused();
  if (r->str == "EXISTS") return AlreadyExists("CAMPAIGN_EXISTS", "the campaign id is taken");
  return Created::kCreated;
}

absl::StatusOr<StoredCampaign> RedisCampaignStore::Get(const std::string& tenant,
                                                       const std::string& id) {
  auto r = redis_->Command({"HMGET", CampaignKey(tenant, id), "def", "etag"});
  if (!r.ok()) return r.status();
  if (r->elements.size() != 2 || r->elements[0].is_nil()) {
    return NotFound("CAMPAIGN_NOT_FOUND", "no such campaign");
  }
  return StoredCampaign{r->elements[0].str, r->elements[1].str};
}

absl::StatusOr<std::vector<std::string>> RedisCampaignStore::ListIds(const std::string& tenant,
                                                                     absl::string_view after,
                                                                     int max) {
  return redis::MembersAfter(*redis_, IndexKey(tenant), after, max);
}

absl::Status RedisCampaignStore::Replace(const std::string& tenant, const std::string& id,
                                         absl::string_view etag, const StoredCampaign& campaign,
                                         bool running, const Events& events) {
  static const redis::Script* script =
      new redis::Script(std::string(events::RedisOutbox::kLuaAppend) + lua::kReplaceCampaign);
  std::vector<std::string> args = {std::string(etag), campaign.definition, campaign.etag};
  events::AppendEnvelopeRecords(events, args);
  const std::string member = absl::StrCat(tenant, "/", id);
  auto r = outbox_->EvalWithEvents(
      *script, {CampaignKey(tenant, id)}, args, tenant,
      {{running ? "SADD" : "SREM", kRunningKey, member}});
  if (!r.ok()) return ScriptError(r.status(), "storing the campaign");
  return Outcome(r->str);
}

absl::Status RedisCampaignStore::Delete(const std::string& tenant, const std::string& id,
                                        absl::string_view etag, const Events& events) {
  static const redis::Script* script =
      new redis::Script(std::string(events::RedisOutbox::kLuaAppend) + lua::kDeleteCampaign);
  std::vector<std::string> args = {std::string(etag), id};
  events::AppendEnvelopeRecords(events, args);
  auto r = outbox_->EvalWithEvents(*script, {CampaignKey(tenant, id), IndexKey(tenant)}, args,
                                   tenant, {{"SREM", kRunningKey, absl::StrCat(tenant, "/", id)}});
  if (!r.ok()) return ScriptError(r.status(), "deleting the campaign");
  return Outcome(r->str);
}

absl::StatusOr<std::vector<std::string>> RedisCampaignStore::Running() {
  auto r = redis_->Command({"SMEMBERS", kRunningKey});
  if (!r.ok()) return r.status();
  std::vector<std::string> out;
  for (const auto& e : r->elements) out.push_back(e.str);
  return out;
}

absl::StatusOr<std::string> RedisCampaignStore::InboundNumberHolder(const std::string& number) {
  auto r = redis_->Command({"HGET", kInboundNumbersKey, number});
  if (!r.ok()) return r.status();
  return r->is_nil() ? std::string() : r->str;
}

absl::StatusOr<bool> RedisCampaignStore::SwapInboundNumberHolder(const std::string& number,
                                                                 const std::string& expected,
                                                                 const std::string& holder) {
  static const auto* script = new redis::Script(R"lua(
local cur = redis.call('HGET', KEYS[1], ARGV[1]) or ''
if cur ~= ARGV[2] then return 0 end
if ARGV[3] == '' then redis.call('HDEL', KEYS[1], ARGV[1])
else redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) end
return 1)lua");
  auto r = redis_->Eval(*script, {kInboundNumbersKey}, {number, expected, holder});
  if (!r.ok()) return r.status();
  return r->integer == 1;
}

}  // namespace dialgrid::dialing
