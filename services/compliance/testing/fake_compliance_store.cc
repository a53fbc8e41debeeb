#include "services/compliance/testing/fake_compliance_store.h"

#include "services/compliance/domain/relationships.h"
#include "services/compliance/domain/statutory_rules.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "absl/strings/str_split.h"
#include "services/common/core/errors.h"
#include "services/common/core/proto_time.h"

namespace dialgrid::compliance::testing {
namespace {

using google::protobuf::util::TimeUtil;

int64_t Ms(absl::Time t) { return absl::ToUnixMillis(t); }
int64_t Ms(absl::Duration d) { return absl::ToInt64Milliseconds(d); }

void Deny(v1::DialDecision& d, absl::string_view code, absl::string_view rule,
          absl::string_view detail) {
  v1::DenialReason* r = d.add_reasons();
  r->set_code(std::string(code));
  r->set_rule(std::string(rule));
  r->set_detail(std::string(detail));
}

}  // namespace

absl::Status FakeComplianceStore::TakeFailure() {
  absl::Status st = next_failure_;
  next_failure_ = absl::OkStatus();
  return st;
}

absl::StatusOr<std::optional<std::string>> FakeComplianceStore::Previous(Tenant& t,
                                                                         const RequestKey& key) {
  if (key.id.empty()) return std::optional<std::string>();
  auto it = t.requests.find(key.id);
  if (it == t.requests.end()) return std::optional<std::string>();
  if (it->second.until <= clock_.Now()) {
    t.requests.erase(it);
    return std::optional<std::string>();
  }
  if (it->second.request != key.request) {
    return AlreadyExists("REQUEST_ID_REUSED", "request_id was used for a different request");
  }
  return std::optional<std::string>(it->second.reply);
}

void FakeComplianceStore::Remember(Tenant& t, const RequestKey& key, std::string reply) {
  if (key.id.empty()) return;
  t.requests[key.id] = Kept{key.request, std::move(reply), clock_.Now() + kRequestIdRetention};
}

absl::StatusOr<v1::RuleSet> FakeComplianceStore::GetRuleSet(const std::string& tenant,
                                                            int64_t version) {
  std::lock_guard<std::mutex> lock(mu_);
  Tenant& t = tenants_[tenant];
  if (version == 0) {
    if (t.current == 0)
      return FailedPrecondition("RULE_SET_MISSING", "the tenant has no rule set yet");
    version = t.current;
  }
  auto it = t.rule_sets.find(version);
  if (it == t.rule_sets.end())
    return NotFound("RULE_SET_VERSION_NOT_FOUND", "no such rule-set version");
  return it->second;
}

absl::Status FakeComplianceStore::PutRuleSet(const std::string& tenant, const v1::RuleSet& rule_set,
                                             int64_t expected_version,
                                             const event::v1::Envelope& event) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status st = TakeFailure(); !st.ok()) return st;
  Tenant& t = tenants_[tenant];
  if (t.current != expected_version) return Aborted("VERSION_MISMATCH", "the rule set changed");
  t.current = expected_version + 1;
  t.rule_sets[t.current] = rule_set;
  events_.push_back(event);
  return absl::OkStatus();
}

