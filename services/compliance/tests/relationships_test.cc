// Established business relationship windows (data/ebr_rules.tsv, rule doc
// 2.1 and 2.4), Korea's night waiver and Japan's refusal row as data.

#include "services/compliance/domain/relationships.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "services/common/core/errors.h"
#include "services/compliance/domain/statutory_rules.h"

namespace dialgrid::compliance {
namespace {

using absl::CivilDay;

// A relationship dated `t` counts on `d` (the arithmetic the store applies:
// EarliestCoveringDate <= t <= d).
bool Counts(CivilDay t, CivilDay d, int months) {
  return t <= d && t >= EarliestCoveringDate(d, months);
}

TEST(RelationshipWindow, MonthsAddedWithTheShortMonthsLastDay) {
  EXPECT_EQ(AddMonthsClamped(CivilDay(2024, 8, 31), 18), CivilDay(2026, 2, 28));
  EXPECT_EQ(AddMonthsClamped(CivilDay(2023, 8, 31), 6), CivilDay(2024, 2, 29));  // leap year
  EXPECT_EQ(AddMonthsClamped(CivilDay(2025, 11, 30), 3), CivilDay(2026, 2, 28));
  EXPECT_EQ(AddMonthsClamped(CivilDay(2025, 1, 15), 18), CivilDay(2026, 7, 15));
  EXPECT_EQ(AddMonthsClamped(CivilDay(2026, 3, 31), -1), CivilDay(2026, 2, 28));
}

// US: 18 months after the transaction, 3 after an inquiry; Canada 18 / 6.
// The last day in is the same day N months later, the first day out the next.
TEST(RelationshipWindow, LastDayInFirstDayOut) {
  EXPECT_TRUE(Counts(CivilDay(2025, 1, 15), CivilDay(2026, 7, 15), 18));
  EXPECT_FALSE(Counts(CivilDay(2025, 1, 15), CivilDay(2026, 7, 16), 18));
  EXPECT_TRUE(Counts(CivilDay(2025, 12, 5), CivilDay(2026, 3, 5), 3));
  EXPECT_FALSE(Counts(CivilDay(2025, 12, 5), CivilDay(2026, 3, 6), 3));
  EXPECT_TRUE(Counts(CivilDay(2025, 12, 5), CivilDay(2026, 6, 5), 6));
  EXPECT_FALSE(Counts(CivilDay(2025, 12, 5), CivilDay(2026, 6, 6), 6));
  // Month ends: 2024-08-31 + 18 months = 2026-02-28; 08-28..08-31 all end then.
  for (int day : {28, 29, 30, 31}) {
    EXPECT_TRUE(Counts(CivilDay(2024, 8, day), CivilDay(2026, 2, 28), 18)) << day;
    EXPECT_FALSE(Counts(CivilDay(2024, 8, day), CivilDay(2026, 3, 1), 18)) << day;
  }
  EXPECT_FALSE(Counts(CivilDay(2024, 8, 27), CivilDay(2026, 2, 28), 18));
  // Not before the relationship exists.
  EXPECT_TRUE(Counts(CivilDay(2026, 1, 7), CivilDay(2026, 1, 7), 3));
  EXPECT_FALSE(Counts(CivilDay(2026, 1, 8), CivilDay(2026, 1, 7), 3));
}

// The window found by EarliestCoveringDate is exactly the set of dates whose
// window reaches the day, for every day of four years (checked directly).
TEST(RelationshipWindow, EarliestCoveringDateMatchesADirectSearch) {
  for (int months : {3, 6, 18}) {
    for (CivilDay d(2024, 1, 1); d < CivilDay(2028, 1, 1); ++d) {
      const CivilDay e = EarliestCoveringDate(d, months);
      EXPECT_GE(AddMonthsClamped(e, months), d) << d << " " << months;
      EXPECT_LT(AddMonthsClamped(e - 1, months), d) << d << " " << months;
    }
  }
}

// With several candidate zones the relationship must count on every local
// date of the dial: the earliest and the latest are both kept.
TEST(RelationshipWindow, LocalDatesOverCandidateZones) {
  absl::TimeZone ny, la;
  ASSERT_TRUE(absl::LoadTimeZone("America/New_York", &ny));
  ASSERT_TRUE(absl::LoadTimeZone("America/Los_Angeles", &la));
  // 2026-03-01 01:30 in New York is 2026-02-28 22:30 in Los Angeles.
  const absl::Time t = absl::FromCivil(absl::CivilMinute(2026, 3, 1, 1, 30), ny);
  LocalDates both = LocalDatesAt({ny, la}, t);
  EXPECT_EQ(both.earliest, CivilDay(2026, 2, 28));
  EXPECT_EQ(both.latest, CivilDay(2026, 3, 1));
  // No zone known: UTC-12 and UTC+14.
  LocalDates any = LocalDatesAt({}, absl::FromCivil(absl::CivilMinute(2026, 3, 1, 11, 0),
                                                     absl::UTCTimeZone()));
  EXPECT_EQ(any.earliest, CivilDay(2026, 2, 28));
  EXPECT_EQ(any.latest, CivilDay(2026, 3, 2));
  EXPECT_EQ(EpochDay(CivilDay(1970, 1, 2)), 1);
}

TEST(RelationshipRules, ShippedAsDataWithSources) {
  auto rules = LoadStatutoryRules(DIALGRID_COMPLIANCE_DATA_DIR);
  ASSERT_TRUE(rules.ok()) << rules.status();
  std::map<std::string, int> months;
  for (const EbrRule& r : rules->ebr) {
    EXPECT_FALSE(r.source.empty()) << r.id;
    months[r.registry_rule + (r.kind == v1::RELATIONSHIP_KIND_TRANSACTION ? ":T" : ":I")] =
        r.months;
  }
  EXPECT_EQ(months, (std::map<std::string, int>{{"US-NATIONAL-DNC:T", 18},
                                                {"US-NATIONAL-DNC:I", 3},
                                                {"CA-DNCL:T", 18},
                                                {"CA-DNCL:I", 6}}));
  ASSERT_EQ(rules->waivers.size(), 1u);
  EXPECT_EQ(rules->waivers[0].calling_hours_rule, "KR-ICNA");
  EXPECT_EQ(rules->waivers[0].scope, v1::CONSENT_SCOPE_NIGHT_HOURS);
  bool refusal = false;
  for (const Lockout& l : rules->lockouts) {
    if (l.after == LockoutAfter::kRefusal) {
      refusal = true;
      EXPECT_EQ(l.id, "JP-SCTA-ART17-REFUSAL");
      EXPECT_EQ(l.scope.jurisdictions, std::vector<std::string>{"JP"});
    }
  }
  EXPECT_TRUE(refusal);
}

TEST(RelationshipRules, MalformedRowsAreRefused) {
  for (const char* row : {"X\tUS-NATIONAL-DNC\tPURCHASE\t18\tsrc",  // unknown kind
                          "X\tUS-NATIONAL-DNC\tTRANSACTION\t0\tsrc", "X\tUS-NATIONAL-DNC\tINQUIRY\t61\tsrc",
                          "X\tUS-NATIONAL-DNC\tINQUIRY\t3", "X\t\tINQUIRY\t3\tsrc"}) {
    EXPECT_EQ(ReasonOf(ParseEbrRules(row).status()), "MALFORMED_RULE") << row;
  }
  EXPECT_EQ(ReasonOf(ParseEbrRules("A\tR\tINQUIRY\t3\ts\nB\tR\tINQUIRY\t6\ts").status()),
            "MALFORMED_RULE");  // two windows of one kind
  EXPECT_EQ(ReasonOf(ParseHoursWaivers("W\tKR-ICNA\tDAYTIME\tsrc").status()), "MALFORMED_RULE");
  EXPECT_EQ(ReasonOf(ParseHoursWaivers("W\tKR-ICNA\tUNSPECIFIED\tsrc").status()), "MALFORMED_RULE");
  EXPECT_EQ(ReasonOf(ParseLockouts("L\tJP\t*\t*\tREFUSAL\t24h\tsrc").status()), "MALFORMED_RULE");
  EXPECT_TRUE(ParseLockouts("L\tJP\t*\t*\tREFUSAL\t-\tsrc").ok());
}

}  // namespace
}  // namespace dialgrid::compliance
