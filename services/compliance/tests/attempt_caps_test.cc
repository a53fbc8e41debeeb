#include "services/compliance/domain/attempt_caps.h"

#include <gtest/gtest.h>

namespace dialgrid::compliance {
namespace {

TEST(AttemptCaps, RollingWindowsAndEarliestNextTime) {
  absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  std::vector<AttemptCap> caps = {{"3-PER-24H", 3, absl::Hours(24)},
                                  {"7-PER-7D", 7, absl::Hours(24 * 7)}};
  std::vector<absl::Time> attempts = {now - absl::Hours(1), now - absl::Hours(5),
                                      now - absl::Hours(30)};
  EXPECT_TRUE(CheckAttemptCaps(caps, attempts, now).allowed);  // 2 in the last 24 h
  attempts.push_back(now - absl::Hours(10));
  auto d = CheckAttemptCaps(caps, attempts, now);  // 3 in 24 h
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reasons, std::vector<std::string>{"ATTEMPT_CAP:3-PER-24H"});
  // The oldest of the 3 ages out: the window is closed, so 1 ms after
  // exactly 24 h.
  EXPECT_EQ(d.next_allowed, now - absl::Hours(10) + absl::Hours(24) + absl::Milliseconds(1));
  // At that instant, one more fits; exactly 24 h after the oldest, not yet.
  EXPECT_TRUE(CheckAttemptCaps(caps, attempts, d.next_allowed).allowed);
  EXPECT_FALSE(
      CheckAttemptCaps(caps, attempts, d.next_allowed - absl::Milliseconds(1)).allowed);
  // 7 in a week: the weekly cap binds even with a quiet day.
  std::vector<absl::Time> week;
  for (int i = 1; i <= 7; ++i) week.push_back(now - absl::Hours(24 * i - 12));
  auto w = CheckAttemptCaps(caps, week, now);
  EXPECT_FALSE(w.allowed);
  EXPECT_EQ(w.reasons, std::vector<std::string>{"ATTEMPT_CAP:7-PER-7D"});
  EXPECT_EQ(w.next_allowed,
            now - absl::Hours(24 * 7 - 12) + absl::Hours(24 * 7) + absl::Milliseconds(1));
}

// Issue 21: "an attempt exactly 24 h earlier still counts (closed window,
// the restrictive reading)". Fla. Stat. 501.616(6)(b): 3 per 24 h.
TEST(AttemptCaps, ClosedWindowCountsAnAttemptExactlyOneWindowEarlier) {
  absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  std::vector<AttemptCap> fl = {{"US-FL-FTSA-3-24H", 3, absl::Hours(24)}};
  std::vector<absl::Time> three = {now - absl::Hours(24), now - absl::Hours(2), now};
  EXPECT_FALSE(CheckAttemptCaps(fl, three, now).allowed);
  EXPECT_TRUE(CheckAttemptCaps(fl, three, now + absl::Milliseconds(1)).allowed);
  // One window and 1 ms earlier: out.
  three[0] -= absl::Milliseconds(1);
  EXPECT_TRUE(CheckAttemptCaps(fl, three, now).allowed);
}

TEST(AttemptCaps, AbandonQuietPeriod) {
  absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  auto d = CheckAbandonQuietPeriod(now - absl::Hours(71), absl::Hours(72), now);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.next_allowed, now + absl::Hours(1) + absl::Milliseconds(1));
  // Exactly 72 h after the abandoned call: still refused (closed window).
  EXPECT_FALSE(CheckAbandonQuietPeriod(now - absl::Hours(72), absl::Hours(72), now).allowed);
  EXPECT_TRUE(CheckAbandonQuietPeriod(now - absl::Hours(72) - absl::Milliseconds(1),
                                      absl::Hours(72), now)
                  .allowed);
  EXPECT_TRUE(CheckAbandonQuietPeriod(absl::InfinitePast(), absl::Hours(72), now).allowed);
}

}  // namespace
}  // namespace dialgrid::compliance
