#include "services/tenancy/application/audit_log.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/core/pages.h"
#include "services/common/core/proto_time.h"

namespace dialgrid::tenancy {
namespace {

// Filters longer than any name or type name the platform makes.
constexpr size_t kMaxFilter = 1024;

// A record is made after its change; allow this much clock difference
// between the changing service's host and Redis when a start_time ends a scan.
constexpr absl::Duration kClockSkew = absl::Minutes(5);

}  // namespace

AuditLog::AuditLog(std::shared_ptr<AuditStore> store, const Clock& clock)
    : store_(std::move(store)), clock_(clock) {}

absl::Status AuditLog::Record(const event::v1::Envelope& event) {
  if (event.actor().empty()) return absl::OkStatus();
  if (event.event_id().empty()) {
    return absl::OkStatus();  // not an envelope of ours: nothing to key it by, never succeeds
  }
  v1::AuditRecord record;
  record.set_event_id(event.event_id());
  *record.mutable_time() = event.time();
  record.set_actor(event.actor());
  record.set_tenant(event.tenant());
  record.set_action(event.type());
  record.set_subject(event.subject());
  record.set_producer(event.producer());
  *record.mutable_details() = event.payload();
  *record.mutable_record_time() = ToTimestamp(clock_.Now());
  auto appended = store_->Append(record);
  if (!appended.ok()) return appended.status();
  if (*appended) ++recorded_;
  return absl::OkStatus();
}

absl::StatusOr<v1::ListAuditRecordsResponse> AuditLog::List(
    const v1::ListAuditRecordsRequest& req) {
  std::string tenant;
  if (req.parent() != "vendor") {
    auto ids = ParseName("parent", req.parent(), "tenants/{tenant}");
    if (!ids.ok()) return ids.status();
    tenant = (*ids)[0];
  }
  auto size = EffectivePageSize(req.page_size());
  if (!size.ok()) return size.status();
  auto position = DecodePageToken(req.page_token());
  if (!position.ok()) return position.status();
  if (!position->empty() && !store_->ValidPosition(*position)) {
    return InvalidField("page_token", "INVALID_PAGE_TOKEN", "not a token this service issued");
  }
  for (const auto& [field, value] : {std::pair<const char*, const std::string*>{"actor", &req.actor()},
                                      {"action", &req.action()}}) {
    if (value->size() > kMaxFilter) {
      return InvalidField(field, "FIELD_TOO_LONG", absl::StrCat("over ", kMaxFilter, " bytes"));
    }
  }
  const bool has_start = req.has_start_time();
  const bool has_end = req.has_end_time();
  const absl::Time start = has_start ? FromTimestamp(req.start_time()) : absl::InfinitePast();
  const absl::Time end = has_end ? FromTimestamp(req.end_time()) : absl::InfiniteFuture();
  if (has_start && has_end && end <= start) {
    return InvalidField("end_time", "AUDIT_RANGE_INVALID", "end_time must be after start_time");
  }

  AuditScan scan;
  scan.tenant = tenant;
  scan.before = *position;
  scan.limit = *size;
  if (has_start) scan.stop_below = start - kClockSkew;
  const std::string actor = req.actor();
  const std::string action = req.action();
  scan.keep = [actor, action, has_start, has_end, start, end](const v1::AuditRecord& r) {
    if (!actor.empty() && r.actor() != actor) return false;
    if (!action.empty() && r.action() != action) return false;
    if (has_start || has_end) {
      const absl::Time t = FromTimestamp(r.time());
      if (t < start || t >= end) return false;
    }
    return true;
  };
  auto page = store_->Scan(scan);
  if (!page.ok()) return page.status();
  v1::ListAuditRecordsResponse resp;
  for (auto& r : page->records) *resp.add_records() = std::move(r);
  if (!page->next.empty()) resp.set_next_page_token(EncodePageToken(page->next));
  return resp;
}

}  // namespace dialgrid::tenancy
