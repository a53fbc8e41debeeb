#include "services/compliance/domain/day_lockout.h"

#include <algorithm>

#include "absl/time/civil_time.h"

namespace dialgrid::compliance {

absl::Time DayLockoutEnd(const std::vector<absl::TimeZone>& zones, absl::Time event, int days) {
  absl::Time end = absl::InfinitePast();
  for (const absl::TimeZone& tz : zones) {
    end = std::max(end, absl::FromCivil(absl::ToCivilDay(event, tz) + days, tz));
  }
  return end;
}

std::vector<DayLockoutStep> DayLockoutSteps(const std::vector<absl::TimeZone>& zones,
                                            absl::Time when, int days) {
  std::vector<DayLockoutStep> steps;
  if (zones.empty() || days < 1) return steps;
  // An event locks `when` out in a zone iff its local date is at most
  // days - 1 days before `when`'s: from that zone's midnight of
  // today - (days - 1). In any zone: from the earliest of those.
  absl::Time cut = absl::InfiniteFuture();
  std::vector<absl::Time> points;
  for (const absl::TimeZone& tz : zones) {
    const absl::CivilDay today = absl::ToCivilDay(when, tz);
    cut = std::min(cut, absl::FromCivil(today - (days - 1), tz));
    // Every midnight of this zone that can fall between the cut and `when`
    // (zones differ by at most 26 hours: one day more covers them).
    for (int k = 0; k <= days; ++k) points.push_back(absl::FromCivil(today - k, tz));
  }
  points.push_back(cut);
  std::sort(points.begin(), points.end());
  points.erase(std::unique(points.begin(), points.end()), points.end());
  for (absl::Time p : points) {
    if (p < cut || p > when) continue;
    // No zone changes its date between two consecutive points, so the end
    // is the same for every event up to the next point.
    absl::Time until = DayLockoutEnd(zones, p, days);
    if (until > when) steps.push_back({p, until});
  }
  return steps;
}

std::vector<absl::TimeZone> AnyZone() {
  return {absl::FixedTimeZone(-12 * 3600), absl::FixedTimeZone(14 * 3600)};
}

}  // namespace dialgrid::compliance