absl::StatusOr<CheckOutcome> FakeComplianceStore::CheckDial(const DialCheck& c) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status st = TakeFailure(); !st.ok()) return st;
  Tenant& t = tenants_[c.tenant];
  CheckOutcome out;
  if (!c.request_id.empty()) {
    auto it = t.decisions.find(c.request_id);
    if (it != t.decisions.end()) {
      out.kind = CheckOutcome::Kind::kDuplicate;
      out.decision = it->second;
      return out;
    }
  }
  if (stale_checks_ > 0 || t.current != c.rule_set_version) {
    if (stale_checks_ > 0) --stale_checks_;
    out.kind = CheckOutcome::Kind::kStaleRuleSet;
    return out;
  }
  v1::DialDecision d = c.partial;
  const bool pre_never = d.reasons_size() > 0 && !d.has_next_allowed_time();
  const int64_t now = Ms(c.time);
  bool never = false;
  int64_t not_before = 0;
  int before = d.reasons_size();
  if (t.lists[""].count(c.number) > 0) {
    Deny(d, kDenyTenantList, "tenant", "");
    never = true;
  }
  if (!c.campaign.empty() && t.lists[c.campaign].count(c.number) > 0) {
    Deny(d, kDenyCampaignList, "campaign:" + c.campaign, "");
    never = true;
  }
  if (c.consent_level > 0) {
    auto it = t.consents.find(c.number);
    bool ok = it != t.consents.end() &&
              TimeUtil::TimestampToMilliseconds(it->second.grant_time()) <= now &&
              (!it->second.has_expire_time() ||
               TimeUtil::TimestampToMilliseconds(it->second.expire_time()) > now) &&
              (!it->second.has_revoke_time() ||
               TimeUtil::TimestampToMilliseconds(it->second.revoke_time()) > now) &&
              static_cast<int>(LevelOf(it->second.type())) >= c.consent_level;
    if (!ok) {
      Deny(d, kDenyNoConsent, c.consent_rules,
           c.consent_level >= 2 ? "prior express written consent required"
                                : "prior express consent required");
      never = true;
    }
  }
  auto lockout = [&](const std::map<std::string, int64_t>& last, absl::Duration length,
                     absl::string_view code, const std::string& rule, absl::string_view what) {
    if (length <= absl::ZeroDuration()) return;
    auto it = last.find(c.number);
    if (it != last.end() && it->second + Ms(length) >= now) {
      Deny(d, code, rule, absl::StrCat(what, " at ", it->second));
      not_before = std::max(not_before, it->second + Ms(length) + 1);
    }
  };
  lockout(t.abandoned_ms, c.abandon_quiet, kDenyQuietPeriod, c.abandon_rule, "abandoned");
  lockout(t.machine_ms, c.machine_lockout, kDenyMachineLockout, c.machine_rule,
          "answering machine");
  auto caps = [&](const std::map<std::string, int64_t>& attempts,
                  const std::vector<AttemptCap>& list, absl::string_view code) {
    for (const AttemptCap& cap : list) {
      std::vector<int64_t> in;
      for (const auto& [member, ms] : attempts) {
        if (ms >= now - Ms(cap.window) && ms <= now) in.push_back(ms);
      }
      if (static_cast<int>(in.size()) >= cap.max_attempts) {
        std::sort(in.begin(), in.end());
        Deny(d, code, cap.id,
             absl::StrCat(in.size(), " attempts of ", cap.max_attempts, " allowed"));
        not_before = std::max(not_before, in[in.size() - cap.max_attempts] + Ms(cap.window) + 1);
      }
    }
  };
  caps(t.number_attempts[c.number], c.number_caps, kDenyNumberCap);
  if (!c.contact.empty()) caps(t.contact_attempts[c.contact], c.contact_caps, kDenyContactCap);
  if (!c.debt.empty()) caps(t.debt_attempts[c.debt], c.debt_caps, kDenyDebtCap);
  if (!c.debt.empty() && !c.conversation_steps.empty()) {
    int64_t latest = -1;
    for (const auto& [member, ms] : t.conversations[c.debt]) {
      if (ms >= Ms(c.conversation_steps.front().from) && ms <= now) latest = std::max(latest, ms);
    }
    int64_t until = 0;
    for (const DayLockoutStep& step : c.conversation_steps) {
      if (latest >= 0 && Ms(step.from) <= latest) until = Ms(step.until);
    }
    if (until > now) {
      Deny(d, kDenyConversationLockout, c.conversation_rule,
           absl::StrCat("conversation about the debt at ", latest));
      not_before = std::max(not_before, until);
    }
  }
  // Registry listings an established business relationship or a consent
  // may lift.
  auto consent_valid = [&](int level) {
    auto it = t.consents.find(c.number);
    return it != t.consents.end() &&
           TimeUtil::TimestampToMilliseconds(it->second.grant_time()) <= now &&
           (!it->second.has_expire_time() ||
            TimeUtil::TimestampToMilliseconds(it->second.expire_time()) > now) &&
           (!it->second.has_revoke_time() ||
            TimeUtil::TimestampToMilliseconds(it->second.revoke_time()) > now) &&
           static_cast<int>(LevelOf(it->second.type())) >= level;
  };
  for (const DialCheck::LiftableListing& l : c.liftable_listings) {
    auto end = t.dnc_requests.find(c.number);
    auto counts = [&](v1::RelationshipKind kind, const std::string& rule, int64_t min) {
      auto it = t.relationships.find(RelationshipKey(c.number, kind));
      if (it == t.relationships.end() || rule.empty() || min < 0) return false;
      auto day = DayOf("date", it->second.date());
      if (!day.ok()) return false;
      const int64_t n = EpochDay(*day);
      return n >= min && n <= l.max_day &&
             (end == t.dnc_requests.end() || n > (end->second + 14 * 3600000) / 86400000);
    };
    if (counts(v1::RELATIONSHIP_KIND_TRANSACTION, l.transaction_rule, l.transaction_min_day)) {
      d.add_exemptions(absl::StrCat(l.registry, ":", l.transaction_rule));
    } else if (counts(v1::RELATIONSHIP_KIND_INQUIRY, l.inquiry_rule, l.inquiry_min_day)) {
      d.add_exemptions(absl::StrCat(l.registry, ":", l.inquiry_rule));
    } else if (!l.consent_rule.empty() && consent_valid(l.consent_level)) {
      d.add_exemptions(absl::StrCat(l.registry, ":", l.consent_rule));
    } else {
      Deny(d, kDenyRegistry, l.registry, "");
      never = true;
    }
  }
  // Calling hours a separate consent waives.
  if (!c.waivable_reasons.empty()) {
    auto it = t.consents.find(c.number);
    bool ok = false;
    if (it != t.consents.end()) {
      const v1::Consent& k = it->second;
      ok = TimeUtil::TimestampToMilliseconds(k.grant_time()) <= now &&
           (!k.has_expire_time() || TimeUtil::TimestampToMilliseconds(k.expire_time()) > now) &&
           (!k.has_revoke_time() || TimeUtil::TimestampToMilliseconds(k.revoke_time()) > now) &&
           std::find(k.scopes().begin(), k.scopes().end(), c.waiver_scope) != k.scopes().end();
    }
    if (ok) {
      for (absl::string_view w : absl::StrSplit(c.waiver_rules, ',', absl::SkipEmpty())) {
        d.add_hour_waivers(std::string(w));
      }
    } else {
      for (const v1::DenialReason& r : c.waivable_reasons) *d.add_reasons() = r;
      if (c.waivable_not_before == absl::InfinitePast()) {
        never = true;
      } else {
        not_before = std::max(not_before, Ms(c.waivable_not_before));
      }
    }
  }
  // Art. 17 refusals.
  if (!c.refusal_rule.empty()) {
    int64_t at = -1;
    for (const auto& [key, r] : t.refusals) {
      // The number's refusals; a person's when the dial names that contact.
      if (r.contact().empty() ? r.phone_number() != c.number
                              : c.contact.empty() || r.contact() != c.contact) {
        continue;
      }
      if (!c.product.empty() && !r.product().empty() && r.product() != c.product) continue;
      const int64_t ms = TimeUtil::TimestampToMilliseconds(r.refuse_time());
      if (ms <= now && (at < 0 || ms < at)) at = ms;
    }
    if (at >= 0) {
      Deny(d, kDenyRefused, c.refusal_rule, absl::StrCat("refused at ", at));
      never = true;
    }
  }
  const bool allowed = d.reasons_size() == before && c.allowed_so_far;
  if (allowed && c.reserve) {
    t.number_attempts[c.number][c.decision_id] = now;
    if (!c.contact.empty()) t.contact_attempts[c.contact][c.decision_id] = now;
    if (!c.debt.empty()) t.debt_attempts[c.debt][c.decision_id] = now;
  }
  d.set_allowed(allowed);
  if (allowed || never || pre_never) {
    d.clear_next_allowed_time();
  } else if (not_before > 0) {
    int64_t pre =
        d.has_next_allowed_time() ? TimeUtil::TimestampToMilliseconds(d.next_allowed_time()) : 0;
    *d.mutable_next_allowed_time() = TimeUtil::MillisecondsToTimestamp(std::max(pre, not_before));
  }
  v1::DialRecord rec;
  *rec.mutable_time() = TimeUtil::MillisecondsToTimestamp(Ms(c.recorded));
  *rec.mutable_decision() = d;
  t.audit[c.number].push_back(rec);
  event::v1::Envelope e = c.event;
  e.mutable_payload()->PackFrom(d);
  events_.push_back(std::move(e));
  if (!c.request_id.empty()) t.decisions[c.request_id] = d;
  out.decision = std::move(d);
  return out;
}

