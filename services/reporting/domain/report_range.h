#pragma once

// Report ranges: whole UTC hours, answered by summing hour and day buckets.
// A range [first, end) of epoch hours is cut at UTC midnights into spans; a
// span covering a whole day is read from the day's bucket, a partial one
// from its hours' buckets.

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "google/protobuf/timestamp.pb.h"

namespace dialgrid::reporting {

inline constexpr int64_t kHoursPerDay = 24;
inline constexpr int64_t kMillisPerHour = 3600000;

// Epoch hours, end exclusive.
struct HourRange {
  int64_t first = 0;
  int64_t end = 0;
  int64_t hours() const { return end - first; }
};

// The hour (since the Unix epoch, UTC) a time in milliseconds falls in.
int64_t HourOfMillis(int64_t epoch_ms);
// The UTC day an epoch hour falls in, as days since the epoch.
int64_t DayOfHour(int64_t hour);
absl::CivilDay CivilDayOfHour(int64_t hour);

// start/end as a request gives them (nullptr: not set). Both are required,
// each a whole UTC hour, start before end, at most `max_hours` apart;
// INVALID_ARGUMENT REPORT_RANGE_INVALID (naming the field) or
// REPORT_RANGE_TOO_LONG otherwise.
absl::StatusOr<HourRange> ParseRange(const google::protobuf::Timestamp* start,
                                     const google::protobuf::Timestamp* end, int64_t max_hours);

// The part of one day inside a range.
struct DaySpan {
  int64_t day = 0;         // UTC days since the epoch (utc_day spans)
  absl::CivilDay civil;    // the day, in the zone the range was cut in
  int64_t first_hour = 0;  // epoch hours, end exclusive
  int64_t end_hour = 0;
  bool utc_day = true;     // a UTC day: a whole one is read from its day bucket
  bool whole() const { return utc_day && end_hour - first_hour == kHoursPerDay; }
};

// The range cut at UTC midnights, in order.
std::vector<DaySpan> SplitByDay(const HourRange& range);

// The range cut at the midnights of the IANA zone `zone` ("" or "UTC": as
// SplitByDay), read from hour buckets. INVALID_ARGUMENT UNKNOWN_TIME_ZONE
// (field time_zone) for a zone the tzdata does not know, and
// TIME_ZONE_NOT_WHOLE_HOURS when its offset in the range is not whole hours
// (India, Nepal, ...: hour buckets cannot be cut at its midnights).
absl::StatusOr<std::vector<DaySpan>> SplitByZoneDay(const HourRange& range,
                                                    absl::string_view zone);

}  // namespace dialgrid::reporting
