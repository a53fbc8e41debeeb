#include "services/compliance/domain/calling_window.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "dialgrid/type/v1/call_purpose.pb.h"
#include "services/common/core/errors.h"
#include "services/common/core/files.h"

namespace dialgrid::compliance {
namespace {

absl::TimeZone Zone(const std::string& name) {
  absl::TimeZone tz;
  EXPECT_TRUE(absl::LoadTimeZone(name, &tz)) << name;
  return tz;
}

// The instant of a local civil time in a zone (unambiguous times only).
absl::Time At(const std::string& zone, int y, int mo, int d, int h, int mi) {
  return absl::FromCivil(absl::CivilMinute(y, mo, d, h, mi), Zone(zone));
}

class CallingWindowTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto table = ReadFileToString(DIALGRID_COMPLIANCE_DATA_DIR "/calling_hours.tsv");
    ASSERT_TRUE(table.ok()) << table.status();
    auto rules = ParseCallingHours(*table);
    ASSERT_TRUE(rules.ok()) << rules.status();
    rules_ = new std::vector<CallingHoursRule>(*std::move(rules));
  }
  std::vector<const CallingHoursRule*> For(const std::string& country,
                                           std::vector<std::string> regions) {
    return ApplicableRules(*rules_, country, regions);
  }
  static std::vector<CallingHoursRule>* rules_;
};
std::vector<CallingHoursRule>* CallingWindowTest::rules_ = nullptr;

TEST_F(CallingWindowTest, PresetsLoadWithSources) {
  EXPECT_GE(rules_->size(), 15u);
  for (const auto& r : *rules_) EXPECT_FALSE(r.source.empty()) << r.id;
}

TEST_F(CallingWindowTest, FederalWindowBoundaries) {
  auto rules = For("US", {});
  ASSERT_EQ(rules.size(), 1u);
  std::vector<absl::TimeZone> ny = {Zone("America/New_York")};
  EXPECT_FALSE(CheckCallingWindow(ny, rules, At("America/New_York", 2026, 6, 10, 7, 59)).allowed);
  EXPECT_TRUE(CheckCallingWindow(ny, rules, At("America/New_York", 2026, 6, 10, 8, 0)).allowed);
  EXPECT_TRUE(CheckCallingWindow(ny, rules, At("America/New_York", 2026, 6, 10, 20, 59)).allowed);
  auto late = CheckCallingWindow(ny, rules, At("America/New_York", 2026, 6, 10, 21, 0));
  EXPECT_FALSE(late.allowed);
  EXPECT_EQ(late.reasons, std::vector<std::string>{"OUTSIDE_CALLING_HOURS:US-FED@America/New_York"});
  // Across midnight: the next window is 08:00 the next local day.
  EXPECT_EQ(late.next_allowed, At("America/New_York", 2026, 6, 11, 8, 0));
  auto night = CheckCallingWindow(ny, rules, At("America/New_York", 2026, 6, 11, 0, 30));
  EXPECT_EQ(night.next_allowed, At("America/New_York", 2026, 6, 11, 8, 0));
}

TEST_F(CallingWindowTest, StateRulesAreStricterAndBothApply) {
  // A Florida resident (or a Florida area code): 8 pm, not 9 pm.
  auto rules = For("US", {"FL"});
  ASSERT_EQ(rules.size(), 2u);
  std::vector<absl::TimeZone> ny = {Zone("America/New_York")};
  auto d = CheckCallingWindow(ny, rules, At("America/New_York", 2026, 6, 10, 20, 30));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reasons, std::vector<std::string>{"OUTSIDE_CALLING_HOURS:US-FL@America/New_York"});
}

TEST_F(CallingWindowTest, AmbiguousZonesTakeTheMostRestrictive) {
  // Florida straddles Eastern and Central: 8:30 Eastern is 7:30 Central.
  auto rules = For("US", {"FL"});
  std::vector<absl::TimeZone> fl = {Zone("America/New_York"), Zone("America/Chicago")};
  absl::Time t = At("America/New_York", 2026, 6, 10, 8, 30);
  auto d = CheckCallingWindow(fl, rules, t);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.next_allowed, At("America/Chicago", 2026, 6, 10, 8, 0));
  // 19:30 Eastern is fine in Eastern (FL 8 pm) but 18:30 Central is fine too;
  // 20:00 Eastern is over in Eastern.
  EXPECT_TRUE(CheckCallingWindow(fl, rules, At("America/New_York", 2026, 6, 10, 19, 30)).allowed);
  auto late = CheckCallingWindow(fl, rules, At("America/New_York", 2026, 6, 10, 20, 0));
  EXPECT_FALSE(late.allowed);
  // Next: 08:00 Central the next day (later than 08:00 Eastern).
  EXPECT_EQ(late.next_allowed, At("America/Chicago", 2026, 6, 11, 8, 0));
}

