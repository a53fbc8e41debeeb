#include "services/dialing/adapters/redis_call_store.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/core/proto_time.h"
#include "services/common/events/outbox_record.h"
#include "services/dialing/adapters/lua/advertise_replica.lua.h"
#include "services/dialing/adapters/lua/disown_campaign.lua.h"
#include "services/dialing/adapters/lua/own_campaign.lua.h"
#include "services/dialing/adapters/lua/put_call.lua.h"

namespace dialgrid::dialing {
namespace {

std::string CallKey(const std::string& tenant, absl::string_view id) {
  return absl::StrCat(TenantHashTag(tenant), ":call:", id);
}
std::string OpenKey(const std::string& tenant, absl::string_view campaign) {
  return absl::StrCat(TenantHashTag(tenant), ":calls-open:", campaign);
}
std::string OwnerKey(const std::string& tenant, absl::string_view campaign) {
  return absl::StrCat(TenantHashTag(tenant), ":campaign-owner:", campaign);
}
std::string HopperKey(const std::string& tenant, absl::string_view campaign) {
  return absl::StrCat(TenantHashTag(tenant), ":hopper:", campaign);
}
std::string LinesKey(const std::string& tenant) {
  return absl::StrCat(TenantHashTag(tenant), ":lines");
}
std::string CallbacksKey(const std::string& tenant, absl::string_view campaign) {
  return absl::StrCat(TenantHashTag(tenant), ":agent-callbacks:", campaign);
}
std::string ProgressKey(const std::string& tenant, absl::string_view campaign) {
  return absl::StrCat(TenantHashTag(tenant), ":campaign-live:", campaign);
}
// A campaign's caller-ID health, number -> CallerIdStatus; it lapses 30
// days after its last write (a rest lasts a day).
std::string CallerIdsKey(const std::string& tenant, absl::string_view campaign) {
  return absl::StrCat(TenantHashTag(tenant), ":caller-ids:", campaign);
}
constexpr int64_t kCallerIdsTtlSeconds = 30 * 24 * 3600;
std::string FenceKey(const std::string& tenant, absl::string_view campaign) {
  return absl::StrCat(TenantHashTag(tenant), ":campaign-fence:", campaign);
}

// The live replicas and their addresses: one slot, no tenant's.
constexpr char kReplicasKey[] = "{dialing-replicas}:live";
constexpr char kAddressesKey[] = "{dialing-replicas}:addresses";

std::string AwaitingKey(const std::string& tenant) {
  return absl::StrCat(TenantHashTag(tenant), ":awaiting-disposition");
}
// The tenants that ever had a call await its disposition (a hint for the
// sweep; added before the call is written, never removed).
constexpr char kAwaitingTenantsKey[] = "{dg}:dialing:awaiting-tenants";

std::string BlockedKey(const std::string& tenant) {
  return absl::StrCat(TenantHashTag(tenant), ":inbound-blocked");
}

absl::StatusOr<StoredCall> Decode(const redis::Reply& def, const redis::Reply& lease,
                                  const redis::Reply& attempts) {
  StoredCall out;
  if (!out.call.ParseFromString(def.str)) return absl::DataLossError("stored call does not parse");
  out.lease_id = lease.str;
  if (!absl::SimpleAtoi(attempts.str, &out.contact_attempts)) out.contact_attempts = 0;
  return out;
}

}  // namespace

RedisCallStore::RedisCallStore(std::shared_ptr<redis::Client> redis,
                               std::shared_ptr<events::RedisOutbox> outbox,
                               absl::Duration retention)
    : redis_(std::move(redis)), outbox_(std::move(outbox)), retention_(retention) {}

absl::StatusOr<int64_t> RedisCallStore::Own(const std::string& tenant, const std::string& campaign,
                                            const std::string& instance, absl::Duration ttl) {
  static const redis::Script* script = new redis::Script(lua::kOwnCampaign);
  auto r = redis_->Eval(*script, {OwnerKey(tenant, campaign), FenceKey(tenant, campaign)},
                        {instance, absl::StrCat(absl::ToInt64Milliseconds(ttl))});
  if (!r.ok()) return r.status();
  return static_cast<int64_t>(r->integer);
}

absl::Status RedisCallStore::Disown(const std::string& tenant, const std::string& campaign,
                                    const std::string& instance) {
  static const redis::Script* script = new redis::Script(lua::kDisownCampaign);
  return redis_->Eval(*script, {OwnerKey(tenant, campaign)}, {instance}).status();
}

absl::StatusOr<int> RedisCallStore::Advertise(const std::string& instance,
                                              const std::string& address, absl::Duration ttl) {
  static const redis::Script* script = new redis::Script(lua::kAdvertiseReplica);
  auto r = redis_->Eval(*script, {kReplicasKey, kAddressesKey},
                        {instance, address, absl::StrCat(absl::ToInt64Milliseconds(ttl))});
  if (!r.ok()) return r.status();
  return static_cast<int>(r->integer);
}

absl::StatusOr<CallStore::Owner> RedisCallStore::CampaignOwner(const std::string& tenant,
                                                               const std::string& campaign) {
  auto owner = redis_->Command({"GET", OwnerKey(tenant, campaign)});
  if (!owner.ok()) return owner.status();
  Owner out;
  if (owner->type != redis::Reply::Type::kString) return out;  // nobody
  std::vector<std::string> parts = absl::StrSplit(owner->str, absl::MaxSplits('|', 1));
  if (parts.size() != 2) return absl::DataLossError("campaign owner entry does not parse");
  out.instance = parts[1];
  auto address = redis_->Command({"HGET", kAddressesKey, out.instance});
  if (!address.ok()) return address.status();
  if (address->type == redis::Reply::Type::kString) out.address = address->str;
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
RedisCallStore::AwaitingDisposition(absl::Time ended_before, int max) {
  auto tenants = redis_->Command({"SMEMBERS", kAwaitingTenantsKey});
  if (!tenants.ok()) return tenants.status();
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& t : tenants->elements) {
    if (static_cast<int>(out.size()) >= max) break;
    auto ids = redis_->Command({"ZRANGEBYSCORE", AwaitingKey(t.str), "-inf",
                                absl::StrCat(absl::ToUnixMillis(ended_before)), "LIMIT", "0",
                                absl::StrCat(max - static_cast<int>(out.size()))});
    if (!ids.ok()) return ids.status();
    for (const auto& id : ids->elements) out.emplace_back(t.str, id.str);
  }
  return out;
}

absl::Status RedisCallStore::ForgetAwaiting(const std::string& tenant, const std::string& id) {
  return redis_->Command({"ZREM", AwaitingKey(tenant), id}).status();
}

absl::Status RedisCallStore::Put(const std::string& tenant, const std::string& campaign_id,
                                 const StoredCall& stored, int64_t token,
                                 const std::vector<event::v1::Envelope>& events,
                                 int64_t max_tenant_lines) {
  static const redis::Script* script =
      new redis::Script(std::string(events::RedisOutbox::kLuaAppend) + lua::kPutCall);
  const v1::Call& call = stored.call;
  const std::string id(absl::StripPrefix(call.name(), absl::StrCat("tenants/", tenant, "/calls/")));
  const bool open = call.state() != v1::CALL_STATE_ENDED || call.awaiting_disposition();
  std::vector<std::string> args = {
      absl::StrCat(token),
      call.SerializeAsString(),
      stored.lease_id,
      absl::StrCat(stored.contact_attempts),
      open ? "1" : "0",
      id,
      absl::StrCat(absl::ToUnixMillis(FromTimestamp(call.dial_time()))),
      absl::StrCat(absl::ToInt64Milliseconds(retention_)),
      call.awaiting_disposition() ? "1" : "0",
      call.contact(),
      // Dialing, ringing or talking holds a line; a preview not dialed yet does not.
      call.state() != v1::CALL_STATE_ENDED && call.state() != v1::CALL_STATE_PREVIEW ? "1" : "0",
      absl::StrCat(std::max<int64_t>(0, max_tenant_lines)),
      // A line held longer than 4 hours belongs to a call nobody ended.
      absl::StrCat(absl::ToUnixMillis(FromTimestamp(call.dial_time()) - absl::Hours(4))),
      absl::StrCat(absl::ToUnixMillis(FromTimestamp(call.end_time())))};
  events::AppendEnvelopeRecords(events, args);
  if (call.awaiting_disposition()) {
    bool hinted;
    {
      std::lock_guard<std::mutex> lock(mu_);
      hinted = !awaiting_tenants_.insert(tenant).second;
    }
    if (!hinted) {
      auto h = redis_->Command({"SADD", kAwaitingTenantsKey, tenant});
      if (!h.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        awaiting_tenants_.erase(tenant);
        return h.status();
      }
    }
  }
  auto r = outbox_->EvalWithEvents(
      *script,
      {CallKey(tenant, id), OwnerKey(tenant, campaign_id), OpenKey(tenant, campaign_id),
       HopperKey(tenant, campaign_id), LinesKey(tenant), AwaitingKey(tenant)},
      args, tenant);
  if (!r.ok()) {
    if (r.status().code() == absl::StatusCode::kUnavailable) return r.status();
    return absl::InternalError(absl::StrCat("storing the call: ", r.status().message()));
  }
  if (r->str == "FENCED") {
    return FailedPrecondition("FENCED", "another replica owns the campaign now");
  }
  if (r->str == "LINE_QUOTA") {
    return QuotaExceeded("max_concurrent_lines", "the tenant's concurrent lines are all in use");
  }
  if (r->str == "NOT_AWAITING") {
    return FailedPrecondition("CALL_NOT_AWAITING_DISPOSITION",
                              "the call already has its disposition");
  }
  return absl::OkStatus();
}

absl::Status RedisCallStore::AddToHopper(const std::string& tenant,
                                        const std::string& campaign_id,
                                        const std::vector<LeasedContact>& leases) {
  if (leases.empty()) return absl::OkStatus();
  std::vector<std::string> cmd = {"HSET", HopperKey(tenant, campaign_id)};
  for (const auto& l : leases) {
    contacts::v1::LeasedContact lc;
    *lc.mutable_contact() = l.contact;
    lc.set_lease_id(l.lease_id);
    *lc.mutable_expire_time() = ToTimestamp(l.expire_time);
    cmd.push_back(l.contact.name());
    cmd.push_back(lc.SerializeAsString());
  }
  return redis_->Command(cmd).status();
}

absl::Status RedisCallStore::RemoveFromHopper(const std::string& tenant,
                                             const std::string& campaign_id,
                                             const std::string& contact) {
  return redis_->Command({"HDEL", HopperKey(tenant, campaign_id), contact}).status();
}

absl::StatusOr<std::vector<LeasedContact>> RedisCallStore::Hopper(const std::string& tenant,
                                                                 const std::string& campaign_id) {
  auto r = redis_->Command({"HVALS", HopperKey(tenant, campaign_id)});
  if (!r.ok()) return r.status();
  std::vector<LeasedContact> out;
  for (const auto& e : r->elements) {
    contacts::v1::LeasedContact lc;
    if (!lc.ParseFromString(e.str)) continue;
    LeasedContact l;
    l.contact = std::move(*lc.mutable_contact());
    l.lease_id = lc.lease_id();
    l.expire_time = FromTimestamp(lc.expire_time());
    out.push_back(std::move(l));
  }
  return out;
}

absl::Status RedisCallStore::Publish(const std::string& tenant,
                                     const std::vector<event::v1::Envelope>& events) {
  return outbox_->ExecWithEvents({}, tenant, events).status();
}

absl::Status RedisCallStore::BlockNumber(const std::string& tenant,
                                         const v1::BlockedNumber& blocked,
                                         const std::vector<event::v1::Envelope>& events) {
  const std::string digits(absl::StripPrefix(blocked.number(), "+"));
  return outbox_
      ->ExecWithEvents({{"HSET", BlockedKey(tenant), digits, blocked.SerializeAsString()}}, tenant,
                       events)
      .status();
}

absl::StatusOr<v1::BlockedNumber> RedisCallStore::GetBlockedNumber(const std::string& tenant,
                                                                   const std::string& digits) {
  auto r = redis_->Command({"HGET", BlockedKey(tenant), digits});
  if (!r.ok()) return r.status();
  v1::BlockedNumber b;
  if (r->is_nil()) return NotFound("BLOCKED_NUMBER_NOT_FOUND", "the number is not blocked");
  if (!b.ParseFromString(r->str)) return absl::InternalError("stored blocked number does not parse");
  return b;
}

absl::Status RedisCallStore::UnblockNumber(const std::string& tenant, const std::string& digits,
                                           const std::vector<event::v1::Envelope>& events) {
  return outbox_->ExecWithEvents({{"HDEL", BlockedKey(tenant), digits}}, tenant, events).status();
}

absl::StatusOr<std::vector<v1::BlockedNumber>> RedisCallStore::BlockedNumbers(
    const std::string& tenant) {
  auto r = redis_->Command({"HVALS", BlockedKey(tenant)});
  if (!r.ok()) return r.status();
  std::vector<v1::BlockedNumber> out;
  for (const auto& e : r->elements) {
    v1::BlockedNumber b;
    if (b.ParseFromString(e.str)) out.push_back(std::move(b));
  }
  return out;
}

absl::StatusOr<StoredCall> RedisCallStore::Get(const std::string& tenant, const std::string& id) {
  auto r = redis_->Command({"HMGET", CallKey(tenant, id), "def", "lease", "attempts"});
  if (!r.ok()) return r.status();
  if (r->elements.size() != 3 || r->elements[0].is_nil()) {
    return NotFound("CALL_NOT_FOUND", "no such call");
  }
  return Decode(r->elements[0], r->elements[1], r->elements[2]);
}

absl::StatusOr<std::vector<StoredCall>> RedisCallStore::Open(const std::string& tenant,
                                                             const std::string& campaign_id) {
  auto ids = redis_->Command({"ZRANGE", OpenKey(tenant, campaign_id), "0", "-1"});
  if (!ids.ok()) return ids.status();
  std::vector<std::vector<std::string>> commands;
  for (const auto& e : ids->elements) {
    commands.push_back({"HMGET", CallKey(tenant, e.str), "def", "lease", "attempts"});
  }
  std::vector<StoredCall> out;
  if (commands.empty()) return out;
  auto replies = redis_->Pipeline(commands);
  if (!replies.ok()) return replies.status();
  for (const auto& r : *replies) {
    if (r.elements.size() != 3 || r.elements[0].is_nil()) continue;  // expired
    auto call = Decode(r.elements[0], r.elements[1], r.elements[2]);
    if (call.ok()) out.push_back(*std::move(call));
  }
  return out;
}

absl::Status RedisCallStore::PutAgentCallback(const std::string& tenant,
                                              const std::string& campaign_id,
                                              const std::string& contact,
                                              const AgentCallback& callback) {
  const std::string key = CallbacksKey(tenant, campaign_id);
  // Callbacks are at most 90 days on: the hash outlives its last one.
  auto r = redis_->Pipeline(
      {{"HSET", key, contact,
        absl::StrCat(callback.agent, "|", absl::ToUnixMillis(callback.due))},
       {"PEXPIRE", key, absl::StrCat(absl::ToInt64Milliseconds(absl::Hours(24 * 92)))}});
  return r.status();
}

absl::Status RedisCallStore::RemoveAgentCallback(const std::string& tenant,
                                                 const std::string& campaign_id,
                                                 const std::string& contact) {
  return redis_->Command({"HDEL", CallbacksKey(tenant, campaign_id), contact}).status();
}

absl::StatusOr<std::map<std::string, CallStore::AgentCallback>> RedisCallStore::AgentCallbacks(
    const std::string& tenant, const std::string& campaign_id) {
  auto r = redis_->Command({"HGETALL", CallbacksKey(tenant, campaign_id)});
  if (!r.ok()) return r.status();
  std::map<std::string, AgentCallback> out;
  for (size_t i = 0; i + 1 < r->elements.size(); i += 2) {
    std::vector<std::string> parts = absl::StrSplit(r->elements[i + 1].str, '|');
    int64_t due_ms = 0;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &due_ms)) continue;
    out[r->elements[i].str] = AgentCallback{parts[0], absl::FromUnixMillis(due_ms)};
  }
  return out;
}

