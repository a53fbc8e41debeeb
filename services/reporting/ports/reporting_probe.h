#pragma once

// What the event consumer reports (adapters/prometheus_reporting_probe.h);
// the default does nothing.

#include "services/reporting/domain/event_plan.h"
#include "services/reporting/ports/report_store.h"

namespace dialgrid::reporting {

class ReportingProbe {
 public:
  virtual ~ReportingProbe() = default;
  // An event applied, found a duplicate or a repeat.
  virtual void Applied(const EventPlan& /*plan*/, ApplyResult /*result*/) {}
  // An event with nothing to count.
  virtual void Ignored(const EventPlan& /*plan*/) {}
  // An event whose store write failed (retried).
  virtual void Failed() {}
};

}  // namespace dialgrid::reporting
