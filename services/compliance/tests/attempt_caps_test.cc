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
  EXPECT_EQ(d.next_allowed, now - absl::Hours(10) + absl::Hours(24));  // the oldest of the 3 ages out
  // At that instant exactly, one more fits.
  EXPECT_TRUE(CheckAttemptCaps(caps, attempts, d.next_allowed).allowed);
  // 7 in a week: the weekly cap binds even with a quiet day.
  std::vector<absl::Time> week;
  for (int i = 1; i <= 7; ++i) week.push_back(now - absl::Hours(24 * i - 12));
  auto w = CheckAttemptCaps(caps, week, now);
  EXPECT_FALSE(w.allowed);
  EXPECT_EQ(w.reasons, std::vector<std::string>{"ATTEMPT_CAP:7-PER-7D"});
  EXPECT_EQ(w.next_allowed, now - absl::Hours(24 * 7 - 12) + absl::Hours(24 * 7));
}

TEST(AttemptCaps, AbandonQuietPeriod) {
  absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  auto d = CheckAbandonQuietPeriod(now - absl::Hours(71), absl::Hours(72), now);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.next_allowed, now + absl::Hours(1));
  EXPECT_TRUE(CheckAbandonQuietPeriod(now - absl::Hours(72), absl::Hours(72), now).allowed);
  EXPECT_TRUE(CheckAbandonQuietPeriod(absl::InfinitePast(), absl::Hours(72), now).allowed);
}

}  // namespace
}  // namespace dialgrid::compliance