absl::StatusOr<DncChange> FakeComplianceStore::ChangeList(
    const std::string& tenant, const std::string& list, const std::vector<std::string>& numbers,
    const v1::DoNotCallEntry* add, const event::v1::Envelope& event, const RequestKey& key) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status st = TakeFailure(); !st.ok()) return st;
  Tenant& t = tenants_[tenant];
  auto prev = Previous(t, key);
  if (!prev.ok()) return prev.status();
  if (prev->has_value()) {
    const std::string& reply = **prev;
    size_t bar = reply.find('|');
    return DncChange{std::stoll(reply.substr(0, bar)), std::stoll(reply.substr(bar + 1))};
  }
  auto& entries = t.lists[list];
  DncChange change;
  for (const std::string& n : numbers) {
    if (add != nullptr) {  // a do-not-call request ends relationships (even if listed already)
      const int64_t ms = TimeUtil::TimestampToMilliseconds(add->add_time());
      auto [it, inserted] = t.dnc_requests.emplace(n, ms);
      if (!inserted) it->second = std::max(it->second, ms);
    }
    bool listed = entries.count(n) > 0;
    if (add != nullptr && !listed) {
      entries[n] = *add;
      ++change.changed;
    } else if (add == nullptr && listed) {
      entries.erase(n);
      ++change.changed;
    } else {
      ++change.unchanged;
    }
  }
  events_.push_back(event);
  Remember(t, key, absl::StrCat(change.changed, "|", change.unchanged));
  return change;
}

