#pragma once

// Attempt caps over rolling windows (e.g. 3 per 24 h, 7 per 7 days) and the
// quiet period after an abandoned call (e.g. 72 h). Windows are elapsed time,
// so they are the same length across DST changes. Pure logic: the counts
// themselves live in Redis, where a dial that is allowed is counted at once.

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace dialgrid::compliance {

struct AttemptCap {
  std::string id;     // "US-FL-3-PER-24H"
  int max_attempts;   // attempts allowed inside the window
  absl::Duration window;
  // Where it applies ("US", "US-FL"); "" everywhere. Matched against the
  // callee's countries and regions before the check.
  std::string jurisdiction = "";
};

// The resolution of attempt and lockout times (Redis scores are ms): a
// closed window clears this long after the oldest counted attempt leaves.
inline constexpr absl::Duration kTimeResolution = absl::Milliseconds(1);

struct CapDecision {
  bool allowed = true;
  absl::Time next_allowed;            // == now when allowed
  std::vector<std::string> reasons;   // "ATTEMPT_CAP:<id>", "ABANDON_QUIET_PERIOD"
};

// `attempts` are the times of earlier dials of this number (or contact), any
// order. A dial at `now` is allowed when, for every cap, fewer than
// max_attempts fall in [now - window, now] (closed: an attempt exactly 24 h
// earlier still counts, the restrictive reading); otherwise the earliest
// time (ms resolution) at which the oldest counted attempt has left it.
CapDecision CheckAttemptCaps(const std::vector<AttemptCap>& caps, std::vector<absl::Time> attempts,
                             absl::Time now);

// Refused through `last_abandoned + quiet` inclusive (closed: a redial
// exactly 72 h later is still refused), allowed 1 ms later.
CapDecision CheckAbandonQuietPeriod(absl::Time last_abandoned, absl::Duration quiet,
                                    absl::Time now);

}  // namespace dialgrid::compliance