TEST_F(CallingWindowTest, DaylightSavingChanges) {
  auto rules = For("US", {});
  std::vector<absl::TimeZone> ny = {Zone("America/New_York")};
  // 2026-03-08: clocks jump 02:00 -> 03:00. 07:59 EDT is still too early;
  // 08:00 EDT is 12:00 UTC (not 13:00 as on the day before).
  EXPECT_FALSE(CheckCallingWindow(ny, rules, At("America/New_York", 2026, 3, 8, 7, 59)).allowed);
  absl::Time open = At("America/New_York", 2026, 3, 8, 8, 0);
  EXPECT_EQ(open, absl::FromCivil(absl::CivilMinute(2026, 3, 8, 12, 0), absl::UTCTimeZone()));
  EXPECT_TRUE(CheckCallingWindow(ny, rules, open).allowed);
  auto before = CheckCallingWindow(ny, rules, At("America/New_York", 2026, 3, 8, 1, 30));
  EXPECT_EQ(before.next_allowed, open);
  // 2026-11-01: clocks fall back 02:00 -> 01:00; the window still opens at
  // 08:00 local, which is 13:00 UTC that day.
  auto fall = CheckCallingWindow(ny, rules, At("America/New_York", 2026, 10, 31, 22, 0));
  EXPECT_EQ(fall.next_allowed,
            absl::FromCivil(absl::CivilMinute(2026, 11, 1, 13, 0), absl::UTCTimeZone()));
  // Arizona keeps standard time all year: the same UTC hour both seasons.
  std::vector<absl::TimeZone> az = {Zone("America/Phoenix")};
  absl::Time summer = absl::FromCivil(absl::CivilMinute(2026, 7, 1, 14, 59), absl::UTCTimeZone());
  absl::Time winter = absl::FromCivil(absl::CivilMinute(2026, 12, 1, 14, 59), absl::UTCTimeZone());
  EXPECT_FALSE(CheckCallingWindow(az, rules, summer).allowed);  // 07:59 MST
  EXPECT_FALSE(CheckCallingWindow(az, rules, winter).allowed);
}

TEST_F(CallingWindowTest, SundaysAndHolidays) {
  auto rules = For("US", {"AL"});
  std::vector<absl::TimeZone> chi = {Zone("America/Chicago")};
  // 2026-07-04 is a Saturday and a listed holiday; 07-05 a Sunday.
  auto d = CheckCallingWindow(chi, rules, At("America/Chicago", 2026, 7, 4, 12, 0));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reasons, std::vector<std::string>{"HOLIDAY:US-AL@America/Chicago"});
  EXPECT_EQ(d.next_allowed, At("America/Chicago", 2026, 7, 6, 8, 0));  // Monday
  // MLK Day 2026 is Monday 19 January.
  EXPECT_FALSE(CheckCallingWindow(chi, rules, At("America/Chicago", 2026, 1, 19, 12, 0)).allowed);
  EXPECT_TRUE(CheckCallingWindow(chi, rules, At("America/Chicago", 2026, 1, 20, 12, 0)).allowed);
  // Canada: weekend window 10:00-18:00.
  auto ca = For("CA", {});
  std::vector<absl::TimeZone> tor = {Zone("America/Toronto")};
  EXPECT_FALSE(CheckCallingWindow(tor, ca, At("America/Toronto", 2026, 6, 13, 9, 30)).allowed);
  EXPECT_TRUE(CheckCallingWindow(tor, ca, At("America/Toronto", 2026, 6, 12, 21, 0)).allowed);
  EXPECT_FALSE(CheckCallingWindow(tor, ca, At("America/Toronto", 2026, 6, 13, 18, 0)).allowed);
}

TEST_F(CallingWindowTest, FailsClosedWithoutZoneOrRule) {
  auto rules = For("US", {});
  auto none = CheckCallingWindow({}, rules, absl::Now());
  EXPECT_FALSE(none.allowed);
  EXPECT_EQ(none.reasons, std::vector<std::string>{"TIME_ZONE_UNKNOWN"});
  // Brazil: no preset (the rule doc does not cover it).
  auto norule = CheckCallingWindow({Zone("America/Sao_Paulo")}, For("BR", {}), absl::Now());
  EXPECT_FALSE(norule.allowed);
  EXPECT_EQ(norule.reasons, std::vector<std::string>{"NO_CALLING_HOURS_RULE"});
}

