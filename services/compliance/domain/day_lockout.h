#pragma once

// A lockout counted in the callee's calendar days, as Reg F's "within 7 days
// after a telephone conversation" (12 CFR 1006.14(b)(2)(ii)): the event's
// local date is day 1, and a call is allowed again from the start of day
// `days` + 1 in the callee's zone. With several candidate zones every zone
// must be past its day `days` (the restrictive reading): the lockout ends at
// the latest of the zones' local midnights. Pure logic; the events
// themselves are kept in Redis.

#include <vector>

#include "absl/time/time.h"

namespace dialgrid::compliance {

// When a lockout of `days` calendar days that started with an event at
// `event` ends (the start of day days + 1), for the callee's candidate zones.
absl::Time DayLockoutEnd(const std::vector<absl::TimeZone>& zones, absl::Time event, int days);

// For a dial at `when`: the events that still lock it out are those at or
// after steps.front().from (and not after `when`), and an event at or after
// steps[i].from (before steps[i + 1].from) locks it out until steps[i].until
// (> when). The Redis script finds the latest event at or after the first
// step and reads its end here, so the calendar arithmetic stays in C++.
struct DayLockoutStep {
  absl::Time from;
  absl::Time until;
};
std::vector<DayLockoutStep> DayLockoutSteps(const std::vector<absl::TimeZone>& zones,
                                            absl::Time when, int days);

// The zones to count days in when none is known for the callee: the
// earliest and the latest civil time on earth (UTC-12, UTC+14), so the
// lockout lasts as long as it could anywhere.
std::vector<absl::TimeZone> AnyZone();

}  // namespace dialgrid::compliance
