#pragma once

// Calling-hour rules evaluated in the callee's local time. Pure logic over
// Abseil time zones (the system tzdata), DST included: windows are compared
// in local civil time, so "08:00-21:00" means the same wall-clock hours on
// both sides of a DST change, and a window opening at a skipped time opens
// at the transition instant.

#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace dialgrid::compliance {

// [start, end) in minutes after local midnight; end may be 1440 (midnight).
struct LocalWindow {
  int start_minute = 0;
  int end_minute = 0;
};

// One jurisdiction's calling hours, e.g. US federal 08:00-21:00 every day.
struct CallingHoursRule {
  std::string id;            // "US-FED", "US-FL", "CA-CRTC", ...
  std::string jurisdiction;  // "US" (whole country) or "US-FL" (a region)
  // Monday = 0 ... Sunday = 6; an empty list means no calling that day.
  std::array<std::vector<LocalWindow>, 7> by_weekday;
  // Month-day holidays with no calling ("01-01"), and computed ones
  // ("MLK": third Monday of January, "MEMORIAL", "LABOR", "THANKSGIVING",
  // and the Easter days "GOOD_FRIDAY", "EASTER_SATURDAY", "EASTER_MONDAY").
  std::vector<std::string> holidays;
  std::string source;  // where the parameters come from
  // The first local day the rule applies (a law taking effect later, e.g.
  // Pennsylvania's Sunday ban from 2026-10-18); before it the rule allows
  // any time. Unset: always in effect.
  std::optional<absl::CivilDay> effective_from;
  // The call purposes (dialgrid.type.v1.CallPurpose numbers) the rule
  // applies to; empty: every purpose. E.g. Australia's research-call hours
  // (AU-RESEARCH) apply to RESEARCH only, its telemarketing hours to the rest.
  std::vector<int> purposes;
};

// Whether the rule applies to calls of `purpose` (UNSPECIFIED reads as
// TELEMARKETING, as a dial's unset purpose does).
bool AppliesToPurpose(const CallingHoursRule& rule, int purpose);

// The holiday codes a rule may name besides "MM-DD" dates.
inline constexpr const char* kComputedHolidays[] = {
    "MLK", "MEMORIAL", "LABOR", "THANKSGIVING", "GOOD_FRIDAY", "EASTER_SATURDAY", "EASTER_MONDAY"};

// Easter Sunday of a Gregorian year (anonymous Gregorian algorithm).
absl::CivilDay EasterSunday(int64_t year);

// Parses the preset table (services/compliance/data/calling_hours.tsv):
// id, jurisdiction, seven day columns ("08:00-21:00", "-" for none,
// several windows joined by ","), holidays (","-joined or "-"), source, and
// optionally the day it takes effect ("YYYY-MM-DD", "-" or absent: always)
// and the purposes it applies to (","-joined CallPurpose names without
// their prefix, "RESEARCH"; "*", "-" or absent: every purpose).
// INVALID_ARGUMENT with the line for any malformed entry, including windows
// that end before they start.
absl::StatusOr<std::vector<CallingHoursRule>> ParseCallingHours(absl::string_view tsv);

// One rule from its 11 or 12 columns (as in the table); `where` names it in errors
// ("line 12", "rule_set.custom_calling_hours[0]"). Also refuses overlapping
// windows, unknown holidays and malformed jurisdictions.
absl::StatusOr<CallingHoursRule> ParseCallingHoursRule(const std::vector<absl::string_view>& cols,
                                                       absl::string_view where);

// Rules that apply to a callee: the country-wide rules of `country` and the
// regional rules of every region in `regions` (the contact's state and the
// area code's presumed state: "strictest wins", so both apply).
// Only rules for `purpose` (AppliesToPurpose; the default, UNSPECIFIED,
// reads as TELEMARKETING).
std::vector<const CallingHoursRule*> ApplicableRules(const std::vector<CallingHoursRule>& rules,
                                                     absl::string_view country,
                                                     const std::vector<std::string>& regions,
                                                     int purpose = 0);

struct WindowDecision {
  bool allowed = false;
  // When not allowed: the earliest instant at which every zone and rule
  // allows the call (InfiniteFuture if none within the search horizon).
  absl::Time next_allowed = absl::InfiniteFuture();
  // Reason codes, e.g. "OUTSIDE_CALLING_HOURS:US-FL@America/New_York",
  // "HOLIDAY:US-AL@America/Chicago" (a listed holiday), "DAY_BANNED:US-AL@..."
  // (a weekday with no calling at all, e.g. Sunday).
  std::vector<std::string> reasons;
};

// Allowed only if allowed in every (zone, rule) pair: when the callee's zone
// is ambiguous, the most restrictive combination wins. No zones at all is
// refused (reason TIME_ZONE_UNKNOWN): compliance is fail-closed.
WindowDecision CheckCallingWindow(const std::vector<absl::TimeZone>& zones,
                                  const std::vector<const CallingHoursRule*>& rules, absl::Time t,
                                  absl::Duration horizon = absl::Hours(24 * 14));

// True when `day` is one of the rule's holidays and the rule is in effect.
bool IsHoliday(const CallingHoursRule& rule, absl::CivilDay day);

// True when the rule is in effect on `day` (see effective_from).
bool InEffect(const CallingHoursRule& rule, absl::CivilDay day);

}  // namespace dialgrid::compliance