// Issue 21, "Holidays and day bans as data": a day with no calling at all is
// DAY_BANNED, a listed holiday HOLIDAY, and the earliest allowed time skips
// every banned day. Rule doc 2.2 (AL, LA, MS Sunday; AL, LA, MS, RI, UT
// holidays, LA adding Battle of New Orleans), 2.5 (AU: no Sundays, no
// national public holidays).
TEST_F(CallingWindowTest, SundayIsADayBanNotOutsideHours) {
  std::vector<absl::TimeZone> chi = {Zone("America/Chicago")};
  for (const char* state : {"AL", "LA", "MS"}) {
    // 2026-07-12 is a Sunday.
    auto d = CheckCallingWindow(chi, For("US", {state}), At("America/Chicago", 2026, 7, 12, 12, 0));
    EXPECT_FALSE(d.allowed) << state;
    EXPECT_EQ(d.reasons, std::vector<std::string>{absl::StrCat("DAY_BANNED:US-", state,
                                                               "@America/Chicago")});
    EXPECT_EQ(d.next_allowed, At("America/Chicago", 2026, 7, 13, 8, 0)) << state;
    // Saturday 19:59 allowed, 20:00 not (state 8 pm), and not a day ban.
    EXPECT_TRUE(
        CheckCallingWindow(chi, For("US", {state}), At("America/Chicago", 2026, 7, 11, 19, 59))
            .allowed);
    auto sat = CheckCallingWindow(chi, For("US", {state}), At("America/Chicago", 2026, 7, 11, 20, 0));
    EXPECT_EQ(sat.reasons, std::vector<std::string>{absl::StrCat("OUTSIDE_CALLING_HOURS:US-",
                                                                 state, "@America/Chicago")});
    EXPECT_EQ(sat.next_allowed, At("America/Chicago", 2026, 7, 13, 8, 0));  // skips Sunday
  }
}

TEST_F(CallingWindowTest, StateHolidayBans) {
  std::vector<absl::TimeZone> chi = {Zone("America/Chicago")};
  // Louisiana: Battle of New Orleans, 8 January (2026: a Thursday).
  auto la = CheckCallingWindow(chi, For("US", {"LA"}), At("America/Chicago", 2026, 1, 8, 12, 0));
  EXPECT_EQ(la.reasons, std::vector<std::string>{"HOLIDAY:US-LA@America/Chicago"});
  EXPECT_EQ(la.next_allowed, At("America/Chicago", 2026, 1, 9, 8, 0));
  // The day before and after are ordinary days; Alabama has no 8 January ban.
  EXPECT_TRUE(
      CheckCallingWindow(chi, For("US", {"LA"}), At("America/Chicago", 2026, 1, 7, 12, 0)).allowed);
  EXPECT_TRUE(
      CheckCallingWindow(chi, For("US", {"AL"}), At("America/Chicago", 2026, 1, 8, 12, 0)).allowed);
  // Rhode Island and Utah: holiday-only rows, the federal rule sets the hours.
  std::vector<absl::TimeZone> ny = {Zone("America/New_York")};
  auto ri = CheckCallingWindow(ny, For("US", {"RI"}), At("America/New_York", 2026, 7, 4, 12, 0));
  EXPECT_EQ(ri.reasons, std::vector<std::string>{"HOLIDAY:US-RI@America/New_York"});
  EXPECT_EQ(ri.next_allowed, At("America/New_York", 2026, 7, 5, 8, 0));  // Sunday: US-FED 8 am
  EXPECT_TRUE(
      CheckCallingWindow(ny, For("US", {"RI"}), At("America/New_York", 2026, 7, 3, 20, 59)).allowed);
  std::vector<absl::TimeZone> den = {Zone("America/Denver")};
  // New Year's Day and MLK Day 2027 (18 January) in Utah.
  EXPECT_FALSE(
      CheckCallingWindow(den, For("US", {"UT"}), At("America/Denver", 2027, 1, 1, 10, 0)).allowed);
  auto ut = CheckCallingWindow(den, For("US", {"UT"}), At("America/Denver", 2027, 1, 18, 10, 0));
  EXPECT_EQ(ut.reasons, std::vector<std::string>{"HOLIDAY:US-UT@America/Denver"});
  // The holiday is the callee's local date: 00:30 UTC on 5 July is still
  // 4 July (18:30) in Denver.
  EXPECT_FALSE(CheckCallingWindow(
                   den, For("US", {"UT"}),
                   absl::FromCivil(absl::CivilMinute(2026, 7, 5, 0, 30), absl::UTCTimeZone()))
                   .allowed);
}