absl::Status RedisCallStore::PutProgress(const std::string& tenant, const std::string& campaign_id,
                                         const v1::CampaignProgress& progress, absl::Duration ttl) {
  return redis_
      ->Command({"SET", ProgressKey(tenant, campaign_id), progress.SerializeAsString(), "PX",
                 absl::StrCat(std::max<int64_t>(1, absl::ToInt64Milliseconds(ttl)))})
      .status();
}

absl::StatusOr<v1::CampaignProgress> RedisCallStore::GetProgress(const std::string& tenant,
                                                                 const std::string& campaign_id) {
  auto r = redis_->Command({"GET", ProgressKey(tenant, campaign_id)});
  if (!r.ok()) return r.status();
  if (r->is_nil()) return NotFound("NO_PROGRESS", "no replica dials the campaign now");
  v1::CampaignProgress progress;
  if (!progress.ParseFromString(r->str)) return absl::DataLossError("stored progress does not parse");
  return progress;
}

absl::Status RedisCallStore::PutCallerIds(const std::string& tenant,
                                          const std::string& campaign_id,
                                          const std::vector<v1::CallerIdStatus>& statuses,
                                          const std::vector<event::v1::Envelope>& events) {
  if (statuses.empty() && events.empty()) return absl::OkStatus();
  std::vector<std::vector<std::string>> commands;
  if (!statuses.empty()) {
    const std::string key = CallerIdsKey(tenant, campaign_id);
    std::vector<std::string> hset = {"HSET", key};
    for (const auto& s : statuses) {
      hset.push_back(s.caller_id());
      hset.push_back(s.SerializeAsString());
    }
    commands.push_back(std::move(hset));
    commands.push_back({"EXPIRE", key, absl::StrCat(kCallerIdsTtlSeconds)});
  }
  return outbox_->ExecWithEvents(std::move(commands), tenant, events).status();
}

absl::StatusOr<std::vector<v1::CallerIdStatus>> RedisCallStore::GetCallerIds(
    const std::string& tenant, const std::string& campaign_id) {
  auto r = redis_->Command({"HVALS", CallerIdsKey(tenant, campaign_id)});
  if (!r.ok()) return r.status();
  std::vector<v1::CallerIdStatus> out;
  for (const auto& e : r->elements) {
    v1::CallerIdStatus s;
    if (!s.ParseFromString(e.str)) return absl::DataLossError("stored caller-ID health does not parse");
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace dialgrid::dialing
