#pragma once

// Where the report counters live (adapters/redis_report_store.h).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/reporting/domain/event_plan.h"
#include "services/reporting/domain/kpis.h"
#include "services/reporting/domain/report_range.h"

namespace dialgrid::reporting {

// What became of an event.
enum class ApplyResult {
  kApplied,    // counted now
  kDuplicate,  // its event id was applied before (a redelivery)
  kRepeat,     // its marker was counted before under another event id (a call's
               // end published twice), or a stale agent status / settings
};

class ReportStore {
 public:
  virtual ~ReportStore() = default;
  // Applies `plan` for the event `event_id` of `plan.tenant`, atomically with
  // the event id's dedup mark: an event id already marked changes nothing.
  // UNAVAILABLE when the store cannot be reached (retry).
  virtual absl::StatusOr<ApplyResult> Apply(const std::string& event_id, const EventPlan& plan) = 0;
  // The tenant's counters summed over each span (day buckets for whole
  // days, hour buckets otherwise), in the order given.
  virtual absl::StatusOr<std::vector<Counters>> ReadSpans(const std::string& tenant,
                                                          const std::vector<DaySpan>& spans) = 0;
  // A settings record ("camp:<id>", "agent:<id>"); empty when never written.
  virtual absl::StatusOr<std::map<std::string, std::string>> ReadRecord(const std::string& tenant,
                                                                        const std::string& key) = 0;
  // The agent ids of the tenant that ever had an Agent event or a status.
  virtual absl::StatusOr<std::vector<std::string>> Agents(const std::string& tenant) = 0;
  // Recording bytes stored minus deleted in every hour before `end_hour`.
  virtual absl::StatusOr<int64_t> StorageBefore(const std::string& tenant, int64_t end_hour) = 0;
};

}  // namespace dialgrid::reporting