absl::StatusOr<DncChange> FakeComplianceStore::AddDoNotCall(
    const std::string& tenant, const std::string& list, const std::vector<std::string>& numbers,
    const v1::DoNotCallEntry& meta, const event::v1::Envelope& event, const RequestKey& key) {
  return ChangeList(tenant, list, numbers, &meta, event, key);
}

absl::StatusOr<DncChange> FakeComplianceStore::RemoveDoNotCall(
    const std::string& tenant, const std::string& list, const std::vector<std::string>& numbers,
    const event::v1::Envelope& event, const RequestKey& key) {
  return ChangeList(tenant, list, numbers, nullptr, event, key);
}

absl::StatusOr<std::vector<v1::DoNotCallEntry>> FakeComplianceStore::DoNotCallEntries(
    const std::string& tenant, const std::string& number, const std::string& campaign) {
  std::lock_guard<std::mutex> lock(mu_);
  Tenant& t = tenants_[tenant];
  std::vector<v1::DoNotCallEntry> out;
  std::vector<std::string> lists = {""};
  if (!campaign.empty()) lists.push_back(campaign);
  for (const std::string& list : lists) {
    auto it = t.lists[list].find(number);
    if (it == t.lists[list].end()) continue;
    v1::DoNotCallEntry e = it->second;
    e.set_list(list.empty() ? "tenant" : "campaign:" + list);
    out.push_back(std::move(e));
  }
  return out;
}

absl::StatusOr<std::vector<v1::DoNotCallEntry>> FakeComplianceStore::ListDoNotCall(
    const std::string& tenant, const std::string& list, const std::string& after, int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto& entries = tenants_[tenant].lists[list];
  std::vector<v1::DoNotCallEntry> out;
  for (auto it = entries.upper_bound(after);
       it != entries.end() && static_cast<int>(out.size()) < limit; ++it) {
    v1::DoNotCallEntry e = it->second;
    e.set_list(list.empty() ? "tenant" : "campaign:" + list);
    e.set_phone_number(it->first);
    out.push_back(std::move(e));
  }
  return out;
}

absl::StatusOr<v1::Consent> FakeComplianceStore::PutConsent(const std::string& tenant,
                                                            const v1::Consent& consent,
                                                            const event::v1::Envelope& event,
                                                            const RequestKey& key) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status st = TakeFailure(); !st.ok()) return st;
  Tenant& t = tenants_[tenant];
  auto prev = Previous(t, key);
  if (!prev.ok()) return prev.status();
  if (prev->has_value()) {
    v1::Consent first;
    first.ParseFromString(**prev);
    return first;
  }
  t.consents[consent.phone_number()] = consent;
  events_.push_back(event);
  Remember(t, key, consent.SerializeAsString());
  return consent;
}

