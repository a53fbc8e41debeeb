#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "dialgrid/contacts/v1/contacts.pb.h"
#include "dialgrid/dialing/v1/call_events.pb.h"
#include "services/common/core/amd.h"
#include "services/common/core/errors.h"
#include "services/common/core/log.h"
#include "services/common/core/names.h"
#include "services/common/core/status_macros.h"
#include "services/compliance/application/compliance_manager.h"
#include "services/compliance/application/request_fields.h"

namespace dialgrid::compliance {

bool IsConversation(const dialing::v1::CallAttemptEnded& call) {
  return call.outcome() == dialing::v1::CALL_OUTCOME_ANSWERED_CONNECTED && !call.debt().empty();
}

absl::Time ConversationTime(const dialing::v1::CallAttemptEnded& call) {
  if (call.has_end_time()) return FromProto(call.end_time());
  if (call.has_answer_time()) return FromProto(call.answer_time());
  return FromProto(call.dial_time());
}

absl::Status ComplianceManager::HandleEvent(const event::v1::Envelope& event) {
  const std::string& type = event.type();
  if (type == "dialgrid.contacts.v1.ContactErased") {
    contacts::v1::ContactErased e;
    if (!event.payload().UnpackTo(&e))
      return absl::OkStatus();  // logged by the consumer as skipped
    return ApplyDoNotCallEvent(event, e.do_not_call_numbers(), "personal data erased on request");
  }
  if (type == "dialgrid.contacts.v1.ContactOptedOut") {
    contacts::v1::ContactOptedOut e;
    if (!event.payload().UnpackTo(&e)) return absl::OkStatus();
    return ApplyDoNotCallEvent(event, e.do_not_call_numbers(),
                               absl::StrCat("opted out (", e.contact(), ")"));
  }
  if (type == "dialgrid.dialing.v1.CallAttemptEnded") {
    dialing::v1::CallAttemptEnded call;
    if (!event.payload().UnpackTo(&call) || event.tenant().empty() ||
        !absl::StartsWith(call.phone_number(), "+") || !call.has_dial_time() ||
        call.outcome() == dialing::v1::CALL_OUTCOME_UNSPECIFIED) {
      Log(LogLevel::kWarning, "compliance", "call event skipped: incomplete",
          {{"event_id", event.event_id()}, {"tenant", event.tenant()}});
      return absl::OkStatus();
    }
    if (!call.debt().empty() && !CheckDebt("debt", call.debt(), type::v1::CALL_PURPOSE_DEBT_COLLECTION).ok()) {
      // No CheckDial can name such a debt (it is refused there), so nothing
      // could be locked out or counted by it: applied without it.
      Log(LogLevel::kWarning, "compliance", "call event's debt id is malformed; applied without it",
          {{"event_id", event.event_id()}, {"tenant", event.tenant()}});
      call.clear_debt();
    }
    absl::Duration keep = kMaxCapWindow;  // whatever the caps: a cap added later counts these
    auto applied = store_->ApplyCallEvent(event.tenant(), event.event_id(), call, keep,
                                          options_.audit_retention);
    if (!applied.ok()) return applied.status();
    if (*applied && call.outcome() == dialing::v1::CALL_OUTCOME_ABANDONED) {
      std::lock_guard<std::mutex> lock(mu_);
      abandon_cache_.clear();  // the next predictive check sees the new rate
    }
    return absl::OkStatus();
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::CallOutcomeRecorded> ComplianceManager::RecordCallOutcome(
    const Actor& actor, const v1::RecordCallOutcomeRequest& req) {
  DG_ASSIGN_OR_RETURN(auto ids, ParseName("parent", req.parent(), "tenants/{tenant}"));
  const std::string& tenant = ids[0];
  const dialing::v1::CallAttemptEnded& in = req.call();
  // Authorization first: every name in the call is the tenant's.
  if (!in.call().empty()) {
    DG_ASSIGN_OR_RETURN(auto c, ParseName("call.call", in.call(), "tenants/{tenant}/calls/{call}"));
    if (c[0] != tenant) return TenantMismatch("call.call");
  }
  std::string campaign_id;
  if (!in.campaign().empty()) {
    DG_ASSIGN_OR_RETURN(auto c, ParseCampaign("call.campaign", in.campaign()));
    if (c.first != tenant) return TenantMismatch("call.campaign");
  }
  if (!in.contact().empty()) {
    DG_ASSIGN_OR_RETURN(auto c, ParseName("call.contact", in.contact(), kContactPattern));
    if (c[0] != tenant) return TenantMismatch("call.contact");
  }
  if (req.request_id().empty()) {
    return InvalidField("request_id", "FIELD_REQUIRED",
                        "request_id is required (a retry must not count the call twice)");
  }
  DG_RETURN_IF_ERROR(CheckRequestId(req.request_id()));
  DG_ASSIGN_OR_RETURN(auto n,
                      Normalize("call.phone_number", in.phone_number(), req.default_country()));
  if (in.outcome() == dialing::v1::CALL_OUTCOME_UNSPECIFIED) {
    return InvalidField("call.outcome", "FIELD_REQUIRED", "call.outcome is required");
  }
  if (!dialing::v1::CallOutcome_IsValid(in.outcome())) {
    return InvalidField("call.outcome", "UNKNOWN_ENUM_VALUE",
                        absl::StrCat("call.outcome ", static_cast<int>(in.outcome()),
                                     " is not defined"));
  }
  if (!type::v1::DialingMode_IsValid(in.dialing_mode())) {
    return InvalidField("call.dialing_mode", "UNKNOWN_ENUM_VALUE",
                        absl::StrCat("call.dialing_mode ", static_cast<int>(in.dialing_mode()),
                                     " is not defined"));
  }
  if (!in.has_dial_time()) {
    return InvalidField("call.dial_time", "FIELD_REQUIRED", "call.dial_time is required");
  }
  const absl::Time now = clock_.Now();
  const absl::Time dial = FromProto(in.dial_time());
  const absl::Time end = in.has_end_time() ? FromProto(in.end_time()) : dial;
  if (end > now + absl::Minutes(5)) {
    return InvalidField(in.has_end_time() ? "call.end_time" : "call.dial_time", "TIME_IN_FUTURE",
                        "a call is reported once it has ended");
  }
  if (end < dial) {
    return InvalidField("call.end_time", "INVALID_CALL_TIMES", "call.end_time is before dial_time");
  }
  if (in.has_answer_time() &&
      (FromProto(in.answer_time()) < dial || FromProto(in.answer_time()) > end)) {
    return InvalidField("call.answer_time", "INVALID_CALL_TIMES",
                        "call.answer_time is not between dial_time and end_time");
  }
  if (!ValidAmdFalsePositiveRate(in.amd_false_positive_rate())) {
    return InvalidField("call.amd_false_positive_rate", "VALUE_OUT_OF_RANGE",
                        "0 (AMD did not screen the call) or above 0 up to 0.5");
  }
  DG_RETURN_IF_ERROR(CheckText("call.decision_id", in.decision_id(), 128));
  DG_RETURN_IF_ERROR(CheckDebt("call.debt", in.debt(), type::v1::CALL_PURPOSE_TELEMARKETING));

  v1::CallOutcomeRecorded rec;
  *rec.mutable_call() = in;
  rec.mutable_call()->set_phone_number(n.number.e164());
  if (!in.has_end_time()) *rec.mutable_call()->mutable_end_time() = in.dial_time();
  rec.set_reported_by(actor.subject);
  *rec.mutable_record_time() = ToProto(now);
  rec.set_request_id(req.request_id());
  rec.set_conversation(IsConversation(rec.call()));
  auto stored = store_->RecordCallOutcome(
      tenant, rec, Event(tenant, n.number.e164(), rec),
      ChangeKey("RecordCallOutcome", req.request_id(), req), kMaxCapWindow,
      options_.audit_retention);
  if (stored.ok() && stored->call().outcome() == dialing::v1::CALL_OUTCOME_ABANDONED) {
    std::lock_guard<std::mutex> lock(mu_);
    abandon_cache_.clear();  // the next predictive check sees the new rate
  }
  return stored;
}

absl::StatusOr<v1::ListDialRecordsResponse> ComplianceManager::ListDialRecords(
    const v1::ListDialRecordsRequest& req) {
  DG_ASSIGN_OR_RETURN(auto ids, ParseName("parent", req.parent(), "tenants/{tenant}"));
  DG_ASSIGN_OR_RETURN(auto n, Normalize("phone_number", req.phone_number(), req.default_country()));
  if (req.page_size() < 0 || req.page_size() > 1000) {
    return InvalidField("page_size", "INVALID_PAGE_SIZE", "page_size is 0 to 1000");
  }
  int size = req.page_size() == 0 ? 100 : req.page_size();
  absl::Time now = clock_.Now();
  // Nothing older than the retention is returned, trimmed yet or not.
  absl::Time from =
      std::max(req.has_start_time() ? FromProto(req.start_time()) : absl::InfinitePast(),
               now - options_.audit_retention);
  absl::Time to = req.has_end_time() ? FromProto(req.end_time()) : now + absl::Milliseconds(1);
  if (to <= from)
    return InvalidField("end_time", "EMPTY_RANGE", "end_time must be after start_time");
  int offset = 0;
  std::string bound =
      absl::StrCat(absl::ToUnixMillis(from), ":", absl::ToUnixMillis(to), ":", n.number.e164());
  if (!req.page_token().empty()) {
    // "<offset>/<from ms>:<to ms>:<number>": bound to the number, and the
    // first page's range is kept so offsets stay meaningful.
    std::vector<std::string> t = absl::StrSplit(req.page_token(), absl::MaxSplits('/', 1));
    std::vector<std::string> b;
    if (t.size() == 2) b = absl::StrSplit(t[1], ':');
    int64_t f = 0, u = 0;
    if (t.size() != 2 || !absl::SimpleAtoi(t[0], &offset) || offset < 0 || b.size() != 3 ||
        !absl::SimpleAtoi(b[0], &f) || !absl::SimpleAtoi(b[1], &u) || b[2] != n.number.e164()) {
      return InvalidField("page_token", "INVALID_PAGE_TOKEN",
                          "page_token does not belong to this query");
    }
    from = absl::FromUnixMillis(f);
    to = absl::FromUnixMillis(u);
    bound = t[1];
  }
  DG_ASSIGN_OR_RETURN(auto records,
                      store_->ListRecords(ids[0], n.number.e164(), from, to, offset, size + 1));
  v1::ListDialRecordsResponse resp;
  for (size_t i = 0; i < records.size() && static_cast<int>(i) < size; ++i) {
    *resp.add_records() = std::move(records[i]);
  }
  if (static_cast<int>(records.size()) > size) {
    resp.set_next_page_token(absl::StrCat(offset + size, "/", bound));
  }
  return resp;
}

}  // namespace dialgrid::compliance