TEST(Easter, ComputedForKnownYears) {
  EXPECT_EQ(EasterSunday(2000), absl::CivilDay(2000, 4, 23));
  EXPECT_EQ(EasterSunday(2024), absl::CivilDay(2024, 3, 31));
  EXPECT_EQ(EasterSunday(2025), absl::CivilDay(2025, 4, 20));
  EXPECT_EQ(EasterSunday(2026), absl::CivilDay(2026, 4, 5));
  EXPECT_EQ(EasterSunday(2027), absl::CivilDay(2027, 3, 28));
  EXPECT_EQ(EasterSunday(2038), absl::CivilDay(2038, 4, 25));
}

TEST_F(CallingWindowTest, AustraliaSkipsSundaysAndTheEasterDays) {
  std::vector<absl::TimeZone> syd = {Zone("Australia/Sydney")};
  auto au = For("AU", {});
  // Thursday 2 April 2026, 20:00: after hours. Good Friday (3), Easter
  // Saturday (4), Sunday (5) and Easter Monday (6) are banned: the next
  // allowed time is Tuesday 7 April 09:00.
  auto thu = CheckCallingWindow(syd, au, At("Australia/Sydney", 2026, 4, 2, 20, 0));
  EXPECT_FALSE(thu.allowed);
  EXPECT_EQ(thu.next_allowed, At("Australia/Sydney", 2026, 4, 7, 9, 0));
  auto fri = CheckCallingWindow(syd, au, At("Australia/Sydney", 2026, 4, 3, 12, 0));
  EXPECT_EQ(fri.reasons, std::vector<std::string>{"HOLIDAY:AU-DNCR@Australia/Sydney"});
  auto sun = CheckCallingWindow(syd, au, At("Australia/Sydney", 2026, 4, 5, 12, 0));
  EXPECT_EQ(sun.reasons, std::vector<std::string>{"DAY_BANNED:AU-DNCR@Australia/Sydney"});
  EXPECT_FALSE(CheckCallingWindow(syd, au, At("Australia/Sydney", 2026, 4, 6, 12, 0)).allowed);
  EXPECT_TRUE(CheckCallingWindow(syd, au, At("Australia/Sydney", 2026, 4, 7, 9, 0)).allowed);
  // 2027: Good Friday is 26 March.
  EXPECT_FALSE(CheckCallingWindow(syd, au, At("Australia/Sydney", 2027, 3, 26, 12, 0)).allowed);
  EXPECT_TRUE(CheckCallingWindow(syd, au, At("Australia/Sydney", 2027, 3, 25, 12, 0)).allowed);
  // Anzac Day 2026 (Saturday 25 April).
  EXPECT_FALSE(CheckCallingWindow(syd, au, At("Australia/Sydney", 2026, 4, 25, 12, 0)).allowed);
}