absl::StatusOr<v1::EstablishedRelationship> FakeComplianceStore::PutRelationship(
    const std::string& tenant, const v1::EstablishedRelationship& r,
    const event::v1::Envelope& event, const RequestKey& key) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status st = TakeFailure(); !st.ok()) return st;
  Tenant& t = tenants_[tenant];
  auto prev = Previous(t, key);
  if (!prev.ok()) return prev.status();
  if (prev->has_value()) {
    v1::EstablishedRelationship first;
    first.ParseFromString(**prev);
    return first;
  }
  t.relationships[RelationshipKey(r.phone_number(), r.kind())] = r;
  events_.push_back(event);
  Remember(t, key, r.SerializeAsString());
  return r;
}

absl::StatusOr<std::vector<v1::EstablishedRelationship>> FakeComplianceStore::ListRelationships(
    const std::string& tenant, const std::string& after, int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  Tenant& t = tenants_[tenant];
  std::vector<v1::EstablishedRelationship> out;
  for (auto it = t.relationships.upper_bound(after);
       it != t.relationships.end() && static_cast<int>(out.size()) < limit; ++it) {
    v1::EstablishedRelationship r = it->second;
    auto end = t.dnc_requests.find(r.phone_number());
    auto day = DayOf("date", r.date());
    if (end != t.dnc_requests.end() && day.ok() &&
        EpochDay(*day) <= (end->second + 14 * 3600000) / 86400000) {
      *r.mutable_end_time() = TimeUtil::MillisecondsToTimestamp(end->second);
    }
    out.push_back(std::move(r));
  }
  return out;
}

absl::StatusOr<v1::SolicitationRefusal> FakeComplianceStore::PutRefusal(
    const std::string& tenant, const v1::SolicitationRefusal& r, const event::v1::Envelope& event,
    const RequestKey& key) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status st = TakeFailure(); !st.ok()) return st;
  Tenant& t = tenants_[tenant];
  auto prev = Previous(t, key);
  if (!prev.ok()) return prev.status();
  if (prev->has_value()) {
    v1::SolicitationRefusal first;
    first.ParseFromString(**prev);
    return first;
  }
  const std::string k = RefusalKeyOf(r);
  auto it = t.refusals.find(k);
  if (it != t.refusals.end() && TimeUtil::TimestampToMilliseconds(it->second.refuse_time()) <=
                                    TimeUtil::TimestampToMilliseconds(r.refuse_time())) {
    Remember(t, key, it->second.SerializeAsString());
    return it->second;
  }
  t.refusals[k] = r;
  events_.push_back(event);
  Remember(t, key, r.SerializeAsString());
  return r;
}

absl::StatusOr<std::vector<v1::SolicitationRefusal>> FakeComplianceStore::ListRefusals(
    const std::string& tenant, const std::string& after, int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  Tenant& t = tenants_[tenant];
  std::vector<v1::SolicitationRefusal> out;
  for (auto it = t.refusals.upper_bound(after);
       it != t.refusals.end() && static_cast<int>(out.size()) < limit; ++it) {
    out.push_back(it->second);
  }
  return out;
}

absl::StatusOr<v1::Consent> FakeComplianceStore::GetConsent(const std::string& tenant,
                                                            const std::string& number) {
  std::lock_guard<std::mutex> lock(mu_);
  Tenant& t = tenants_[tenant];
  auto it = t.consents.find(number);
  if (it == t.consents.end()) return NotFound("CONSENT_NOT_FOUND", "no consent is recorded");
  return it->second;
}

absl::StatusOr<std::vector<v1::Consent>> FakeComplianceStore::ListConsents(
    const std::string& tenant, const std::string& after, int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto& consents = tenants_[tenant].consents;
  std::vector<v1::Consent> out;
  for (auto it = consents.upper_bound(after);
       it != consents.end() && static_cast<int>(out.size()) < limit; ++it) {
    out.push_back(it->second);
  }
  return out;
}

