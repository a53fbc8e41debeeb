#include "services/compliance/domain/relationships.h"

#include <algorithm>

#include "services/compliance/domain/day_lockout.h"

namespace dialgrid::compliance {

absl::CivilDay AddMonthsClamped(absl::CivilDay day, int months) {
  const absl::CivilMonth target = absl::CivilMonth(day) + months;
  const absl::CivilDay last = absl::CivilDay(target + 1) - 1;  // the month's last day
  const int dom = std::min<int>(day.day(), last.day());
  return absl::CivilDay(target.year(), target.month(), dom);
}

absl::CivilDay EarliestCoveringDate(absl::CivilDay dial_day, int months) {
  // AddMonthsClamped is non-decreasing in its day: start at the day `months`
  // months earlier and step to the first one whose window reaches dial_day.
  absl::CivilDay t = AddMonthsClamped(dial_day, -months);
  while (AddMonthsClamped(t - 1, months) >= dial_day) --t;
  while (AddMonthsClamped(t, months) < dial_day) ++t;
  return t;
}

LocalDates LocalDatesAt(const std::vector<absl::TimeZone>& zones, absl::Time t) {
  const std::vector<absl::TimeZone> any = AnyZone();
  const std::vector<absl::TimeZone>& zs = zones.empty() ? any : zones;
  LocalDates out;
  bool first = true;
  for (const absl::TimeZone& z : zs) {
    const absl::CivilDay d = absl::ToCivilDay(t, z);
    if (first || d < out.earliest) out.earliest = d;
    if (first || d > out.latest) out.latest = d;
    first = false;
  }
  return out;
}

int64_t EpochDay(absl::CivilDay day) { return day - absl::CivilDay(1970, 1, 1); }

}  // namespace dialgrid::compliance
