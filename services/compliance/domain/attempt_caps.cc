#include "services/compliance/domain/attempt_caps.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace dialgrid::compliance {

CapDecision CheckAttemptCaps(const std::vector<AttemptCap>& caps, std::vector<absl::Time> attempts,
                             absl::Time now) {
  CapDecision d;
  d.next_allowed = now;
  std::sort(attempts.begin(), attempts.end(), std::greater<absl::Time>());  // newest first
  for (const AttemptCap& cap : caps) {
    // Attempts inside [now - window, now].
    std::vector<absl::Time> inside;
    for (absl::Time a : attempts) {
      if (a <= now && a >= now - cap.window) inside.push_back(a);
    }
    if (static_cast<int>(inside.size()) < cap.max_attempts) continue;
    d.allowed = false;
    d.reasons.push_back(absl::StrCat("ATTEMPT_CAP:", cap.id));
    // One more is allowed once all but max_attempts - 1 of them have aged
    // out: when the max_attempts-th newest leaves the window.
    absl::Time frees =
        inside[static_cast<size_t>(cap.max_attempts) - 1] + cap.window + kTimeResolution;
    d.next_allowed = std::max(d.next_allowed, frees);
  }
  return d;
}

CapDecision CheckAbandonQuietPeriod(absl::Time last_abandoned, absl::Duration quiet,
                                    absl::Time now) {
  CapDecision d;
  d.next_allowed = now;
  if (last_abandoned + quiet >= now && last_abandoned <= now) {
    d.allowed = false;
    d.reasons.push_back("ABANDON_QUIET_PERIOD");
    d.next_allowed = last_abandoned + quiet + kTimeResolution;
  }
  return d;
}

}  // namespace dialgrid::compliance