void FakeComplianceStore::ApplyCall(Tenant& t, const std::string& member,
                                    const dialing::v1::CallAttemptEnded& call) {
  const int64_t dial = TimeUtil::TimestampToMilliseconds(call.dial_time());
  auto apply = [&](std::map<std::string, int64_t>& attempts) {
    if (call.outcome() == dialing::v1::CALL_OUTCOME_NOT_PLACED) {
      attempts.erase(member);
    } else {
      attempts.emplace(member, dial);
    }
  };
  apply(t.number_attempts[call.phone_number()]);
  if (!call.contact().empty()) apply(t.contact_attempts[call.contact()]);
  if (!call.debt().empty()) apply(t.debt_attempts[call.debt()]);
  if (IsConversation(call)) t.conversations[call.debt()][member] = Ms(ConversationTime(call));
  if (call.outcome() == dialing::v1::CALL_OUTCOME_ABANDONED) {
    int64_t ended = call.has_end_time() ? TimeUtil::TimestampToMilliseconds(call.end_time()) : dial;
    int64_t& last = t.abandoned_ms[call.phone_number()];
    last = std::max(last, ended);
  }
  if (call.outcome() == dialing::v1::CALL_OUTCOME_MACHINE) {
    int64_t ended = call.has_end_time() ? TimeUtil::TimestampToMilliseconds(call.end_time()) : dial;
    int64_t& last = t.machine_ms[call.phone_number()];
    last = std::max(last, ended);
  }
}

absl::StatusOr<bool> FakeComplianceStore::ApplyCallEvent(const std::string& tenant,
                                                         const std::string& event_id,
                                                         const dialing::v1::CallAttemptEnded& call,
                                                         absl::Duration, absl::Duration) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status st = TakeFailure(); !st.ok()) return st;
  Tenant& t = tenants_[tenant];
  if (!t.call_events.emplace(event_id, true).second) return false;
  ApplyCall(t, call.decision_id().empty() ? "ev:" + event_id : call.decision_id(), call);
  return true;
}

absl::StatusOr<v1::CallOutcomeRecorded> FakeComplianceStore::RecordCallOutcome(
    const std::string& tenant, const v1::CallOutcomeRecorded& record,
    const event::v1::Envelope& event, const RequestKey& key, absl::Duration, absl::Duration) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status st = TakeFailure(); !st.ok()) return st;
  Tenant& t = tenants_[tenant];
  auto prev = Previous(t, key);
  if (!prev.ok()) return prev.status();
  if (prev->has_value()) {
    v1::CallOutcomeRecorded first;
    first.ParseFromString(**prev);
    return first;
  }
  const dialing::v1::CallAttemptEnded& call = record.call();
  ApplyCall(t, call.decision_id().empty() ? "ev:api:" + key.id : call.decision_id(), call);
  v1::DialRecord rec;
  *rec.mutable_time() = call.end_time();
  *rec.mutable_call() = call;
  rec.set_reported_by(record.reported_by());
  t.audit[call.phone_number()].push_back(rec);
  events_.push_back(event);
  Remember(t, key, record.SerializeAsString());
  return record;
}

absl::StatusOr<AbandonCounts> FakeComplianceStore::GetAbandonCounts(const std::string&,
                                                                    const std::string&,
                                                                    absl::Time) {
  return AbandonCounts{};
}

absl::Status FakeComplianceStore::UpdateRegistry(const std::string& registry,
                                                 const RegistryChange& change,
                                                 const event::v1::Envelope& event) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status st = TakeFailure(); !st.ok()) return st;
  Overlay& o = overlays_[registry];
  for (int pass = 0; pass < 2; ++pass) {
    for (uint64_t k : pass == 0 ? change.add : change.remove) {
      auto d = o.dates.find(k);
      if (d != o.dates.end() && d->second > change.dated) continue;
      o.changes[k] = pass == 0;
      o.dates[k] = change.dated;
      if (pass == 0 && change.at_once) {
        o.at_once.insert(k);
      } else {
        o.at_once.erase(k);
      }
    }
  }
  if (change.as_of && (!o.as_of || *change.as_of > *o.as_of)) o.as_of = change.as_of;
  ++o.seq;
  events_.push_back(event);
  return absl::OkStatus();
}

