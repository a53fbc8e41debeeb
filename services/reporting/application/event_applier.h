#pragma once

// The consumer's logic: each envelope of topics dialing, calls, agents and
// recordings is planned (domain/event_plan.h) and applied to the store once
// (the store dedups by event id in the same atomic step). Returns OK when
// done with the event (counted, a duplicate, nothing to count); the store's
// error when it should be retried (the consumer commits the offset only
// after OK).

#include <memory>

#include "absl/status/status.h"
#include "dialgrid/event/v1/envelope.pb.h"
#include "services/reporting/ports/report_store.h"
#include "services/reporting/ports/reporting_probe.h"

namespace dialgrid::reporting {

class EventApplier {
 public:
  EventApplier(std::shared_ptr<ReportStore> store, std::shared_ptr<ReportingProbe> probe);
  absl::Status Handle(const event::v1::Envelope& event);

 private:
  std::shared_ptr<ReportStore> store_;
  std::shared_ptr<ReportingProbe> probe_;
};

}  // namespace dialgrid::reporting