// Rule doc 2.5: "Research calls: weekdays 9 am-8:30 pm; Sat and Sun 9 am-5
// pm" (AU-RESEARCH, purpose RESEARCH only); the telemarketing hours
// (AU-DNCR) apply to every other purpose. National public holidays bind
// research calls too (restrictive reading, see calling_hours.tsv).
TEST_F(CallingWindowTest, AustraliaResearchCallsHaveTheirOwnHours) {
  constexpr int kResearch = type::v1::CALL_PURPOSE_RESEARCH;
  std::vector<absl::TimeZone> syd = {Zone("Australia/Sydney")};
  auto research = ApplicableRules(*rules_, "AU", {}, kResearch);
  ASSERT_EQ(research.size(), 1u);
  EXPECT_EQ(research[0]->id, "AU-RESEARCH");
  for (int purpose : {0, 1, 2, 3}) {
    auto others = ApplicableRules(*rules_, "AU", {}, purpose);
    ASSERT_EQ(others.size(), 1u) << purpose;
    EXPECT_EQ(others[0]->id, "AU-DNCR") << purpose;
  }
  // Every rule without purposes applies to research calls as well.
  EXPECT_EQ(ApplicableRules(*rules_, "US", {}, kResearch).size(), 1u);
  // Wednesday 14 January 2026: 09:00 opens, 20:29 is in, 20:30 is out (a
  // telemarketing call is already out at 20:00).
  EXPECT_FALSE(CheckCallingWindow(syd, research, At("Australia/Sydney", 2026, 1, 14, 8, 59)).allowed);
  EXPECT_TRUE(CheckCallingWindow(syd, research, At("Australia/Sydney", 2026, 1, 14, 9, 0)).allowed);
  EXPECT_TRUE(CheckCallingWindow(syd, research, At("Australia/Sydney", 2026, 1, 14, 20, 29)).allowed);
  auto late = CheckCallingWindow(syd, research, At("Australia/Sydney", 2026, 1, 14, 20, 30));
  EXPECT_EQ(late.reasons, std::vector<std::string>{"OUTSIDE_CALLING_HOURS:AU-RESEARCH@Australia/Sydney"});
  EXPECT_EQ(late.next_allowed, At("Australia/Sydney", 2026, 1, 15, 9, 0));
  auto tm = For("AU", {});
  EXPECT_FALSE(CheckCallingWindow(syd, tm, At("Australia/Sydney", 2026, 1, 14, 20, 0)).allowed);
  // Sunday 18 January: research 09:00-17:00; telemarketing banned all day.
  EXPECT_TRUE(CheckCallingWindow(syd, research, At("Australia/Sydney", 2026, 1, 18, 9, 0)).allowed);
  EXPECT_TRUE(CheckCallingWindow(syd, research, At("Australia/Sydney", 2026, 1, 18, 16, 59)).allowed);
  auto sunday_late = CheckCallingWindow(syd, research, At("Australia/Sydney", 2026, 1, 18, 17, 0));
  EXPECT_FALSE(sunday_late.allowed);
  EXPECT_EQ(sunday_late.next_allowed, At("Australia/Sydney", 2026, 1, 19, 9, 0));
  EXPECT_EQ(CheckCallingWindow(syd, tm, At("Australia/Sydney", 2026, 1, 18, 12, 0)).reasons,
            std::vector<std::string>{"DAY_BANNED:AU-DNCR@Australia/Sydney"});
  // Saturday 17 January 17:00: the next research window is Sunday 09:00,
  // the next telemarketing one Monday 09:00.
  EXPECT_EQ(CheckCallingWindow(syd, research, At("Australia/Sydney", 2026, 1, 17, 17, 0)).next_allowed,
            At("Australia/Sydney", 2026, 1, 18, 9, 0));
  EXPECT_EQ(CheckCallingWindow(syd, tm, At("Australia/Sydney", 2026, 1, 17, 17, 0)).next_allowed,
            At("Australia/Sydney", 2026, 1, 19, 9, 0));
  // Good Friday 2026 (3 April): a holiday for research calls too.
  EXPECT_EQ(CheckCallingWindow(syd, research, At("Australia/Sydney", 2026, 4, 3, 12, 0)).reasons,
            std::vector<std::string>{"HOLIDAY:AU-RESEARCH@Australia/Sydney"});
}

TEST(CallingHoursPurposes, ColumnParsedAndUnknownPurposesRefused) {
  const std::string days = "\t09:00-17:00\t-\t-\t-\t-\t-\t-\t-\tsrc\t-\t";
  auto ok = ParseCallingHours("X\tAU" + days + "RESEARCH,INFORMATIONAL\n");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ((*ok)[0].purposes, (std::vector<int>{type::v1::CALL_PURPOSE_RESEARCH,
                                                 type::v1::CALL_PURPOSE_INFORMATIONAL}));
  auto all = ParseCallingHours("X\tAU" + days + "*\n");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE((*all)[0].purposes.empty());
  EXPECT_TRUE(AppliesToPurpose((*all)[0], type::v1::CALL_PURPOSE_RESEARCH));
  EXPECT_EQ(ReasonOf(ParseCallingHours("X\tAU" + days + "SURVEY\n").status()), "UNKNOWN_ENUM_VALUE");
  EXPECT_EQ(ReasonOf(ParseCallingHours("X\tAU" + days + "UNSPECIFIED\n").status()),
            "UNKNOWN_ENUM_VALUE");
  // Unset reads as telemarketing.
  auto tm = ParseCallingHours("X\tAU" + days + "TELEMARKETING\n");
  ASSERT_TRUE(tm.ok());
  EXPECT_TRUE(AppliesToPurpose((*tm)[0], type::v1::CALL_PURPOSE_UNSPECIFIED));
  EXPECT_FALSE(AppliesToPurpose((*tm)[0], type::v1::CALL_PURPOSE_RESEARCH));
}

