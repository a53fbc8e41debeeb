#include "services/dialing/domain/call_rules.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/core/proto_time.h"

namespace dialgrid::dialing {

bool InActiveWindow(const v1::Campaign& campaign, absl::Time now) {
  if (campaign.active_windows().empty()) return true;
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(campaign.time_zone(), &zone)) return false;
  absl::CivilSecond local = absl::ToCivilSecond(now, zone);
  int weekday = 0;  // 1 Monday .. 7 Sunday
  switch (absl::GetWeekday(absl::CivilDay(local))) {
    case absl::Weekday::monday: weekday = 1; break;
    case absl::Weekday::tuesday: weekday = 2; break;
    case absl::Weekday::wednesday: weekday = 3; break;
    case absl::Weekday::thursday: weekday = 4; break;
    case absl::Weekday::friday: weekday = 5; break;
    case absl::Weekday::saturday: weekday = 6; break;
    case absl::Weekday::sunday: weekday = 7; break;
  }
  const int minute = local.hour() * 60 + local.minute();
  for (const auto& w : campaign.active_windows()) {
    bool day_ok = w.days().empty();
    for (int d : w.days()) day_ok = day_ok || d == weekday;
    if (day_ok && minute >= w.start_minute() && minute < w.end_minute()) return true;
  }
  return false;
}

std::string AreaPrefix(absl::string_view e164) {
  if (e164.size() < 8 || e164[0] != '+') return "";
  if (e164[1] == '1') return std::string(e164.substr(0, 5));  // +1 NPA
  // Elsewhere: the country code is 1-3 digits; without a table, the first
  // 4 digits after '+' cover a 2-digit country code and 2 national digits,
  // which is the region for most plans (and merely rotates otherwise).
  return std::string(e164.substr(0, 5));
}

std::string PickCallerId(const v1::Campaign& campaign, absl::string_view to, uint64_t turn,
                         const absl::flat_hash_set<std::string>& resting) {
  std::vector<const std::string*> pool;
  for (const auto& id : campaign.caller_ids()) {
    if (!resting.contains(id)) pool.push_back(&id);
  }
  if (pool.empty()) {  // every number resting: better a rested one than none
    for (const auto& id : campaign.caller_ids()) pool.push_back(&id);
  }
  if (pool.empty()) return "";
  const std::string area = AreaPrefix(to);
  std::vector<const std::string*> local;
  if (!area.empty()) {
    for (const auto* id : pool) {
      if (absl::StartsWith(*id, area)) local.push_back(id);
    }
  }
  if (!local.empty()) return *local[turn % local.size()];
  return *pool[turn % pool.size()];
}

namespace {

struct RetryDefault {
  v1::RetryOutcome outcome;
  absl::Duration delay;
};

v1::RetryOutcome RetryOutcomeOf(v1::CallOutcome outcome) {
  switch (outcome) {
    case v1::CALL_OUTCOME_BUSY: return v1::RETRY_OUTCOME_BUSY;
    case v1::CALL_OUTCOME_MACHINE: return v1::RETRY_OUTCOME_MACHINE;
    case v1::CALL_OUTCOME_FAILED: return v1::RETRY_OUTCOME_FAILED;
    default: return v1::RETRY_OUTCOME_NO_ANSWER;  // no answer, abandoned
  }
}

absl::Duration DefaultDelay(v1::RetryOutcome outcome) {
  switch (outcome) {
    case v1::RETRY_OUTCOME_BUSY: return absl::Minutes(15);
    case v1::RETRY_OUTCOME_MACHINE: return absl::Hours(4);
    case v1::RETRY_OUTCOME_FAILED: return absl::Hours(1);
    default: return absl::Hours(2);
  }
}

}  // namespace

ContactNext AfterAttempt(const v1::Campaign& campaign, v1::CallOutcome outcome,
                         bool invalid_number, int attempts, absl::Time now) {
  ContactNext next;
  next.outcome = OutcomeName(outcome);
  if (outcome == v1::CALL_OUTCOME_NOT_PLACED) {
    next.kind = contacts::v1::OUTCOME_KIND_RELEASED;
    return next;
  }
  if (outcome == v1::CALL_OUTCOME_MESSAGE_PLAYED) {  // the message reached a person
    next.kind = contacts::v1::OUTCOME_KIND_COMPLETED;
    return next;
  }
  if (outcome == v1::CALL_OUTCOME_FAILED && invalid_number) {
    next.kind = contacts::v1::OUTCOME_KIND_UNREACHABLE;
    next.outcome = "INVALID_NUMBER";
    return next;
  }
  const v1::RetryOutcome key = RetryOutcomeOf(outcome);
  absl::Duration delay = DefaultDelay(key);
  int max_attempts = kDefaultMaxAttempts;
  for (const auto& rule : campaign.retries()) {
    if (rule.outcome() != key) continue;
    delay = FromDurationProto(rule.delay());
    max_attempts = rule.max_attempts();
  }
  if (attempts >= max_attempts) {
    next.kind = contacts::v1::OUTCOME_KIND_COMPLETED;
    next.outcome = absl::StrCat(next.outcome, "_ATTEMPTS_EXHAUSTED");
    return next;
  }
  next.kind = contacts::v1::OUTCOME_KIND_RETRY;
  next.next_callable = now + delay;
  return next;
}

ContactNext OptedOut() {
  ContactNext next;
  next.kind = contacts::v1::OUTCOME_KIND_DO_NOT_CALL;
  next.outcome = "OPTED_OUT";
  return next;
}

ContactNext AfterDisposition(const v1::Disposition& disposition, absl::Time callback_time) {
  ContactNext next;
  next.outcome = disposition.code();
  switch (disposition.outcome()) {
    case v1::DISPOSITION_OUTCOME_CALLBACK:
      next.kind = contacts::v1::OUTCOME_KIND_RETRY;
      next.next_callable = callback_time;
      break;
    case v1::DISPOSITION_OUTCOME_DO_NOT_CALL:
      next.kind = contacts::v1::OUTCOME_KIND_DO_NOT_CALL;
      break;
    case v1::DISPOSITION_OUTCOME_WRONG_NUMBER:
      next.kind = contacts::v1::OUTCOME_KIND_UNREACHABLE;
      break;
    default:  // SUCCESS, NOT_INTERESTED
      next.kind = contacts::v1::OUTCOME_KIND_COMPLETED;
      break;
  }
  return next;
}

const v1::Disposition* FindDisposition(const v1::Campaign& campaign, absl::string_view code) {
  for (const auto& d : campaign.dispositions()) {
    if (d.code() == code) return &d;
  }
  return nullptr;
}

std::string CallStateName(v1::CallState state) {
  std::string name = v1::CallState_Name(state);
  return absl::StartsWith(name, "CALL_STATE_") ? name.substr(11) : name;
}

std::string OutcomeName(v1::CallOutcome outcome) {
  std::string name = v1::CallOutcome_Name(outcome);
  return absl::StartsWith(name, "CALL_OUTCOME_") ? name.substr(13) : name;
}

}  // namespace dialgrid::dialing
