#include "services/reporting/application/event_applier.h"

#include "services/common/core/log.h"

namespace dialgrid::reporting {

EventApplier::EventApplier(std::shared_ptr<ReportStore> store,
                           std::shared_ptr<ReportingProbe> probe)
    : store_(std::move(store)), probe_(std::move(probe)) {
  if (probe_ == nullptr) probe_ = std::make_shared<ReportingProbe>();
}

absl::Status EventApplier::Handle(const event::v1::Envelope& event) {
  const EventPlan plan = PlanEvent(event);
  if (plan.kind == PlanKind::kIgnore) {
    if (plan.ignore_reason == "malformed") {
      Log(LogLevel::kWarning, "reporting.events", "event skipped: malformed or of another tenant",
          {{"event_id", event.event_id()}, {"tenant", event.tenant()}, {"type", event.type()}});
    }
    probe_->Ignored(plan);
    return absl::OkStatus();
  }
  absl::StatusOr<ApplyResult> r = store_->Apply(event.event_id(), plan);
  if (!r.ok()) {
    probe_->Failed();
    return r.status();  // the consumer logs it and retries the event
  }
  probe_->Applied(plan, *r);
  return absl::OkStatus();
}

}  // namespace dialgrid::reporting
