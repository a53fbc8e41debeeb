#pragma once

// Calendar arithmetic of established business relationships (rule doc 2.1,
// 2.4): a relationship dated T (the last transaction, or the inquiry) counts
// for a call on local date D when D is within `months` months after T:
// T <= D <= T + months, the end taken as the same day of the month, or the
// month's last day when that month is shorter (2024-08-31 + 18 months is
// 2026-02-28: the earlier reading, restrictive). So the last day in is
// T + months and the first day out the day after. Pure logic; the records
// are kept in Redis and compared there as day numbers.

#include <cstdint>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace dialgrid::compliance {

// `day` plus `months` calendar months, clamped to the target month's last day.
absl::CivilDay AddMonthsClamped(absl::CivilDay day, int months);

// The last local day a relationship dated `date` still counts.
inline absl::CivilDay LastDayCovered(absl::CivilDay date, int months) {
  return AddMonthsClamped(date, months);
}

// The earliest relationship date that still counts on `dial_day`: a date T
// counts iff T >= EarliestCoveringDate(dial_day, months) (and T <= dial_day).
absl::CivilDay EarliestCoveringDate(absl::CivilDay dial_day, int months);

// The callee's local dates at `t` over its candidate zones (AnyZone() when
// none is known): a relationship must count on every one of them, and must
// not be dated after the earliest.
struct LocalDates {
  absl::CivilDay earliest;
  absl::CivilDay latest;
};
LocalDates LocalDatesAt(const std::vector<absl::TimeZone>& zones, absl::Time t);

// Days since 1970-01-01 (how the Redis scripts compare dates).
int64_t EpochDay(absl::CivilDay day);

}  // namespace dialgrid::compliance