// Pennsylvania's Sunday ban from 2026-10-18 (rule doc: [S-weak, unverified];
// shipped restrictive): in effect from that local day on, not before.
TEST_F(CallingWindowTest, PennsylvaniaSundayBanTakesEffectOn20261018) {
  std::vector<absl::TimeZone> ny = {Zone("America/New_York")};
  auto pa = For("US", {"PA"});
  EXPECT_TRUE(CheckCallingWindow(ny, pa, At("America/New_York", 2026, 10, 11, 12, 0)).allowed);
  auto first = CheckCallingWindow(ny, pa, At("America/New_York", 2026, 10, 18, 12, 0));
  EXPECT_EQ(first.reasons, std::vector<std::string>{"DAY_BANNED:US-PA-SUN@America/New_York"});
  EXPECT_EQ(first.next_allowed, At("America/New_York", 2026, 10, 19, 8, 0));
  // Saturday 17 October 21:00 (after US-FED hours): the next allowed time
  // skips the first banned Sunday.
  auto sat = CheckCallingWindow(ny, pa, At("America/New_York", 2026, 10, 17, 21, 0));
  EXPECT_EQ(sat.next_allowed, At("America/New_York", 2026, 10, 19, 8, 0));
  // Saturday 10 October 21:00: Sunday 11 October is still callable.
  auto before = CheckCallingWindow(ny, pa, At("America/New_York", 2026, 10, 10, 21, 0));
  EXPECT_EQ(before.next_allowed, At("America/New_York", 2026, 10, 11, 8, 0));
}

// Issue 21: "no covered country refuses every dial for want of a rule". The
// rule doc lists no calling hours for the UK, the EU or Japan.
TEST_F(CallingWindowTest, CountriesWithoutStatutoryHoursHaveARule) {
  for (const auto& [country, zone] : std::vector<std::pair<std::string, std::string>>{
           {"GB", "Europe/London"}, {"DE", "Europe/Berlin"}, {"FR", "Europe/Paris"},
           {"JP", "Asia/Tokyo"}}) {
    auto rules = For(country, {});
    ASSERT_EQ(rules.size(), 1u) << country;
    EXPECT_TRUE(CheckCallingWindow({Zone(zone)}, rules, At(zone, 2026, 6, 14, 3, 0)).allowed)
        << country;
  }
}

TEST(CallingHoursParse, BadInputIsRefusedWithReasons) {
  const char* ends_first =
      "X\tUS\t21:00-08:00\t-\t-\t-\t-\t-\t-\t-\tsrc\n";
  EXPECT_EQ(ReasonOf(ParseCallingHours(ends_first).status()), "WINDOW_ENDS_BEFORE_START");
  EXPECT_EQ(ReasonOf(ParseCallingHours("X\tUS\t25:00-26:00\t-\t-\t-\t-\t-\t-\t-\tsrc\n").status()),
            "INVALID_TIME");
  EXPECT_EQ(ReasonOf(ParseCallingHours("X\tUS\t08:00\t-\t-\t-\t-\t-\t-\t-\tsrc\n").status()),
            "MALFORMED_WINDOW");
  EXPECT_EQ(ReasonOf(ParseCallingHours("X\tUS\n").status()), "MALFORMED_RULE");
  EXPECT_EQ(ReasonOf(ParseCallingHours("X\tUS\t-\t-\t-\t-\t-\t-\t-\t-\tsrc\t2026-13-01\n").status()),
            "INVALID_DATE");
  EXPECT_EQ(ReasonOf(ParseCallingHours("X\tUS\t-\t-\t-\t-\t-\t-\t-\tEASTER\tsrc\n").status()),
            "MALFORMED_HOLIDAY");
  // An unbounded holiday string is not echoed whole.
  auto huge = ParseCallingHours(
      absl::StrCat("X\tUS\t-\t-\t-\t-\t-\t-\t-\t", std::string(100000, 'H'), "\tsrc\n"));
  EXPECT_EQ(ReasonOf(huge.status()), "MALFORMED_HOLIDAY");
  EXPECT_LT(huge.status().message().size(), 400u);
  auto two = ParseCallingHours("X\tUS\t13:00-17:00,09:00-12:00\t-\t-\t-\t-\t-\t-\t-\tsrc\n");
  ASSERT_TRUE(two.ok());
  EXPECT_EQ((*two)[0].by_weekday[0][0].start_minute, 9 * 60);  // sorted
}

}  // namespace
}  // namespace dialgrid::compliance
