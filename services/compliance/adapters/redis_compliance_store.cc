#include "services/compliance/adapters/redis_compliance_store.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/core/amd.h"
#include "services/common/core/errors.h"
#include "services/common/core/request_ids.h"
#include "services/common/core/names.h"
#include "services/common/core/proto_time.h"
#include "services/common/core/status_macros.h"
#include "services/common/events/outbox_record.h"
#include "services/compliance/adapters/lua/call_event.lua.h"
#include "services/compliance/adapters/lua/check_dial.lua.h"
#include "services/compliance/adapters/lua/current_rule_set.lua.h"
#include "services/compliance/adapters/lua/do_not_call_change.lua.h"
#include "services/compliance/adapters/lua/list_page.lua.h"
#include "services/compliance/adapters/lua/put_consent.lua.h"
#include "services/compliance/adapters/lua/put_refusal.lua.h"
#include "services/compliance/adapters/lua/put_rule_set.lua.h"
#include "services/compliance/adapters/lua/record_helpers.lua.h"
#include "services/compliance/adapters/lua/registry_define.lua.h"
#include "services/compliance/adapters/lua/registry_import.lua.h"
#include "services/compliance/adapters/lua/registry_prune.lua.h"
#include "services/compliance/adapters/lua/registry_update.lua.h"
#include "services/compliance/domain/relationships.h"
#include "services/compliance/domain/statutory_rules.h"