absl::StatusOr<ComplianceStore::RegistryOverlay> FakeComplianceStore::GetRegistryOverlay(
    const std::string& registry) {
  std::lock_guard<std::mutex> lock(mu_);
  const Overlay& o = overlays_[registry];
  RegistryOverlay out;
  for (const auto& [k, added] : o.changes) (added ? out.added : out.removed).push_back(k);
  for (const auto& [k, d] : o.dates) out.dates[k] = d;
  out.as_of = o.as_of;
  out.at_once.assign(o.at_once.begin(), o.at_once.end());
  out.seq = o.seq;
  return out;
}

absl::StatusOr<int64_t> FakeComplianceStore::RegistryOverlaySeq(const std::string& registry) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status st = TakeFailure(); !st.ok()) return st;
  return overlays_[registry].seq;
}

absl::Status FakeComplianceStore::ChangeRegistryDefinition(DefinitionChange change,
                                                           const v1::Registry& def,
                                                           const event::v1::Envelope& event) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status st = TakeFailure(); !st.ok()) return st;
  const bool exists = definitions_.count(def.id()) > 0;
  if (change == DefinitionChange::kCreate && exists) {
    return AlreadyExists("REGISTRY_EXISTS", "the registry is already defined");
  }
  if (change != DefinitionChange::kCreate && !exists) {
    return NotFound("REGISTRY_NOT_FOUND", "no such registry was created");
  }
  if (change == DefinitionChange::kDelete) {
    definitions_.erase(def.id());
    overlays_.erase(def.id());
  } else {
    definitions_[def.id()] = def;
  }
  events_.push_back(event);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::Registry>> FakeComplianceStore::RegistryDefinitions() {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status st = TakeFailure(); !st.ok()) return st;
  std::vector<v1::Registry> out;
  for (const auto& [id, def] : definitions_) out.push_back(def);
  return out;
}

absl::StatusOr<ComplianceStore::PruneCount> FakeComplianceStore::PruneRegistryOverlay(
    const std::string& registry, absl::CivilDay through) {
  std::lock_guard<std::mutex> lock(mu_);
  Overlay& o = overlays_[registry];
  PruneCount count;
  for (auto it = o.dates.begin(); it != o.dates.end();) {
    if (it->second <= through) {
      o.changes.erase(it->first);
      o.at_once.erase(it->first);
      it = o.dates.erase(it);
      ++count.pruned;
      ++o.seq;
    } else {
      ++count.kept;
      ++it;
    }
  }
  return count;
}

absl::StatusOr<std::vector<v1::DialRecord>> FakeComplianceStore::ListRecords(
    const std::string& tenant, const std::string& number, absl::Time from, absl::Time to,
    int offset, int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<v1::DialRecord> in;
  for (const auto& r : tenants_[tenant].audit[number]) {
    int64_t ms = TimeUtil::TimestampToMilliseconds(r.time());
    if (ms >= Ms(from) && ms < Ms(to)) in.push_back(r);
  }
  std::vector<v1::DialRecord> out;
  for (int i = offset; i < static_cast<int>(in.size()) && static_cast<int>(out.size()) < limit;
       ++i) {
    out.push_back(in[static_cast<size_t>(i)]);
  }
  return out;
}

std::vector<event::v1::Envelope> FakeComplianceStore::events() const {
  std::lock_guard<std::mutex> lock(mu_);
  return events_;
}

void FakeComplianceStore::MakeNextChecksStale(int n) {
  std::lock_guard<std::mutex> lock(mu_);
  stale_checks_ = n;
}

void FakeComplianceStore::FailNextWrite(absl::Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  next_failure_ = std::move(status);
}

int FakeComplianceStore::Attempts(const std::string& tenant, const std::string& number) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto t = tenants_.find(tenant);
  if (t == tenants_.end()) return 0;
  auto a = t->second.number_attempts.find(number);
  return a == t->second.number_attempts.end() ? 0 : static_cast<int>(a->second.size());
}

int FakeComplianceStore::KeptRequestIds() const {
  std::lock_guard<std::mutex> lock(mu_);
  int n = 0;
  for (const auto& [id, t] : tenants_) {
    for (const auto& [rid, kept] : t.requests) n += kept.until > clock_.Now() ? 1 : 0;
  }
  return n;
}

}  // namespace dialgrid::compliance::testing
