#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "dialgrid/contacts/v1/contacts.pb.h"
#include "dialgrid/dialing/v1/call_events.pb.h"
#include "services/common/core/errors.h"
#include "services/common/core/log.h"
#include "services/common/core/names.h"
#include "services/common/core/status_macros.h"
#include "services/compliance/application/compliance_manager.h"
#include "services/compliance/application/request_fields.h"

namespace dialgrid::compliance {

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
