#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "dialgrid/tenancy/v1/tenancy.pb.h"

namespace dialgrid::tenancy {

// A read of one scope's audit log, newest first.
struct AuditScan {
  std::string tenant;          // "" for the vendor scope
  std::string before;          // a position from an earlier page ("" = the newest)
  int limit = 50;              // records wanted
  int max_read = 5000;         // records read at most in one call (filters skip some)
  // Records recorded before this time end the scan (a record is recorded
  // after its change was made, so none older can match a start_time).
  absl::Time stop_below = absl::InfinitePast();
  std::function<bool(const v1::AuditRecord&)> keep;  // unset: every record
};

struct AuditPage {
  std::vector<v1::AuditRecord> records;
  std::string next;  // position to go on from; "" when the log is read to its end
};

// Where the audit log is kept: append-only, one log per scope.
class AuditStore {
 public:
  virtual ~AuditStore() = default;
  // Appends `record` to its tenant's log unless its event id was appended
  // before (false then: a redelivered event).
  virtual absl::StatusOr<bool> Append(const v1::AuditRecord& record) = 0;
  virtual absl::StatusOr<AuditPage> Scan(const AuditScan& scan) = 0;
  // Whether `position` is one this store hands out (a page token's content).
  virtual bool ValidPosition(const std::string& position) const = 0;
};

}  // namespace dialgrid::tenancy
