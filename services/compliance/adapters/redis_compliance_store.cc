#include "services/compliance/adapters/redis_compliance_store.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/events/outbox_record.h"

namespace dialgrid::compliance {
namespace {

using google::protobuf::util::TimeUtil;

std::string Prefix(const std::string& tenant) { return TenantHashTag(tenant) + ":"; }
std::string Ms(absl::Time t) { return std::to_string(absl::ToUnixMillis(t)); }
std::string Ms(absl::Duration d) { return std::to_string(absl::ToInt64Milliseconds(d)); }

using events::FrameRecord;
using events::Frame;

absl::StatusOr<Frame> Unframe(absl::string_view record) {
  auto f = events::UnframeRecord(record);
  if (!f.ok()) return absl::DataLossError("a compliance record in Redis is malformed");
  return f;
}

// Adds the script's verdict to a decision taken in process.
absl::Status MergeVerdict(absl::string_view verdict, v1::DialDecision& d) {
  std::vector<absl::string_view> parts = absl::StrSplit(verdict, absl::MaxSplits('\t', 2));
  int64_t not_before = 0;
  if (parts.size() != 3 || (parts[0] != "0" && parts[0] != "1") ||
      !absl::SimpleAtoi(parts[1], &not_before)) {
    return absl::DataLossError("a compliance verdict in Redis is malformed");
  }
  bool pre_denied = d.reasons_size() > 0;
  bool pre_never = pre_denied && !d.has_next_allowed_time();
  if (!parts[2].empty()) {
    for (absl::string_view r : absl::StrSplit(parts[2], '\x1f')) {
      std::vector<absl::string_view> f = absl::StrSplit(r, absl::MaxSplits('|', 2));
      v1::DenialReason* reason = d.add_reasons();
      reason->set_code(std::string(f[0]));
      if (f.size() > 1) reason->set_rule(std::string(f[1]));
      if (f.size() > 2) reason->set_detail(std::string(f[2]));
    }
  }
  d.set_allowed(parts[0] == "1");
  if (d.allowed()) {
    d.clear_next_allowed_time();
  } else if (not_before < 0 || pre_never) {
    d.clear_next_allowed_time();
  } else if (not_before > 0) {
    int64_t pre = d.has_next_allowed_time() ? TimeUtil::TimestampToMilliseconds(d.next_allowed_time()) : 0;
    *d.mutable_next_allowed_time() = TimeUtil::MillisecondsToTimestamp(std::max(pre, not_before));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::DialDecision> DecodeDecision(const Frame& f) {
  v1::DialDecision d;
  if (!d.ParseFromArray(f.bytes.data(), static_cast<int>(f.bytes.size()))) {
    return absl::DataLossError("a decision record in Redis does not parse");
  }
  if (absl::Status st = MergeVerdict(f.rest, d); !st.ok()) return st;
  return d;
}

absl::Status ScriptError(const absl::Status& st, absl::string_view what) {
  if (st.code() == absl::StatusCode::kUnavailable) return st;
  return absl::InternalError(absl::StrCat(what, ": ", st.message()));
}

// Shared Lua: framing and the audit/outbox writes.
constexpr char kLuaHelpers[] = R"lua(
local function frame(kind, bytes) return kind .. string.format('%010d', #bytes) .. bytes end
local function audit(key, ms, rec, retention)
  redis.call('ZADD', key, ms, rec)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. (ms - retention))
  redis.call('PEXPIRE', key, retention)
end
-- outbox(rec): the tenant's outbox is the script's last key (RedisOutbox::EvalWithEvents)
local function outbox(rec) redis.call('RPUSH', KEYS[#KEYS], rec) end
)lua";

// The atomic part of CheckDial. ARGV: see the list in CheckDial().
const redis::Script& CheckScript() {
  static const redis::Script* s = new redis::Script(std::string(kLuaHelpers) + R"lua(
local P, now = ARGV[1], tonumber(ARGV[2])
local num, contact, camp = ARGV[3], ARGV[4], ARGV[5]
local reserve, req = ARGV[7] == '1', ARGV[9]
if req ~= '' then
  local prev = redis.call('GET', P .. 'dreq:' .. req)
  if prev then return {'DUP', prev} end
end
local cur = redis.call('HGET', P .. 'cr', 'current') or '0'
if cur ~= ARGV[6] then return {'STALE', cur} end
local reasons, nb, never = {}, 0, false
if redis.call('SISMEMBER', P .. 'dnc', num) == 1 then
  reasons[#reasons + 1] = 'DNC_TENANT|tenant|'; never = true
end
if camp ~= '' and redis.call('SISMEMBER', P .. 'dnc:' .. camp, num) == 1 then
  reasons[#reasons + 1] = 'DNC_CAMPAIGN|campaign:' .. camp .. '|'; never = true
end
if ARGV[10] == '1' then
  local c = redis.call('HGET', P .. 'cons', num)
  local ok = false
  if c then
    local g, e, r = string.match(c, '^(%d+)|(%d*)|(%d*)$')
    ok = g ~= nil and tonumber(g) <= now and (e == '' or tonumber(e) > now) and r == ''
  end
  if not ok then reasons[#reasons + 1] = 'CONSENT_REQUIRED|consent|automated call to a wireless number'; never = true end
end
local quiet = tonumber(ARGV[11])
if quiet > 0 then
  local ab = redis.call('GET', P .. 'ab:' .. num)
  if ab and tonumber(ab) + quiet > now then
    reasons[#reasons + 1] = 'ABANDON_QUIET_PERIOD|abandon_quiet_period|abandoned at ' .. ab
    nb = math.max(nb, tonumber(ab) + quiet)
  end
end
local keep = tonumber(ARGV[12])
local function caps(key, idx, code)
  local n = tonumber(ARGV[idx])
  if n == 0 or key == nil then return idx + 1 + 3 * n end
  if reserve then redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. (now - keep)) end
  for i = 0, n - 1 do
    local id, max, w = ARGV[idx + 1 + 3 * i], tonumber(ARGV[idx + 2 + 3 * i]), tonumber(ARGV[idx + 3 + 3 * i])
    local cnt = redis.call('ZCOUNT', key, '(' .. (now - w), now)
    if cnt >= max then
      local r = redis.call('ZRANGEBYSCORE', key, '(' .. (now - w), now, 'WITHSCORES', 'LIMIT', cnt - max, 1)
      reasons[#reasons + 1] = code .. '|' .. id .. '|' .. cnt .. ' attempts of ' .. max .. ' allowed'
      nb = math.max(nb, tonumber(r[2]) + w)
    end
  end
  return idx + 1 + 3 * n
end
local cidx = caps(P .. 'an:' .. num, 18, 'ATTEMPT_CAP_NUMBER')
caps(contact ~= '' and (P .. 'ac:' .. contact) or nil, cidx, 'ATTEMPT_CAP_CONTACT')
local allowed = #reasons == 0 and ARGV[14] == '1'
if allowed and reserve then
  local ttl = math.max(keep, 86400000)
  redis.call('ZADD', P .. 'an:' .. num, now, ARGV[8])
  redis.call('PEXPIRE', P .. 'an:' .. num, ttl)
  if contact ~= '' then
    redis.call('ZADD', P .. 'ac:' .. contact, now, ARGV[8])
    redis.call('PEXPIRE', P .. 'ac:' .. contact, ttl)
  end
end
local verdict = (allowed and '1' or '0') .. '\t' .. (never and '-1' or tostring(nb)) .. '\t' ..
  table.concat(reasons, '\31')
local rec = frame('D', ARGV[15]) .. verdict
-- audited at the time it was taken (a scrub may evaluate a future dial time)
audit(P .. 'aud:' .. num, tonumber(ARGV[17]), rec, tonumber(ARGV[13]))
outbox(frame('D', ARGV[16]) .. verdict)
if req ~= '' then redis.call('SET', P .. 'dreq:' .. req, rec, 'PX', 86400000) end
return {'OK', verdict}
)lua");
  return *s;
}

// ARGV: the rule-set hash. The current version and its bytes in one round
// trip: {} when the tenant has none, {version, bytes or false}.
const redis::Script& CurrentRuleSetScript() {
  static const redis::Script* s = new redis::Script(R"lua(
local cur = redis.call('HGET', ARGV[1], 'current')
if not cur then return {} end
return {cur, redis.call('HGET', ARGV[1], 'v' .. cur)}
)lua");
  return *s;
}

// ARGV: P, expected version, new version bytes, event record.
const redis::Script& PutRuleSetScript() {
  static const redis::Script* s = new redis::Script(std::string(kLuaHelpers) + R"lua(
local P = ARGV[1]
local cur = redis.call('HGET', P .. 'cr', 'current') or '0'
if cur ~= ARGV[2] then return {err = 'VERSION_MISMATCH ' .. cur} end
local v = tonumber(cur) + 1
redis.call('HSET', P .. 'cr', 'v' .. v, ARGV[3], 'current', tostring(v))
outbox(ARGV[4])
return v
)lua");
  return *s;
}

// ARGV: P, set suffix ("" or ":<camp>"), add|remove, meta, event record,
// numbers...
const redis::Script& DncScript() {
  static const redis::Script* s = new redis::Script(std::string(kLuaHelpers) + R"lua(
local P, sfx, op, meta = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local set, metakey = P .. 'dnc' .. sfx, P .. 'dncm' .. sfx
local changed, same = 0, 0
for i = 6, #ARGV do
  local n = ARGV[i]
  if op == 'add' then
    if redis.call('SADD', set, n) == 1 then
      changed = changed + 1
      redis.call('HSET', metakey, n, meta)
    else
      same = same + 1
    end
  else
    if redis.call('SREM', set, n) == 1 then
      changed = changed + 1
      redis.call('HDEL', metakey, n)
    else
      same = same + 1
    end
  end
end
outbox(ARGV[5])
return {changed, same}
)lua");
  return *s;
}

// ARGV: P, event id, number, contact, campaign, outcome, dial ms, end ms,
// hour of the answer, decision id, keep ms, retention ms, record.
const redis::Script& CallEventScript() {
  static const redis::Script* s = new redis::Script(std::string(kLuaHelpers) + R"lua(
local P, eid, num, contact, camp, outcome = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local dial, ended, hour, did = tonumber(ARGV[7]), tonumber(ARGV[8]), ARGV[9], ARGV[10]
local keep, retention = tonumber(ARGV[11]), tonumber(ARGV[12])
if not redis.call('SET', P .. 'ev:' .. eid, '1', 'NX', 'PX', 2592000000) then return 0 end
local member = did ~= '' and did or ('ev:' .. eid)
local keys = {P .. 'an:' .. num}
if contact ~= '' then keys[2] = P .. 'ac:' .. contact end
for _, k in ipairs(keys) do
  if outcome == 'NOT_PLACED' then
    redis.call('ZREM', k, member)
  else
    redis.call('ZADD', k, 'NX', dial, member)
    if redis.call('PTTL', k) < keep then redis.call('PEXPIRE', k, keep) end
  end
end
if outcome == 'ABANDONED' then
  local prev = tonumber(redis.call('GET', P .. 'ab:' .. num) or '0')
  if ended > prev then redis.call('SET', P .. 'ab:' .. num, ended, 'PX', 7776000000) end
end
if camp ~= '' and (outcome == 'ABANDONED' or outcome == 'ANSWERED_CONNECTED') then
  local key = P .. 'abr:' .. camp
  local fresh = redis.call('HINCRBY', key, 'l:' .. hour, 1) == 1
  if outcome == 'ABANDONED' then redis.call('HINCRBY', key, 'a:' .. hour, 1) end
  if fresh then
    -- a new hour: drop the hours older than 30 days
    local oldest = tonumber(hour) - 720
    for _, f in ipairs(redis.call('HKEYS', key)) do
      if tonumber(string.sub(f, 3)) <= oldest then redis.call('HDEL', key, f) end
    end
  end
end
audit(P .. 'aud:' .. num, ended, ARGV[13], retention)
return 1
)lua");
  return *s;
}

}  // namespace

absl::StatusOr<v1::DialDecision> DecodeDecisionRecord(absl::string_view record) {
  auto f = Unframe(record);
  if (!f.ok()) return f.status();
  if (f->kind != 'D') return absl::DataLossError("not a decision record");
  return DecodeDecision(*f);
}

absl::StatusOr<event::v1::Envelope> DecodeOutboxRecord(absl::string_view record) {
  auto f = Unframe(record);
  if (!f.ok()) return f.status();
  event::v1::Envelope env;
  if (!env.ParseFromArray(f->bytes.data(), static_cast<int>(f->bytes.size()))) {
    return absl::DataLossError("an outbox record does not parse");
  }
  if (f->kind == 'D') {
    v1::DialDecision d;
    if (!env.payload().UnpackTo(&d)) return absl::DataLossError("an outbox decision does not parse");
    if (absl::Status st = MergeVerdict(f->rest, d); !st.ok()) return st;
    env.mutable_payload()->PackFrom(d);
  }
  return env;
}

RedisComplianceStore::RedisComplianceStore(std::shared_ptr<redis::Client> redis,
                                           std::string instance, RedisReplication replication)
    : redis_(std::move(redis)), replication_(replication) {
  events::RedisOutboxOptions o;
  o.stream = "compliance";
  o.instance = std::move(instance);
  o.decode = DecodeOutboxRecord;
  o.wait_replicas = replication.replicas;
  o.wait_timeout = replication.timeout;
  outbox_ = std::make_shared<events::RedisOutbox>(redis_, std::move(o));
}

absl::StatusOr<redis::Reply> RedisComplianceStore::Write(const redis::Script& script,
                                                         const std::vector<std::string>& keys,
                                                         const std::vector<std::string>& args) {
  if (replication_.replicas <= 0) return redis_->Eval(script, keys, args);
  return redis_->EvalReplicated(script, keys, args, replication_.replicas, replication_.timeout);
}

absl::StatusOr<redis::Reply> RedisComplianceStore::WriteWithEvents(
    const redis::Script& script, const std::vector<std::string>& keys,
    const std::vector<std::string>& args, const std::string& tenant) {
  return outbox_->EvalWithEvents(script, keys, args, tenant);
}

absl::StatusOr<v1::RuleSet> RedisComplianceStore::GetRuleSet(const std::string& tenant,
                                                             int64_t version) {
  std::string key = Prefix(tenant) + "cr";
  redis::Reply bytes;
  if (version == 0) {
    auto r = redis_->Eval(CurrentRuleSetScript(), {}, {key});
    if (!r.ok()) return ScriptError(r.status(), "reading the rule set");
    if (r->elements.empty()) {
      return FailedPrecondition("RULE_SET_MISSING",
                                "the tenant has no rule set yet (UpdateRuleSet creates it); "
                                "nothing may be dialed until it has one");
    }
    if (r->elements.size() != 2) return absl::InternalError("unexpected reply from the rule-set script");
    bytes = std::move(r->elements[1]);
  } else {
    auto r = redis_->Command({"HGET", key, absl::StrCat("v", version)});
    if (!r.ok()) return r.status();
    bytes = *std::move(r);
  }
  if (bytes.is_nil()) return NotFound("RULE_SET_VERSION_NOT_FOUND", "no such rule-set version");
  v1::RuleSet rs;
  if (!rs.ParseFromString(bytes.str)) return absl::DataLossError("a stored rule set does not parse");
  return rs;
}

absl::Status RedisComplianceStore::PutRuleSet(const std::string& tenant, const v1::RuleSet& rule_set,
                                              int64_t expected_version,
                                              const event::v1::Envelope& event) {
  auto r = WriteWithEvents(PutRuleSetScript(), {},
                           {Prefix(tenant), std::to_string(expected_version),
                            rule_set.SerializeAsString(), events::EnvelopeRecord(event)},
                           tenant);
  if (!r.ok()) {
    if (absl::StrContains(r.status().message(), "VERSION_MISMATCH")) {
      return Aborted("VERSION_MISMATCH",
                     "the rule set changed since expected_version; get it and apply your change again");
    }
    return ScriptError(r.status(), "storing the rule set");
  }
  return absl::OkStatus();
}

absl::StatusOr<CheckOutcome> RedisComplianceStore::CheckDial(const DialCheck& c) {
  std::vector<std::string> args = {
      Prefix(c.tenant),                                   // 1
      Ms(c.time),                                         // 2
      c.number,                                           // 3
      c.contact,                                          // 4
      c.campaign,                                         // 5
      std::to_string(c.rule_set_version),                 // 6
      c.reserve ? "1" : "0",                              // 7
      c.decision_id,                                      // 8
      c.request_id,                                       // 9
      c.need_consent ? "1" : "0",                         // 10
      Ms(c.abandon_quiet),                                // 11
      Ms(c.keep_attempts),                                // 12
      Ms(c.audit_retention),                              // 13
      c.allowed_so_far ? "1" : "0",                       // 14
      c.event.payload().value(),                          // 15 the partial decision's bytes
      c.event.SerializeAsString(),                        // 16
      Ms(c.recorded),                                     // 17
  };
  for (const auto* caps : {&c.number_caps, &c.contact_caps}) {
    args.push_back(std::to_string(caps->size()));
    for (const AttemptCap& cap : *caps) {
      args.push_back(cap.id);
      args.push_back(std::to_string(cap.max_attempts));
      args.push_back(Ms(cap.window));
    }
  }
  auto r = WriteWithEvents(CheckScript(), {}, args, c.tenant);
  if (!r.ok()) return ScriptError(r.status(), "checking the dial");
  if (r->elements.size() != 2) return absl::InternalError("unexpected reply from the check script");
  CheckOutcome out;
  const std::string& tag = r->elements[0].str;
  if (tag == "STALE") {
    out.kind = CheckOutcome::Kind::kStaleRuleSet;
    return out;
  }
  if (tag == "DUP") {
    out.kind = CheckOutcome::Kind::kDuplicate;
    auto d = DecodeDecisionRecord(r->elements[1].str);
    if (!d.ok()) return d.status();
    out.decision = *std::move(d);
    return out;
  }
  out.decision = c.partial;
  if (absl::Status st = MergeVerdict(r->elements[1].str, out.decision); !st.ok()) return st;
  return out;
}

absl::StatusOr<DncChange> RedisComplianceStore::AddDoNotCall(const std::string& tenant,
                                                             const std::string& list,
                                                             const std::vector<std::string>& numbers,
                                                             const v1::DoNotCallEntry& meta,
                                                             const event::v1::Envelope& event) {
  std::vector<std::string> args = {Prefix(tenant), list.empty() ? "" : ":" + list, "add",
                                   meta.SerializeAsString(), events::EnvelopeRecord(event)};
  args.insert(args.end(), numbers.begin(), numbers.end());
  auto r = WriteWithEvents(DncScript(), {}, args, tenant);
  if (!r.ok()) return ScriptError(r.status(), "adding to the do-not-call list");
  if (r->elements.size() != 2) return absl::InternalError("unexpected reply from the DNC script");
  return DncChange{r->elements[0].integer, r->elements[1].integer};
}

absl::StatusOr<DncChange> RedisComplianceStore::RemoveDoNotCall(
    const std::string& tenant, const std::string& list, const std::vector<std::string>& numbers,
    const event::v1::Envelope& event) {
  std::vector<std::string> args = {Prefix(tenant), list.empty() ? "" : ":" + list, "remove", "",
                                   events::EnvelopeRecord(event)};
  args.insert(args.end(), numbers.begin(), numbers.end());
  auto r = WriteWithEvents(DncScript(), {}, args, tenant);
  if (!r.ok()) return ScriptError(r.status(), "removing from the do-not-call list");
  if (r->elements.size() != 2) return absl::InternalError("unexpected reply from the DNC script");
  return DncChange{r->elements[0].integer, r->elements[1].integer};
}

absl::StatusOr<std::vector<v1::DoNotCallEntry>> RedisComplianceStore::DoNotCallEntries(
    const std::string& tenant, const std::string& number, const std::string& campaign) {
  std::string p = Prefix(tenant);
  std::vector<std::vector<std::string>> cmds = {{"HGET", p + "dncm", number}};
  if (!campaign.empty()) cmds.push_back({"HGET", p + "dncm:" + campaign, number});
  auto r = redis_->Pipeline(cmds);
  if (!r.ok()) return r.status();
  std::vector<v1::DoNotCallEntry> out;
  for (size_t i = 0; i < r->size(); ++i) {
    if ((*r)[i].is_nil()) continue;
    v1::DoNotCallEntry e;
    if (!e.ParseFromString((*r)[i].str)) return absl::DataLossError("a DNC entry does not parse");
    e.set_list(i == 0 ? "tenant" : "campaign:" + campaign);
    out.push_back(std::move(e));
  }
  return out;
}

absl::Status RedisComplianceStore::PutConsent(const std::string& tenant, const v1::Consent& c,
                                              const event::v1::Envelope& event) {
  auto ms = [](const google::protobuf::Timestamp& t, bool set) {
    return set ? std::to_string(TimeUtil::TimestampToMilliseconds(t)) : std::string();
  };
  std::string compact = absl::StrCat(ms(c.grant_time(), true), "|",
                                     ms(c.expire_time(), c.has_expire_time()), "|",
                                     ms(c.revoke_time(), c.has_revoke_time()));
  // ARGV: P, number, compact form, record, outbox entry.
  static const redis::Script* put = new redis::Script(std::string(kLuaHelpers) + R"lua(
redis.call('HSET', ARGV[1] .. 'cons', ARGV[2], ARGV[3])
redis.call('HSET', ARGV[1] .. 'consp', ARGV[2], ARGV[4])
outbox(ARGV[5])
return 1
)lua");
  auto r = WriteWithEvents(*put, {},
                           {Prefix(tenant), c.phone_number(), compact, c.SerializeAsString(),
                            events::EnvelopeRecord(event)},
                           tenant);
  if (!r.ok()) return ScriptError(r.status(), "recording the consent");
  return absl::OkStatus();
}

absl::StatusOr<v1::Consent> RedisComplianceStore::GetConsent(const std::string& tenant,
                                                             const std::string& number) {
  auto r = redis_->Command({"HGET", Prefix(tenant) + "consp", number});
  if (!r.ok()) return r.status();
  if (r->is_nil()) return NotFound("CONSENT_NOT_FOUND", "no consent is recorded for this number");
  v1::Consent c;
  if (!c.ParseFromString(r->str)) return absl::DataLossError("a consent record does not parse");
  return c;
}

absl::StatusOr<bool> RedisComplianceStore::ApplyCallEvent(const std::string& tenant,
                                                          const std::string& event_id,
                                                          const dialing::v1::CallAttemptEnded& call,
                                                          absl::Duration keep_attempts,
                                                          absl::Duration audit_retention) {
  int64_t dial = TimeUtil::TimestampToMilliseconds(call.dial_time());
  int64_t ended = call.has_end_time() ? TimeUtil::TimestampToMilliseconds(call.end_time()) : dial;
  int64_t answered = call.has_answer_time() ? TimeUtil::TimestampToMilliseconds(call.answer_time()) : dial;
  // An outcome this build does not define (a newer dialer's, or a client's
  // typo) still counts as a placed attempt: skipping it would under-count the
  // attempt caps, and it is neither an abandon nor a live answer.
  const std::string& name = dialing::v1::CallOutcome_Name(call.outcome());
  std::string outcome = absl::StartsWith(name, "CALL_OUTCOME_")
                            ? name.substr(strlen("CALL_OUTCOME_"))
                            : std::string("UNDEFINED");
  std::string campaign;
  if (!call.campaign().empty()) {
    auto ids = ParseName("campaign", call.campaign(), "tenants/{tenant}/campaigns/{campaign}");
    if (ids.ok()) campaign = (*ids)[1];
  }
  auto r = Write(CallEventScript(), {},
                        {Prefix(tenant), event_id, call.phone_number(), call.contact(), campaign,
                         outcome, std::to_string(dial), std::to_string(ended),
                         std::to_string(answered / 3600000), call.decision_id(),
                         Ms(std::max(keep_attempts, absl::Hours(24))), Ms(audit_retention),
                         FrameRecord('T', call.SerializeAsString())});
  if (!r.ok()) return ScriptError(r.status(), "applying the call event");
  return r->integer == 1;
}

absl::StatusOr<AbandonCounts> RedisComplianceStore::GetAbandonCounts(const std::string& tenant,
                                                                     const std::string& campaign,
                                                                     absl::Time now) {
  auto r = redis_->Command({"HGETALL", Prefix(tenant) + "abr:" + campaign});
  if (!r.ok()) return r.status();
  int64_t hour = absl::ToUnixMillis(now) / 3600000;
  AbandonCounts c;
  for (size_t i = 0; i + 1 < r->elements.size(); i += 2) {
    const std::string& f = r->elements[i].str;
    int64_t h = 0, n = 0;
    if (f.size() < 3 || !absl::SimpleAtoi(absl::string_view(f).substr(2), &h) ||
        !absl::SimpleAtoi(r->elements[i + 1].str, &n)) {
      continue;
    }
    bool abandoned = f[0] == 'a';
    if (h > hour - 24 && h <= hour) (abandoned ? c.abandoned_24h : c.live_24h) += n;
    if (h > hour - 720 && h <= hour) (abandoned ? c.abandoned_30d : c.live_30d) += n;
  }
  return c;
}

// ARGV: event record, number of additions, additions..., removals...
const redis::Script& RegistryScript() {
  static const redis::Script* s = new redis::Script(std::string(kLuaHelpers) + R"lua(
local add, del, dates = KEYS[1], KEYS[2], KEYS[4]
local n, asof, dated = tonumber(ARGV[2]), ARGV[3], ARGV[4]
-- A key keeps its newest change: an older change file applied late is ignored
-- for the keys a newer one already changed (dates compare as text).
local function change(key, to, from)
  local d = redis.call('HGET', dates, key)
  if d and d > dated then return end
  redis.call('SADD', to, key); redis.call('SREM', from, key); redis.call('HSET', dates, key, dated)
end
for i = 5, 4 + n do change(ARGV[i], add, del) end
for i = 5 + n, #ARGV do change(ARGV[i], del, add) end
if asof ~= '' then  -- YYYY-MM-DD compares as text
  local cur = redis.call('GET', KEYS[3])
  if not cur or asof > cur then redis.call('SET', KEYS[3], asof) end
end
outbox(ARGV[1])
return 1
)lua");
  return *s;
}

absl::Status RedisComplianceStore::UpdateRegistry(const std::string& registry,
                                                  const std::vector<uint64_t>& add,
                                                  const std::vector<uint64_t>& remove,
                                                  const std::string& as_of,
                                                  const std::string& dated,
                                                  const event::v1::Envelope& event) {
  std::vector<std::string> args = {events::EnvelopeRecord(event), std::to_string(add.size()),
                                   as_of, dated};
  for (uint64_t k : add) args.push_back(std::to_string(k));
  for (uint64_t k : remove) args.push_back(std::to_string(k));
  std::string base = absl::StrCat("dg:registry:", registry);
  // Vendor scope: the vendor's outbox. (The registry keys are not
  // hash-tagged with it yet: on Redis Cluster this script would cross slots.)
  auto r = WriteWithEvents(RegistryScript(),
                           {base + ":add", base + ":del", base + ":asof", base + ":dates"}, args, "");
  if (!r.ok()) return ScriptError(r.status(), "updating the registry");
  return absl::OkStatus();
}

absl::StatusOr<ComplianceStore::PruneCount> RedisComplianceStore::PruneRegistryOverlay(
    const std::string& registry, const std::string& through) {
  // KEYS: add, del, dates. ARGV: through, then keys found dated on or before
  // it by the scan; each is checked again here (it may have changed since).
  static const redis::Script* prune = new redis::Script(R"lua(
local n = 0
for i = 2, #ARGV do
  local d = redis.call('HGET', KEYS[3], ARGV[i])
  if d and d <= ARGV[1] then
    redis.call('SREM', KEYS[1], ARGV[i]); redis.call('SREM', KEYS[2], ARGV[i])
    redis.call('HDEL', KEYS[3], ARGV[i]); n = n + 1
  end
end
return n
)lua");
  const std::string base = absl::StrCat("dg:registry:", registry);
  PruneCount count;
  std::string cursor = "0";
  do {
    auto page = redis_->Command({"HSCAN", base + ":dates", cursor, "COUNT", "1000"});
    if (!page.ok()) return page.status();
    if (page->elements.size() != 2) return absl::InternalError("unexpected HSCAN reply");
    cursor = page->elements[0].str;
    std::vector<std::string> args = {through};
    const auto& fields = page->elements[1].elements;
    for (size_t i = 0; i + 1 < fields.size(); i += 2) {
      if (fields[i + 1].str <= through) {
        args.push_back(fields[i].str);
      } else {
        ++count.kept;
      }
    }
    if (args.size() > 1) {
      auto r = Write(*prune, {base + ":add", base + ":del", base + ":dates"}, args);
      if (!r.ok()) return ScriptError(r.status(), "pruning the registry overlay");
      count.pruned += r->integer;
      count.kept += static_cast<int64_t>(args.size() - 1) - r->integer;
    }
  } while (cursor != "0");
  return count;
}

absl::StatusOr<ComplianceStore::RegistryOverlay> RedisComplianceStore::GetRegistryOverlay(
    const std::string& registry) {
  std::string base = absl::StrCat("dg:registry:", registry);
  auto r = redis_->Pipeline({{"SMEMBERS", base + ":add"},
                             {"SMEMBERS", base + ":del"},
                             {"GET", base + ":asof"},
                             {"HGETALL", base + ":dates"}});
  if (!r.ok()) return r.status();
  RegistryOverlay out;
  if (!(*r)[2].is_nil()) out.as_of = (*r)[2].str;
  const auto& dates = (*r)[3].elements;
  for (size_t i = 0; i + 1 < dates.size(); i += 2) {
    uint64_t k = 0;
    if (absl::SimpleAtoi(dates[i].str, &k)) out.dates[k] = dates[i + 1].str;
  }
  for (int i = 0; i < 2; ++i) {
    for (const auto& e : (*r)[static_cast<size_t>(i)].elements) {
      uint64_t k = 0;
      if (!absl::SimpleAtoi(e.str, &k)) return absl::DataLossError("a registry overlay key is malformed");
      (i == 0 ? out.added : out.removed).push_back(k);
    }
  }
  return out;
}

absl::StatusOr<std::vector<v1::DialRecord>> RedisComplianceStore::ListRecords(
    const std::string& tenant, const std::string& number, absl::Time from, absl::Time to,
    int offset, int limit) {
  auto r = redis_->Command({"ZRANGE", Prefix(tenant) + "aud:" + number, Ms(from),
                            "(" + Ms(to), "BYSCORE", "WITHSCORES", "LIMIT",
                            std::to_string(offset), std::to_string(limit)});
  if (!r.ok()) return r.status();
  std::vector<v1::DialRecord> out;
  for (size_t i = 0; i + 1 < r->elements.size(); i += 2) {
    auto f = Unframe(r->elements[i].str);
    if (!f.ok()) return f.status();
    int64_t ms = 0;
    if (!absl::SimpleAtoi(r->elements[i + 1].str, &ms)) return absl::DataLossError("bad score");
    v1::DialRecord rec;
    *rec.mutable_time() = TimeUtil::MillisecondsToTimestamp(ms);
    if (f->kind == 'D') {
      auto d = DecodeDecision(*f);
      if (!d.ok()) return d.status();
      *rec.mutable_decision() = *std::move(d);
    } else if (!rec.mutable_call()->ParseFromArray(f->bytes.data(),
                                                   static_cast<int>(f->bytes.size()))) {
      return absl::DataLossError("a call record does not parse");
    }
    out.push_back(std::move(rec));
  }
  return out;
}

}  // namespace dialgrid::compliance