namespace dialgrid::compliance {
namespace {

using google::protobuf::util::TimeUtil;

std::string Prefix(const std::string& tenant) { return TenantHashTag(tenant) + ":"; }
std::string Ms(absl::Time t) { return std::to_string(absl::ToUnixMillis(t)); }
std::string Ms(absl::Duration d) { return std::to_string(absl::ToInt64Milliseconds(d)); }

using events::Frame;
using events::FrameRecord;

absl::StatusOr<Frame> Unframe(absl::string_view record) {
  auto f = events::UnframeRecord(record);
  if (!f.ok()) return absl::DataLossError("a compliance record in Redis is malformed");
  return f;
}

// Adds the script's verdict to a decision taken in process. A fourth part
// (absent in records of earlier builds) lists what lifted or waived a rule:
// E:<registry>:<ebr rule> and W:<waiver rows>, joined by \x1f.
absl::Status MergeVerdict(absl::string_view verdict, v1::DialDecision& d) {
  std::vector<absl::string_view> parts = absl::StrSplit(verdict, absl::MaxSplits('\t', 3));
  int64_t not_before = 0;
  if (parts.size() == 4) {
    for (absl::string_view i : absl::StrSplit(parts[3], '\x1f', absl::SkipEmpty())) {
      const char kind = i.size() > 2 && i[1] == ':' ? i[0] : '\0';
      if (kind == 'E') {
        d.add_exemptions(std::string(i.substr(2)));
      } else if (kind == 'W') {
        for (absl::string_view w : absl::StrSplit(i.substr(2), ',', absl::SkipEmpty())) {
          d.add_hour_waivers(std::string(w));
        }
      }
    }
    parts.resize(3);
  }
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
    int64_t pre =
        d.has_next_allowed_time() ? TimeUtil::TimestampToMilliseconds(d.next_allowed_time()) : 0;
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

// The scripts (adapters/lua/*.lua, compiled in). Each starts with the
// "#!lua" shebang (Redis 7 function-style flags, none set): in cluster mode
// Redis then refuses a script that touches a key of another hash slot than
// its declared KEYS, so "no script spans slots" is enforced, not just
// followed; and a write script is refused as a whole when Redis is out of
// memory instead of failing halfway. Those that write records or events get
// the outbox's append helper and the shared helpers first.
std::string Plain(const char* body) { return absl::StrCat("#!lua\n", body); }
std::string WithHelpers(const char* body) {
  return absl::StrCat("#!lua\n", events::RedisOutbox::kLuaAppend, "\n", lua::kRecordHelpers, "\n",
                      body);
}
#define DG_SCRIPT(Name, Source)                                \
  const redis::Script& Name() {                                \
    static const redis::Script* s = new redis::Script(Source); \
    return *s;                                                 \
  }
DG_SCRIPT(CheckScript, WithHelpers(lua::kCheckDial))
DG_SCRIPT(CurrentRuleSetScript, Plain(lua::kCurrentRuleSet))
DG_SCRIPT(PutRuleSetScript, WithHelpers(lua::kPutRuleSet))
DG_SCRIPT(DncScript, WithHelpers(lua::kDoNotCallChange))
DG_SCRIPT(PutConsentScript, WithHelpers(lua::kPutConsent))
DG_SCRIPT(PutRefusalScript, WithHelpers(lua::kPutRefusal))
DG_SCRIPT(ListPageScript, WithHelpers(lua::kListPage))
DG_SCRIPT(CallEventScript, WithHelpers(lua::kCallEvent))
DG_SCRIPT(RegistryScript, WithHelpers(lua::kRegistryUpdate))
DG_SCRIPT(RegistryPruneScript, Plain(lua::kRegistryPrune))
DG_SCRIPT(RegistryImportScript, Plain(lua::kRegistryImport))
DG_SCRIPT(RegistryDefineScript, WithHelpers(lua::kRegistryDefine))
#undef DG_SCRIPT

// The key that stands in KEYS for an optional key that is absent (same
// slot, never touched).
std::string None(const std::string& tenant) { return Prefix(tenant) + "none"; }

std::string RequestKeyName(const std::string& tenant, const RequestKey& key) {
  return key.id.empty() ? None(tenant) : Prefix(tenant) + "mreq:" + key.id;
}

// The vendor-scope keys of a registry's overlay ({vendor}: the slot of the
// vendor's outbox, which RegistryChanged events are written to).
std::string RegistryBase(const std::string& registry) {
  return absl::StrCat(TenantHashTag(""), ":registry:", registry);
}
std::string LegacyRegistryBase(const std::string& registry) {
  return absl::StrCat("dg:registry:", registry);
}

// A call's outcome as call_event.lua tells them apart. Any other outcome,
// one this build does not define included (a newer dialer's, or a client's
// typo), counts as a placed attempt: skipping it would under-count the
// attempt caps, and it is neither an abandon nor a live answer.
const char* ScriptOutcome(dialing::v1::CallOutcome outcome) {
  switch (outcome) {
    case dialing::v1::CALL_OUTCOME_NOT_PLACED: return "NOT_PLACED";
    case dialing::v1::CALL_OUTCOME_ABANDONED: return "ABANDONED";
    case dialing::v1::CALL_OUTCOME_ANSWERED_CONNECTED: return "ANSWERED_CONNECTED";
    case dialing::v1::CALL_OUTCOME_MACHINE: return "MACHINE";  // a placed attempt, and the AMD lockout
    default: return "PLACED";
  }
}

std::string Day(absl::CivilDay d) { return absl::FormatCivilTime(d); }
std::optional<absl::CivilDay> ParseStoredDay(const std::string& text) {
  absl::CivilDay d;
  if (text.empty() || !absl::ParseCivilTime(text, &d)) return std::nullopt;
  return d;
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
    if (!env.payload().UnpackTo(&d))
      return absl::DataLossError("an outbox decision does not parse");
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
    auto r = redis_->Eval(CurrentRuleSetScript(), {key}, {});
    if (!r.ok()) return ScriptError(r.status(), "reading the rule set");
    if (r->elements.empty()) {
      return FailedPrecondition("RULE_SET_MISSING",
                                "the tenant has no rule set yet (UpdateRuleSet creates it); "
                                "nothing may be dialed until it has one");
    }
    if (r->elements.size() != 2)
      return absl::InternalError("unexpected reply from the rule-set script");
    bytes = std::move(r->elements[1]);
  } else {
    auto r = redis_->Command({"HGET", key, absl::StrCat("v", version)});
    if (!r.ok()) return r.status();
    bytes = *std::move(r);
  }
  if (bytes.is_nil()) return NotFound("RULE_SET_VERSION_NOT_FOUND", "no such rule-set version");
  v1::RuleSet rs;
  if (!rs.ParseFromString(bytes.str))
    return absl::DataLossError("a stored rule set does not parse");
  return rs;
}

absl::Status RedisComplianceStore::PutRuleSet(const std::string& tenant,
                                              const v1::RuleSet& rule_set, int64_t expected_version,
                                              const event::v1::Envelope& event) {
  auto r = WriteWithEvents(PutRuleSetScript(), {Prefix(tenant) + "cr"},
                           {std::to_string(expected_version), rule_set.SerializeAsString(),
                            events::EnvelopeRecord(event)},
                           tenant);
  if (!r.ok()) {
    if (absl::StrContains(r.status().message(), "VERSION_MISMATCH")) {
      return Aborted(
          "VERSION_MISMATCH",
          "the rule set changed since expected_version; get it and apply your change again");
    }
    return ScriptError(r.status(), "storing the rule set");
  }
  return absl::OkStatus();
}

absl::StatusOr<CheckOutcome> RedisComplianceStore::CheckDial(const DialCheck& c) {
  const std::string p = Prefix(c.tenant);
  std::vector<std::string> keys = {
      p + "cr",
      p + "dnc",
      c.campaign.empty() ? None(c.tenant) : p + "dnc:" + c.campaign,
      p + "cons",
      p + "ab:" + c.number,
      p + "an:" + c.number,
      c.contact.empty() ? None(c.tenant) : p + "ac:" + c.contact,
      p + "aud:" + c.number,
      c.request_id.empty() ? None(c.tenant) : p + "dreq:" + c.request_id,
      c.debt.empty() ? None(c.tenant) : p + "ad:" + c.debt,
      p + "am:" + c.number,
      c.debt.empty() ? None(c.tenant) : p + "rc:" + c.debt,
      p + "ebr",
      p + "ebrend",
      p + "refp",
      p + "refa",
  };
  std::vector<std::string> args = {
      Ms(c.time),                          // 1
      c.number,                            // 2
      c.contact,                           // 3
      c.campaign,                          // 4
      std::to_string(c.rule_set_version),  // 5
      c.reserve ? "1" : "0",               // 6
      c.decision_id,                       // 7
      c.request_id,                        // 8
      absl::StrCat(c.consent_level, "|", c.consent_rules),  // 9
      Ms(c.abandon_quiet),                 // 10
      Ms(c.keep_attempts),                 // 11
      Ms(c.audit_retention),               // 12
      c.allowed_so_far ? "1" : "0",        // 13
      c.event.payload().value(),           // 14 the partial decision's bytes
      c.event.SerializeAsString(),         // 15
      Ms(c.recorded),                      // 16
  };
  for (const auto* caps : {&c.number_caps, &c.contact_caps, &c.debt_caps}) {
    args.push_back(std::to_string(caps->size()));
    for (const AttemptCap& cap : *caps) {
      args.push_back(cap.id);
      args.push_back(std::to_string(cap.max_attempts));
      args.push_back(Ms(cap.window));
    }
  }
  args.push_back(Ms(c.machine_lockout));
  args.push_back(c.machine_rule);
  args.push_back(c.abandon_rule);
  args.push_back(c.debt);
  args.push_back(c.conversation_rule);
  args.push_back(std::to_string(c.conversation_steps.size()));
  for (const DayLockoutStep& step : c.conversation_steps) {
    args.push_back(Ms(step.from));
    args.push_back(Ms(step.until));
  }
  args.push_back(std::to_string(c.liftable_listings.size()));
  for (const DialCheck::LiftableListing& l : c.liftable_listings) {
    args.push_back(l.registry);
    args.push_back(l.transaction_rule);
    args.push_back(std::to_string(l.transaction_min_day));
    args.push_back(l.inquiry_rule);
    args.push_back(std::to_string(l.inquiry_min_day));
    args.push_back(std::to_string(l.max_day));
    args.push_back(l.consent_rule);
    args.push_back(std::to_string(l.consent_level));
  }
  std::vector<std::string> waivable;
  for (const v1::DenialReason& r : c.waivable_reasons) {
    waivable.push_back(absl::StrCat(r.code(), "|", r.rule(), "|", r.detail()));
  }
  args.push_back(absl::StrJoin(waivable, "\x1f"));
  args.push_back(c.waivable_not_before == absl::InfinitePast() ? "-1"
                                                               : Ms(c.waivable_not_before));
  args.push_back(std::to_string(c.waiver_scope));
  args.push_back(c.waiver_rules);
  args.push_back(c.refusal_rule);
  args.push_back(c.product);
  auto r = WriteWithEvents(CheckScript(), std::move(keys), args, c.tenant);
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

namespace {

// The keys of a do-not-call list ("" = the tenant's, else a campaign id):
// its set, its entries and its listing index.
std::vector<std::string> DncKeys(const std::string& tenant, const std::string& list) {
  const std::string p = Prefix(tenant);
  const std::string sfx = list.empty() ? "" : ":" + list;
  return {p + "dnc" + sfx, p + "dncm" + sfx, p + "dncx" + sfx};
}

// The keys of do_not_call_change.lua: the list's, the request id's, and the
// ends of established business relationships.
std::vector<std::string> DncChangeKeys(const std::string& tenant, const std::string& list,
                                       const std::string& request_key) {
  std::vector<std::string> keys = DncKeys(tenant, list);
  keys.push_back(request_key);
  keys.push_back(Prefix(tenant) + "ebrend");
  return keys;
}

absl::StatusOr<DncChange> DncReply(const absl::StatusOr<redis::Reply>& r, absl::string_view what) {
  if (!r.ok()) {
    if (absl::StrContains(r.status().message(), "REQUEST_ID_REUSED")) return RequestIdReused();
    return ScriptError(r.status(), what);
  }
  if (r->elements.size() != 2) return absl::InternalError("unexpected reply from the DNC script");
  return DncChange{r->elements[0].integer, r->elements[1].integer};
}

}  // namespace

absl::StatusOr<DncChange> RedisComplianceStore::AddDoNotCall(
    const std::string& tenant, const std::string& list, const std::vector<std::string>& numbers,
    const v1::DoNotCallEntry& meta, const event::v1::Envelope& event, const RequestKey& key) {
  std::vector<std::string> keys = DncChangeKeys(tenant, list, RequestKeyName(tenant, key));
  std::vector<std::string> args = {
      "add", meta.SerializeAsString(), events::EnvelopeRecord(event),
      key.id.empty() ? "" : key.request,
      std::to_string(TimeUtil::TimestampToMilliseconds(meta.add_time()))};
  args.insert(args.end(), numbers.begin(), numbers.end());
  return DncReply(WriteWithEvents(DncScript(), std::move(keys), args, tenant),
                  "adding to the do-not-call list");
}

absl::StatusOr<DncChange> RedisComplianceStore::RemoveDoNotCall(
    const std::string& tenant, const std::string& list, const std::vector<std::string>& numbers,
    const event::v1::Envelope& event, const RequestKey& key) {
  std::vector<std::string> keys = DncChangeKeys(tenant, list, RequestKeyName(tenant, key));
  std::vector<std::string> args = {"remove", "", events::EnvelopeRecord(event),
                                   key.id.empty() ? "" : key.request, ""};
  args.insert(args.end(), numbers.begin(), numbers.end());
  return DncReply(WriteWithEvents(DncScript(), std::move(keys), args, tenant),
                  "removing from the do-not-call list");
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

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> RedisComplianceStore::ListPage(
    const std::string& index, const std::string& hash, const std::string& after, int limit) {
  auto r = redis_->Eval(ListPageScript(), {index, hash}, {after, std::to_string(limit)});
  if (!r.ok()) return ScriptError(r.status(), "listing");
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i + 1 < r->elements.size(); i += 2) {
    out.emplace_back(std::move(r->elements[i].str), std::move(r->elements[i + 1].str));
  }
  return out;
}

absl::StatusOr<std::vector<v1::DoNotCallEntry>> RedisComplianceStore::ListDoNotCall(
    const std::string& tenant, const std::string& list, const std::string& after, int limit) {
  const std::vector<std::string> keys = DncKeys(tenant, list);
  DG_ASSIGN_OR_RETURN(auto page, ListPage(keys[2], keys[1], after, limit));
  std::vector<v1::DoNotCallEntry> out;
  for (auto& [number, bytes] : page) {
    v1::DoNotCallEntry e;
    if (!e.ParseFromString(bytes)) return absl::DataLossError("a DNC entry does not parse");
    e.set_list(list.empty() ? "tenant" : "campaign:" + list);
    e.set_phone_number(number);
    out.push_back(std::move(e));
  }
  return out;
}

absl::StatusOr<v1::Consent> RedisComplianceStore::PutConsent(const std::string& tenant,
                                                             const v1::Consent& c,
                                                             const event::v1::Envelope& event,
                                                             const RequestKey& key) {
  auto ms = [](const google::protobuf::Timestamp& t, bool set) {
    return set ? std::to_string(TimeUtil::TimestampToMilliseconds(t)) : std::string();
  };
  // "grant|expire|revoke|level|,scope,scope," (check_dial.lua)
  std::string scopes = ",";
  for (int s : c.scopes()) absl::StrAppend(&scopes, s, ",");
  std::string compact =
      absl::StrCat(ms(c.grant_time(), true), "|", ms(c.expire_time(), c.has_expire_time()), "|",
                   ms(c.revoke_time(), c.has_revoke_time()), "|",
                   static_cast<int>(LevelOf(c.type())), "|", scopes);
  const std::string p = Prefix(tenant);
  auto r = WriteWithEvents(PutConsentScript(),
                           {p + "cons", p + "consp", p + "consx", RequestKeyName(tenant, key)},
                           {c.phone_number(), compact, c.SerializeAsString(),
                            events::EnvelopeRecord(event), key.id.empty() ? "" : key.request},
                           tenant);
  if (!r.ok()) {
    if (absl::StrContains(r.status().message(), "REQUEST_ID_REUSED")) return RequestIdReused();
    return ScriptError(r.status(), "recording the consent");
  }
  if (r->elements.size() != 2)
    return absl::InternalError("unexpected reply from the consent script");
  v1::Consent stored;
  if (!stored.ParseFromString(r->elements[1].str)) {
    return absl::DataLossError("a consent record does not parse");
  }
  return stored;
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

absl::StatusOr<std::vector<v1::Consent>> RedisComplianceStore::ListConsents(
    const std::string& tenant, const std::string& after, int limit) {
  const std::string p = Prefix(tenant);
  DG_ASSIGN_OR_RETURN(auto page, ListPage(p + "consx", p + "consp", after, limit));
  std::vector<v1::Consent> out;
  for (auto& [number, bytes] : page) {
    v1::Consent c;
    if (!c.ParseFromString(bytes)) return absl::DataLossError("a consent record does not parse");
    out.push_back(std::move(c));
  }
  return out;
}

absl::StatusOr<v1::EstablishedRelationship> RedisComplianceStore::PutRelationship(
    const std::string& tenant, const v1::EstablishedRelationship& r,
    const event::v1::Envelope& event, const RequestKey& key) {
  auto day = DayOf("date", r.date());
  if (!day.ok()) return day.status();
  const std::string p = Prefix(tenant);
  // put_consent.lua's shape: compact value (the date's day number) for
  // check_dial.lua, the record, the listing index, the request id.
  auto w = WriteWithEvents(PutConsentScript(),
                           {p + "ebr", p + "ebrp", p + "ebrx", RequestKeyName(tenant, key)},
                           {RelationshipKey(r.phone_number(), r.kind()),
                            std::to_string(EpochDay(*day)), r.SerializeAsString(),
                            events::EnvelopeRecord(event), key.id.empty() ? "" : key.request},
                           tenant);
  if (!w.ok()) {
    if (absl::StrContains(w.status().message(), "REQUEST_ID_REUSED")) return RequestIdReused();
    return ScriptError(w.status(), "recording the relationship");
  }
  if (w->elements.size() != 2)
    return absl::InternalError("unexpected reply from the relationship script");
  v1::EstablishedRelationship stored;
  if (!stored.ParseFromString(w->elements[1].str)) {
    return absl::DataLossError("a relationship record does not parse");
  }
  return stored;
}

absl::StatusOr<std::vector<v1::EstablishedRelationship>> RedisComplianceStore::ListRelationships(
    const std::string& tenant, const std::string& after, int limit) {
  const std::string p = Prefix(tenant);
  DG_ASSIGN_OR_RETURN(auto page, ListPage(p + "ebrx", p + "ebrp", after, limit));
  std::vector<v1::EstablishedRelationship> out;
  std::vector<std::vector<std::string>> ends;
  for (auto& [field, bytes] : page) {
    v1::EstablishedRelationship r;
    if (!r.ParseFromString(bytes)) return absl::DataLossError("a relationship does not parse");
    ends.push_back({"HGET", p + "ebrend", r.phone_number()});
    out.push_back(std::move(r));
  }
  if (out.empty()) return out;
  auto e = redis_->Pipeline(ends);
  if (!e.ok()) return e.status();
  for (size_t i = 0; i < out.size(); ++i) {
    int64_t ms = 0;
    if ((*e)[i].is_nil() || !absl::SimpleAtoi((*e)[i].str, &ms)) continue;
    auto day = DayOf("date", out[i].date());
    // Ended when dated on or before the request's date at UTC+14 (as
    // check_dial.lua reads it).
    if (day.ok() && EpochDay(*day) <= (ms + 14 * 3600000) / 86400000) {
      *out[i].mutable_end_time() = TimeUtil::MillisecondsToTimestamp(ms);
    }
  }
  return out;
}

absl::StatusOr<v1::SolicitationRefusal> RedisComplianceStore::PutRefusal(
    const std::string& tenant, const v1::SolicitationRefusal& r, const event::v1::Envelope& event,
    const RequestKey& key) {
  const std::string p = Prefix(tenant);
  auto w = WriteWithEvents(
      PutRefusalScript(),
      {p + "refp", p + "refr", p + "refx", p + "refa", RequestKeyName(tenant, key)},
      // A person's refusal: its "any product" field in refa is "c:<contact>".
      {RefusalKeyOf(r), r.contact().empty() ? r.phone_number() : "c:" + r.contact(),
       std::to_string(TimeUtil::TimestampToMilliseconds(r.refuse_time())), r.SerializeAsString(),
       events::EnvelopeRecord(event), key.id.empty() ? "" : key.request},
      tenant);
  if (!w.ok()) {
    if (absl::StrContains(w.status().message(), "REQUEST_ID_REUSED")) return RequestIdReused();
    return ScriptError(w.status(), "recording the refusal");
  }
  if (w->elements.size() != 2)
    return absl::InternalError("unexpected reply from the refusal script");
  v1::SolicitationRefusal stored;
  if (!stored.ParseFromString(w->elements[1].str)) {
    return absl::DataLossError("a refusal record does not parse");
  }
  return stored;
}

absl::StatusOr<std::vector<v1::SolicitationRefusal>> RedisComplianceStore::ListRefusals(
    const std::string& tenant, const std::string& after, int limit) {
  const std::string p = Prefix(tenant);
  DG_ASSIGN_OR_RETURN(auto page, ListPage(p + "refx", p + "refr", after, limit));
  std::vector<v1::SolicitationRefusal> out;
  for (auto& [field, bytes] : page) {
    v1::SolicitationRefusal r;
    if (!r.ParseFromString(bytes)) return absl::DataLossError("a refusal does not parse");
    out.push_back(std::move(r));
  }
  return out;
}

namespace {

// What call_event.lua needs of a call beside its keys' names.
struct CallArgs {
  std::vector<std::string> keys;
  std::vector<std::string> args;
};
CallArgs CallEventArgs(const std::string& tenant, const std::string& dedupe_key,
                       const std::string& event_id, const dialing::v1::CallAttemptEnded& call,
                       absl::Duration keep_attempts, absl::Duration audit_retention,
                       std::string record) {
  int64_t dial = TimeUtil::TimestampToMilliseconds(call.dial_time());
  int64_t ended = call.has_end_time() ? TimeUtil::TimestampToMilliseconds(call.end_time()) : dial;
  int64_t answered =
      call.has_answer_time() ? TimeUtil::TimestampToMilliseconds(call.answer_time()) : dial;
  std::string campaign;
  if (!call.campaign().empty()) {
    auto ids = ParseName("campaign", call.campaign(), "tenants/{tenant}/campaigns/{campaign}");
    if (ids.ok()) campaign = (*ids)[1];
  }
  const std::string p = Prefix(tenant);
  const std::string& number = call.phone_number();
  const std::string& debt = call.debt();
  CallArgs out;
  out.keys = {p + dedupe_key,
              p + "an:" + number,
              call.contact().empty() ? None(tenant) : p + "ac:" + call.contact(),
              p + "ab:" + number,
              campaign.empty() ? None(tenant) : p + "abr:" + campaign,
              p + "aud:" + number,
              p + "am:" + number,
              debt.empty() ? None(tenant) : p + "ad:" + debt,
              debt.empty() ? None(tenant) : p + "rc:" + debt};
  out.args = {call.contact(),
              campaign,
              ScriptOutcome(call.outcome()),
              std::to_string(dial),
              std::to_string(ended),
              std::to_string(answered / 3600000),
              call.decision_id(),
              Ms(std::max(keep_attempts, absl::Hours(24))),
              Ms(audit_retention),
              std::move(record),
              event_id,
              debt,
              IsConversation(call) ? Ms(ConversationTime(call)) : ""};
  return out;
}

// Estimated AMD hang-ups on live persons per live answer of a screened
// attempt: f / (1 - f) ('' when AMD did not screen it, or f is out of range).
std::string AmdWeight(const dialing::v1::CallAttemptEnded& call) {
  const double w = EstimatedAmdHangupsPerLiveAnswer(call.amd_false_positive_rate());
  if (w <= 0.0) return "";
  char weight[32];
  std::snprintf(weight, sizeof weight, "%.12g", w);  // StrCat keeps 6 digits
  return weight;
}

}  // namespace

absl::StatusOr<bool> RedisComplianceStore::ApplyCallEvent(const std::string& tenant,
                                                          const std::string& event_id,
                                                          const dialing::v1::CallAttemptEnded& call,
                                                          absl::Duration keep_attempts,
                                                          absl::Duration audit_retention) {
  CallArgs a = CallEventArgs(tenant, "ev:" + event_id, event_id, call, keep_attempts,
                             audit_retention, FrameRecord('T', call.SerializeAsString()));
  a.args.insert(a.args.end(), {"", "", "", AmdWeight(call)});
  auto r = Write(CallEventScript(), a.keys, a.args);
  if (!r.ok()) return ScriptError(r.status(), "applying the call event");
  if (r->elements.size() != 2) return absl::InternalError("unexpected reply from the call script");
  return r->elements[0].integer == 1;
}

absl::StatusOr<v1::CallOutcomeRecorded> RedisComplianceStore::RecordCallOutcome(
    const std::string& tenant, const v1::CallOutcomeRecorded& record,
    const event::v1::Envelope& event, const RequestKey& key, absl::Duration keep_attempts,
    absl::Duration audit_retention) {
  const std::string bytes = record.SerializeAsString();
  // Its own namespace beside the dialing events' ids: a client's request id
  // cannot collide with one of them.
  CallArgs a = CallEventArgs(tenant, "ev:api:" + key.id, "api:" + key.id, record.call(),
                             keep_attempts, audit_retention, FrameRecord('C', bytes));
  a.args.insert(a.args.end(),
                {key.request, events::EnvelopeRecord(event), bytes, AmdWeight(record.call())});
  auto r = WriteWithEvents(CallEventScript(), a.keys, a.args, tenant);
  if (!r.ok()) {
    if (absl::StrContains(r.status().message(), "REQUEST_ID_REUSED")) return RequestIdReused();
    return ScriptError(r.status(), "recording the call outcome");
  }
  if (r->elements.size() != 2) return absl::InternalError("unexpected reply from the call script");
  v1::CallOutcomeRecorded stored;
  if (!stored.ParseFromString(r->elements[1].str)) {
    return absl::DataLossError("a call outcome record does not parse");
  }
  return stored;
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
    if (f.size() < 3 || !absl::SimpleAtoi(absl::string_view(f).substr(2), &h)) continue;
    if (f[0] == 'e') {  // estimated AMD hang-ups on live persons (a float)
      double e = 0;
      if (!absl::SimpleAtod(r->elements[i + 1].str, &e)) continue;
      if (h > hour - 24 && h <= hour) c.amd_estimated_24h += e;
      if (h > hour - 720 && h <= hour) c.amd_estimated_30d += e;
      continue;
    }
    if (!absl::SimpleAtoi(r->elements[i + 1].str, &n)) continue;
    bool abandoned = f[0] == 'a';
    if (h > hour - 24 && h <= hour) (abandoned ? c.abandoned_24h : c.live_24h) += n;
    if (h > hour - 720 && h <= hour) (abandoned ? c.abandoned_30d : c.live_30d) += n;
  }
  return c;
}

absl::Status RedisComplianceStore::UpdateRegistry(const std::string& registry,
                                                  const RegistryChange& change,
                                                  const event::v1::Envelope& event) {
  std::vector<std::string> args = {events::EnvelopeRecord(event), std::to_string(change.add.size()),
                                   change.as_of ? Day(*change.as_of) : "", Day(change.dated),
                                   change.at_once ? "1" : ""};
  for (uint64_t k : change.add) args.push_back(std::to_string(k));
  for (uint64_t k : change.remove) args.push_back(std::to_string(k));
  const std::string base = RegistryBase(registry);
  // Vendor scope: the vendor's outbox ({vendor}:outbox:compliance), the same
  // slot as the registry's keys.
  auto r = WriteWithEvents(
      RegistryScript(),
      {base + ":add", base + ":del", base + ":asof", base + ":dates", base + ":atonce",
       base + ":seq"},
      args, "");
  if (!r.ok()) return ScriptError(r.status(), "updating the registry");
  return absl::OkStatus();
}

absl::StatusOr<ComplianceStore::PruneCount> RedisComplianceStore::PruneRegistryOverlay(
    const std::string& registry, absl::CivilDay through_day) {
  DG_RETURN_IF_ERROR(ImportLegacyRegistryKeys(registry));
  const std::string base = RegistryBase(registry);
  const std::string through = Day(through_day);
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
      if (fields[i + 1].str <= through) {  // YYYY-MM-DD compares as text
        args.push_back(fields[i].str);
      } else {
        ++count.kept;
      }
    }
    if (args.size() > 1) {
      auto r = Write(RegistryPruneScript(),
                     {base + ":add", base + ":del", base + ":dates", base + ":atonce",
                      base + ":seq"},
                     args);
      if (!r.ok()) return ScriptError(r.status(), "pruning the registry overlay");
      count.pruned += r->integer;
      count.kept += static_cast<int64_t>(args.size() - 1) - r->integer;
    }
  } while (cursor != "0");
  return count;
}

absl::Status RedisComplianceStore::ImportLegacyRegistryKeys(const std::string& registry) {
  const std::string old = LegacyRegistryBase(registry);
  const std::vector<std::string> old_keys = {old + ":add", old + ":del", old + ":asof",
                                             old + ":dates"};
  // One EXISTS per key: they hash to different slots.
  std::vector<std::vector<std::string>> probes;
  for (const std::string& k : old_keys) probes.push_back({"EXISTS", k});
  auto exists = redis_->Pipeline(probes);
  if (!exists.ok()) return exists.status();
  int64_t found = 0;
  for (const auto& e : *exists) found += e.integer;
  if (found == 0) return absl::OkStatus();
  // Another slot: read with plain commands, merge into the tagged keys with a
  // script, delete the old keys last (a crash in between repeats the merge,
  // which is idempotent).
  auto r = redis_->Pipeline({{"SMEMBERS", old_keys[0]},
                             {"SMEMBERS", old_keys[1]},
                             {"GET", old_keys[2]},
                             {"HGETALL", old_keys[3]}});
  if (!r.ok()) return r.status();
  absl::flat_hash_map<std::string, std::string> dates;
  const auto& d = (*r)[3].elements;
  for (size_t i = 0; i + 1 < d.size(); i += 2) dates[d[i].str] = d[i + 1].str;
  const std::string base = RegistryBase(registry);
  const std::vector<std::string> keys = {base + ":add", base + ":del", base + ":asof",
                                         base + ":dates"};
  std::vector<std::string> args = {(*r)[2].is_nil() ? "" : (*r)[2].str};
  auto flush = [&]() -> absl::Status {
    auto w = Write(RegistryImportScript(), keys, args);
    if (!w.ok()) return ScriptError(w.status(), "taking over the registry overlay");
    args.resize(1);
    return absl::OkStatus();
  };
  for (int i = 0; i < 2; ++i) {
    for (const auto& e : (*r)[static_cast<size_t>(i)].elements) {
      auto it = dates.find(e.str);
      args.push_back(e.str);
      args.push_back(i == 0 ? "add" : "del");
      args.push_back(it == dates.end() ? "" : it->second);
      if (args.size() >= 3000) DG_RETURN_IF_ERROR(flush());
    }
  }
  DG_RETURN_IF_ERROR(flush());
  for (const std::string& k : old_keys) {
    auto del = redis_->Command({"DEL", k});
    if (!del.ok()) return del.status();
  }
  auto bump = redis_->Command({"INCR", base + ":seq"});
  if (!bump.ok()) return bump.status();
  return absl::OkStatus();
}

absl::StatusOr<ComplianceStore::RegistryOverlay> RedisComplianceStore::GetRegistryOverlay(
    const std::string& registry) {
  DG_RETURN_IF_ERROR(ImportLegacyRegistryKeys(registry));
  const std::string base = RegistryBase(registry);
  // The change count first: a change landing during the reads leaves the
  // count behind the data, so the next resync reads again (never the other
  // way round).
  auto r = redis_->Pipeline({{"GET", base + ":seq"},
                             {"SMEMBERS", base + ":add"},
                             {"SMEMBERS", base + ":del"},
                             {"GET", base + ":asof"},
                             {"HGETALL", base + ":dates"},
                             {"SMEMBERS", base + ":atonce"}});
  if (!r.ok()) return r.status();
  RegistryOverlay out;
  if (!(*r)[0].is_nil() && !absl::SimpleAtoi((*r)[0].str, &out.seq)) {
    return absl::DataLossError("a registry overlay's change count is malformed");
  }
  auto key_of = [](const redis::Reply& e, uint64_t& k) { return absl::SimpleAtoi(e.str, &k); };
  for (const auto& e : (*r)[5].elements) {
    uint64_t k = 0;
    if (!key_of(e, k)) return absl::DataLossError("a registry overlay key is malformed");
    out.at_once.push_back(k);
  }
  if (!(*r)[3].is_nil()) out.as_of = ParseStoredDay((*r)[3].str);
  const auto& dates = (*r)[4].elements;
  for (size_t i = 0; i + 1 < dates.size(); i += 2) {
    uint64_t k = 0;
    auto day = ParseStoredDay(dates[i + 1].str);
    if (key_of(dates[i], k) && day) out.dates[k] = *day;
  }
  for (int i = 0; i < 2; ++i) {
    for (const auto& e : (*r)[static_cast<size_t>(i + 1)].elements) {
      uint64_t k = 0;
      if (!key_of(e, k)) return absl::DataLossError("a registry overlay key is malformed");
      (i == 0 ? out.added : out.removed).push_back(k);
    }
  }
  return out;
}

absl::StatusOr<int64_t> RedisComplianceStore::RegistryOverlaySeq(const std::string& registry) {
  auto r = redis_->Command({"GET", RegistryBase(registry) + ":seq"});
  if (!r.ok()) return r.status();
  int64_t seq = 0;
  if (!r->is_nil() && !absl::SimpleAtoi(r->str, &seq)) {
    return absl::DataLossError("a registry overlay's change count is malformed");
  }
  return seq;
}

absl::Status RedisComplianceStore::ChangeRegistryDefinition(DefinitionChange change,
                                                            const v1::Registry& def,
                                                            const event::v1::Envelope& event) {
  const std::string base = RegistryBase(def.id());
  const char* op = change == DefinitionChange::kCreate   ? "create"
                   : change == DefinitionChange::kUpdate ? "update"
                                                         : "delete";
  auto r = WriteWithEvents(RegistryDefineScript(),
                           {TenantHashTag("") + ":registry-defs", base + ":add", base + ":del",
                            base + ":asof", base + ":dates", base + ":atonce", base + ":seq"},
                           {events::EnvelopeRecord(event), op, def.id(), def.SerializeAsString()},
                           "");
  if (!r.ok()) return ScriptError(r.status(), "changing the registry's definition");
  if (r->integer == 1) return absl::OkStatus();
  if (change == DefinitionChange::kCreate) {
    return AlreadyExists("REGISTRY_EXISTS",
                         absl::StrCat("a registry \"", def.id(), "\" is already defined"));
  }
  return NotFound("REGISTRY_NOT_FOUND",
                  absl::StrCat("no registry \"", def.id(), "\" was created over the API"));
}

absl::StatusOr<std::vector<v1::Registry>> RedisComplianceStore::RegistryDefinitions() {
  auto r = redis_->Command({"HGETALL", TenantHashTag("") + ":registry-defs"});
  if (!r.ok()) return r.status();
  std::vector<v1::Registry> out;
  for (size_t i = 0; i + 1 < r->elements.size(); i += 2) {
    v1::Registry def;
    if (!def.ParseFromString(r->elements[i + 1].str) || def.id() != r->elements[i].str) {
      return absl::DataLossError(
          absl::StrCat("the stored definition of registry \"", r->elements[i].str,
                       "\" does not parse"));
    }
    out.push_back(std::move(def));
  }
  return out;
}

absl::StatusOr<std::vector<v1::DialRecord>> RedisComplianceStore::ListRecords(
    const std::string& tenant, const std::string& number, absl::Time from, absl::Time to,
    int offset, int limit) {
  auto r = redis_->Command({"ZRANGE", Prefix(tenant) + "aud:" + number, Ms(from), "(" + Ms(to),
                            "BYSCORE", "WITHSCORES", "LIMIT", std::to_string(offset),
                            std::to_string(limit)});
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
    } else if (f->kind == 'C') {
      // A call reported through RecordCallOutcome, with who reported it.
      v1::CallOutcomeRecorded c;
      if (!c.ParseFromArray(f->bytes.data(), static_cast<int>(f->bytes.size()))) {
        return absl::DataLossError("a reported call record does not parse");
      }
      *rec.mutable_call() = std::move(*c.mutable_call());
      rec.set_reported_by(c.reported_by());
    } else if (!rec.mutable_call()->ParseFromArray(f->bytes.data(),
                                                   static_cast<int>(f->bytes.size()))) {
      return absl::DataLossError("a call record does not parse");
    }
    out.push_back(std::move(rec));
  }
  return out;
}

}  // namespace dialgrid::compliance
