// Reg F's lockout after a telephone conversation (12 CFR 1006.14(b)(2)(ii),
// rule doc 2.1: "any call within 7 days after a telephone conversation about
// that debt (the conversation day is day 1)"), counted in the callee's
// calendar days: the rule text's edge instants, several zones, DST, and the
// step table the Redis script reads checked against the direct answer.

#include "services/compliance/domain/day_lockout.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "absl/time/civil_time.h"

namespace dialgrid::compliance {
namespace {

absl::TimeZone Zone(const char* name) {
  absl::TimeZone tz;
  EXPECT_TRUE(absl::LoadTimeZone(name, &tz)) << name;
  return tz;
}

absl::Time At(int y, int mo, int d, int h, int mi, absl::TimeZone tz) {
  return absl::FromCivil(absl::CivilMinute(y, mo, d, h, mi), tz);
}

// What check_dial.lua does with the steps for one conversation at `conv`:
// the end of the lockout it imposes on a dial at `when`, or InfinitePast
// when it does not lock the dial out.
absl::Time LockedUntil(const std::vector<DayLockoutStep>& steps, absl::Time conv,
                       absl::Time when) {
  if (steps.empty() || conv < steps.front().from || conv > when) return absl::InfinitePast();
  absl::Time until = absl::InfinitePast();
  for (const DayLockoutStep& s : steps) {
    if (s.from <= conv) until = s.until;
  }
  return until > when ? until : absl::InfinitePast();
}

constexpr int kRegFDays = 7;

TEST(DayLockoutTest, ConversationDayIsDayOneAndDayEightIsFree) {
  const absl::TimeZone ny = Zone("America/New_York");
  // A conversation on Monday 2026-01-05 at 10:00 (day 1): days 1-7 are
  // Monday to Sunday; calls are allowed from Monday 2026-01-12 00:00.
  const absl::Time conv = At(2026, 1, 5, 10, 0, ny);
  const absl::Time day8 = At(2026, 1, 12, 0, 0, ny);
  EXPECT_EQ(DayLockoutEnd({ny}, conv, kRegFDays), day8);
  // Any time of day 1 gives the same end: the first and the last instant.
  EXPECT_EQ(DayLockoutEnd({ny}, At(2026, 1, 5, 0, 0, ny), kRegFDays), day8);
  EXPECT_EQ(DayLockoutEnd({ny}, day8 - absl::Hours(24 * 7) - absl::Milliseconds(1), kRegFDays),
            At(2026, 1, 11, 0, 0, ny));  // Sunday 23:59:59.999 is another day 1
  EXPECT_EQ(DayLockoutEnd({ny}, At(2026, 1, 5, 23, 59, ny), kRegFDays), day8);

  // The last instant of day 7 is locked out; day 8's first is not.
  auto last = DayLockoutSteps({ny}, day8 - absl::Milliseconds(1), kRegFDays);
  EXPECT_EQ(LockedUntil(last, conv, day8 - absl::Milliseconds(1)), day8);
  auto first = DayLockoutSteps({ny}, day8, kRegFDays);
  EXPECT_EQ(LockedUntil(first, conv, day8), absl::InfinitePast());
  // A conversation a minute before midnight of day 1 locks out until the
  // same day 8 even though fewer than 6 elapsed days remain on day 7.
  const absl::Time late = At(2026, 1, 5, 23, 59, ny);
  EXPECT_EQ(LockedUntil(last, late, day8 - absl::Milliseconds(1)), day8);
  // Right after the conversation (same day) it is locked out too.
  EXPECT_EQ(LockedUntil(DayLockoutSteps({ny}, conv, kRegFDays), conv, conv), day8);
}

TEST(DayLockoutTest, EveryCandidateZoneMustBePastDaySeven) {
  const absl::TimeZone ny = Zone("America/New_York");
  const absl::TimeZone chi = Zone("America/Chicago");
  // 00:30 Tuesday in New York is 23:30 Monday in Chicago: day 1 is Tuesday
  // in one zone and Monday in the other. The later end wins (restrictive):
  // Tuesday 2026-01-13 00:00 in New York.
  const absl::Time conv = At(2026, 1, 6, 0, 30, ny);
  EXPECT_EQ(DayLockoutEnd({chi}, conv, kRegFDays), At(2026, 1, 12, 0, 0, chi));
  EXPECT_EQ(DayLockoutEnd({ny, chi}, conv, kRegFDays), At(2026, 1, 13, 0, 0, ny));
  EXPECT_EQ(DayLockoutEnd({chi, ny}, conv, kRegFDays), At(2026, 1, 13, 0, 0, ny));
  const absl::Time when = At(2026, 1, 12, 12, 0, ny);  // Monday noon: day 8 only in Chicago
  EXPECT_EQ(LockedUntil(DayLockoutSteps({ny, chi}, when, kRegFDays), conv, when),
            At(2026, 1, 13, 0, 0, ny));
  EXPECT_EQ(LockedUntil(DayLockoutSteps({chi}, when, kRegFDays), conv, when),
            absl::InfinitePast());
}

TEST(DayLockoutTest, CalendarDaysNotElapsedHoursAcrossDst) {
  const absl::TimeZone ny = Zone("America/New_York");
  // Clocks go forward on Sunday 2026-03-08: days 1-7 hold 167 hours.
  const absl::Time conv = At(2026, 3, 5, 12, 0, ny);
  const absl::Time end = At(2026, 3, 12, 0, 0, ny);
  EXPECT_EQ(DayLockoutEnd({ny}, conv, kRegFDays), end);
  EXPECT_EQ(end - At(2026, 3, 5, 0, 0, ny), absl::Hours(24 * 7 - 1));
  EXPECT_EQ(LockedUntil(DayLockoutSteps({ny}, end - absl::Milliseconds(1), kRegFDays), conv,
                        end - absl::Milliseconds(1)),
            end);
  EXPECT_EQ(LockedUntil(DayLockoutSteps({ny}, end, kRegFDays), conv, end), absl::InfinitePast());
}

TEST(DayLockoutTest, UnknownZoneLocksOutAsLongAsAnywhere) {
  const std::vector<absl::TimeZone> any = AnyZone();
  // 12:00 UTC is already the next day in UTC+14 (02:00) and still the same
  // day in UTC-12 (00:00): the end is day 8 in UTC-12.
  const absl::Time conv = absl::FromCivil(absl::CivilMinute(2026, 1, 5, 12, 0), absl::UTCTimeZone());
  EXPECT_EQ(DayLockoutEnd(any, conv, kRegFDays),
            absl::FromCivil(absl::CivilDay(2026, 1, 12), absl::FixedTimeZone(-12 * 3600)));
}

// The steps the script reads give exactly the direct answer, for random
// conversations and dials over zones with DST and a half-hour offset.
TEST(DayLockoutTest, StepsAgreeWithTheDirectAnswer) {
  const std::vector<std::vector<absl::TimeZone>> zone_sets = {
      {Zone("America/New_York")},
      {Zone("America/New_York"), Zone("America/Chicago")},
      {Zone("America/Los_Angeles"), Zone("Pacific/Honolulu"), Zone("America/St_Johns")},
      {Zone("Australia/Adelaide"), Zone("Europe/London")},
      AnyZone(),
  };
  std::mt19937_64 rng(21);
  const absl::Time base = absl::FromCivil(absl::CivilDay(2026, 2, 20), absl::UTCTimeZone());
  for (const auto& zones : zone_sets) {
    for (int i = 0; i < 3000; ++i) {
      const int days = 1 + static_cast<int>(rng() % 10);
      const absl::Time when = base + absl::Minutes(static_cast<int64_t>(rng() % (60 * 24 * 60)));
      // Conversations from 12 days before the dial up to the dial, with a
      // bias to local midnights (the edges).
      absl::Time conv = when - absl::Minutes(static_cast<int64_t>(rng() % (60 * 24 * 12)));
      if (rng() % 3 == 0) {
        const absl::TimeZone& tz = zones[rng() % zones.size()];
        conv = absl::FromCivil(absl::ToCivilDay(conv, tz), tz) -
               absl::Milliseconds(static_cast<int64_t>(rng() % 2));
        if (conv > when) conv = when;
      }
      const auto steps = DayLockoutSteps(zones, when, days);
      const absl::Time direct = DayLockoutEnd(zones, conv, days);
      const absl::Time expected = direct > when ? direct : absl::InfinitePast();
      ASSERT_EQ(LockedUntil(steps, conv, when), expected)
          << "days " << days << " when " << when << " conv " << conv;
    }
  }
}

}  // namespace
}  // namespace dialgrid::compliance
