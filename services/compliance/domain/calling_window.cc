#include "services/compliance/domain/calling_window.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "dialgrid/type/v1/call_purpose.pb.h"
#include "services/common/core/errors.h"

namespace dialgrid::compliance {
namespace {

// An input echoed in an error message, cut to a readable length.
std::string Truncated(absl::string_view s) {
  return s.size() <= 64 ? std::string(s) : absl::StrCat(s.substr(0, 64), "...");
}

int WeekdayIndex(absl::CivilDay day) {
  switch (absl::GetWeekday(day)) {
    case absl::Weekday::monday: return 0;
    case absl::Weekday::tuesday: return 1;
    case absl::Weekday::wednesday: return 2;
    case absl::Weekday::thursday: return 3;
    case absl::Weekday::friday: return 4;
    case absl::Weekday::saturday: return 5;
    case absl::Weekday::sunday: return 6;
  }
  return 0;
}

// n-th (1-based) given weekday of a month, or the last one for n = -1.
absl::CivilDay NthWeekday(int64_t year, int month, absl::Weekday wd, int n) {
  if (n > 0) {
    absl::CivilDay d(year, month, 1);
    while (absl::GetWeekday(d) != wd) ++d;
    return d + 7 * (n - 1);
  }
  absl::CivilDay d = absl::CivilDay(absl::CivilMonth(year, month) + 1) - 1;
  while (absl::GetWeekday(d) != wd) --d;
  return d;
}

absl::StatusOr<int> ParseClock(absl::string_view s, absl::string_view where) {
  std::vector<absl::string_view> hm = absl::StrSplit(s, ':');
  int h = 0, m = 0;
  if (hm.size() != 2 || !absl::SimpleAtoi(hm[0], &h) || !absl::SimpleAtoi(hm[1], &m) || h < 0 ||
      h > 24 || m < 0 || m > 59 || (h == 24 && m != 0)) {
    return InvalidField("calling_hours", "INVALID_TIME",
                        absl::StrCat(where, ": \"", s, "\" is not HH:MM"));
  }
  return h * 60 + m;
}

// The instant a local civil minute begins; a skipped minute (spring forward)
// begins at the transition, a repeated one (fall back) at its later
// occurrence, so a window never opens early.
absl::Time StartOf(absl::CivilMinute m, const absl::TimeZone& tz) {
  absl::TimeZone::TimeInfo ti = tz.At(m);
  switch (ti.kind) {
    case absl::TimeZone::TimeInfo::SKIPPED: return ti.trans;
    case absl::TimeZone::TimeInfo::REPEATED: return ti.post;
    default: return ti.pre;
  }
}

// Earliest instant >= t allowed by one rule in one zone (InfiniteFuture if
// none before `limit`).
absl::Time NextAllowed(const CallingHoursRule& rule, const absl::TimeZone& tz, absl::Time t,
                       absl::Time limit) {
  absl::CivilMinute now = absl::ToCivilMinute(t, tz);
  absl::CivilDay day = absl::CivilDay(now);
  int minute_of_day = static_cast<int>(now.hour()) * 60 + static_cast<int>(now.minute());
  for (int i = 0; i < 400; ++i, ++day) {
    if (!InEffect(rule, day)) {  // the law is not in force yet: any time
      if (i == 0) return t;
      return std::max(t, StartOf(absl::CivilMinute(day), tz));
    }
    if (!IsHoliday(rule, day)) {
      for (const LocalWindow& w : rule.by_weekday[static_cast<size_t>(WeekdayIndex(day))]) {
        if (i == 0 && minute_of_day >= w.end_minute) continue;
        if (i == 0 && minute_of_day >= w.start_minute) return t;  // inside now
        absl::Time start = StartOf(absl::CivilMinute(day) + w.start_minute, tz);
        if (start >= t) return start;
        return t;  // the skipped hour made the window open before `now`
      }
    }
    if (StartOf(absl::CivilMinute(day + 1), tz) > limit) break;
  }
  return absl::InfiniteFuture();
}

}  // namespace

absl::CivilDay EasterSunday(int64_t y) {
  int64_t a = y % 19, b = y / 100, c = y % 100, d = b / 4, e = b % 4, f = (b + 8) / 25,
          g = (b - f + 1) / 3, h = (19 * a + b - d - g + 15) % 30, i = c / 4, k = c % 4,
          l = (32 + 2 * e + 2 * i - h - k) % 7, m = (a + 11 * h + 22 * l) / 451;
  int month = static_cast<int>((h + l - 7 * m + 114) / 31);
  int dom = static_cast<int>((h + l - 7 * m + 114) % 31 + 1);
  return absl::CivilDay(y, month, dom);
}

bool AppliesToPurpose(const CallingHoursRule& rule, int purpose) {
  if (rule.purposes.empty()) return true;
  if (purpose == type::v1::CALL_PURPOSE_UNSPECIFIED) purpose = type::v1::CALL_PURPOSE_TELEMARKETING;
  return std::find(rule.purposes.begin(), rule.purposes.end(), purpose) != rule.purposes.end();
}

bool InEffect(const CallingHoursRule& rule, absl::CivilDay day) {
  return !rule.effective_from.has_value() || day >= *rule.effective_from;
}

bool IsHoliday(const CallingHoursRule& rule, absl::CivilDay day) {
  if (!InEffect(rule, day)) return false;
  for (const std::string& h : rule.holidays) {
    int64_t y = day.year();
    absl::CivilDay hd;
    if (h == "GOOD_FRIDAY") {
      hd = EasterSunday(y) - 2;
    } else if (h == "EASTER_SATURDAY") {
      hd = EasterSunday(y) - 1;
    } else if (h == "EASTER_MONDAY") {
      hd = EasterSunday(y) + 1;
    } else if (h == "MLK") {
      hd = NthWeekday(y, 1, absl::Weekday::monday, 3);
    } else if (h == "MEMORIAL") {
      hd = NthWeekday(y, 5, absl::Weekday::monday, -1);
    } else if (h == "LABOR") {
      hd = NthWeekday(y, 9, absl::Weekday::monday, 1);
    } else if (h == "THANKSGIVING") {
      hd = NthWeekday(y, 11, absl::Weekday::thursday, 4);
    } else {
      int mo = 0, d = 0;
      std::vector<absl::string_view> md = absl::StrSplit(h, '-');
      if (md.size() != 2 || !absl::SimpleAtoi(md[0], &mo) || !absl::SimpleAtoi(md[1], &d)) continue;
      hd = absl::CivilDay(y, mo, d);
    }
    if (hd == day) return true;
  }
  return false;
}

namespace {

bool ValidHoliday(absl::string_view h) {
  for (const char* code : kComputedHolidays) {
    if (h == code) return true;
  }
  std::vector<absl::string_view> md = absl::StrSplit(h, '-');
  int mo = 0, d = 0;
  if (md.size() != 2 || md[0].size() != 2 || md[1].size() != 2 || !absl::SimpleAtoi(md[0], &mo) ||
      !absl::SimpleAtoi(md[1], &d)) {
    return false;
  }
  // Any year: February 29 is a valid holiday date (it occurs in leap years).
  return mo >= 1 && mo <= 12 && d >= 1 && absl::CivilDay(2024, mo, d).day() == d;
}

}  // namespace

absl::StatusOr<CallingHoursRule> ParseCallingHoursRule(const std::vector<absl::string_view>& cols,
                                                       absl::string_view where) {
  if (cols.size() < 11) {
    return InvalidField("calling_hours", "MALFORMED_RULE",
                        absl::StrCat(where, ": expected 11 columns (id, jurisdiction, 7 days, "
                                            "holidays, source)"));
  }
  CallingHoursRule r;
  r.id = std::string(cols[0]);
  r.jurisdiction = std::string(cols[1]);
  if (r.id.empty() || r.id.size() > 64) {
    return InvalidField("calling_hours", "MALFORMED_RULE", absl::StrCat(where, ": id must be 1-64 characters"));
  }
  std::vector<absl::string_view> jur = absl::StrSplit(r.jurisdiction, '-');
  auto upper_alnum = [](absl::string_view part, bool letters_only) {
    for (char ch : part) {
      bool ok = (ch >= 'A' && ch <= 'Z') || (!letters_only && ch >= '0' && ch <= '9');
      if (!ok) return false;
    }
    return true;
  };
  // ISO 3166-1 alpha-2, optionally an ISO 3166-2 subdivision: "US", "US-FL", "JP-13".
  if (jur.size() > 2 || jur[0].size() != 2 || !upper_alnum(jur[0], true) ||
      (jur.size() == 2 && (jur[1].empty() || jur[1].size() > 3 || !upper_alnum(jur[1], false)))) {
    return InvalidField("calling_hours", "MALFORMED_JURISDICTION",
                        absl::StrCat(where, ": jurisdiction \"", r.jurisdiction,
                                     "\" is not a country (\"US\") or country-region (\"US-FL\")"));
  }
  for (size_t d = 0; d < 7; ++d) {
    absl::string_view spec = cols[2 + d];
    if (spec == "-") continue;
    for (absl::string_view win : absl::StrSplit(spec, ',')) {
      std::vector<absl::string_view> se = absl::StrSplit(win, '-');
      if (se.size() != 2) {
        return InvalidField("calling_hours", "MALFORMED_WINDOW",
                            absl::StrCat(where, ": \"", win, "\" is not HH:MM-HH:MM"));
      }
      auto start = ParseClock(se[0], where);
      auto end = ParseClock(se[1], where);
      if (!start.ok()) return start.status();
      if (!end.ok()) return end.status();
      if (*end <= *start) {
        return InvalidField("calling_hours", "WINDOW_ENDS_BEFORE_START",
                            absl::StrCat(where, ": window ", win, " ends before it starts"));
      }
      r.by_weekday[d].push_back({*start, *end});
    }
    std::sort(r.by_weekday[d].begin(), r.by_weekday[d].end(),
              [](const LocalWindow& a, const LocalWindow& b) {
                return a.start_minute < b.start_minute;
              });
    for (size_t i = 1; i < r.by_weekday[d].size(); ++i) {
      if (r.by_weekday[d][i].start_minute < r.by_weekday[d][i - 1].end_minute) {
        return InvalidField("calling_hours", "OVERLAPPING_WINDOWS",
                            absl::StrCat(where, ": windows of day ", d + 1, " overlap"));
      }
    }
  }
  if (cols[9] != "-" && !cols[9].empty()) {
    for (absl::string_view h : absl::StrSplit(cols[9], ',')) {
      if (!ValidHoliday(h)) {
        return InvalidField("calling_hours", "MALFORMED_HOLIDAY",
                            absl::StrCat(where, ": holiday \"", Truncated(h),
                                         "\" is not MM-DD, MLK, MEMORIAL, LABOR, THANKSGIVING, "
                                         "GOOD_FRIDAY, EASTER_SATURDAY or EASTER_MONDAY"));
      }
      r.holidays.emplace_back(h);
    }
  }
  r.source = std::string(cols[10]);
  if (cols.size() > 11 && cols[11] != "-" && !cols[11].empty()) {
    absl::CivilDay from;
    if (cols[11].size() != 10 || !absl::ParseCivilTime(cols[11], &from)) {
      return InvalidField("calling_hours", "INVALID_DATE",
                          absl::StrCat(where, ": effective date \"", Truncated(cols[11]),
                                       "\" is not YYYY-MM-DD"));
    }
    r.effective_from = from;
  }
  if (cols.size() > 12 && cols[12] != "-" && cols[12] != "*" && !cols[12].empty()) {
    for (absl::string_view p : absl::StrSplit(cols[12], ',')) {
      type::v1::CallPurpose value;
      if (!type::v1::CallPurpose_Parse(absl::StrCat("CALL_PURPOSE_", p), &value) ||
          value == type::v1::CALL_PURPOSE_UNSPECIFIED) {
        return InvalidField("calling_hours", "UNKNOWN_ENUM_VALUE",
                            absl::StrCat(where, ": purpose \"", Truncated(p),
                                         "\" is not a defined call purpose"));
      }
      if (std::find(r.purposes.begin(), r.purposes.end(), value) == r.purposes.end()) {
        r.purposes.push_back(value);
      }
    }
  }
  return r;
}

absl::StatusOr<std::vector<CallingHoursRule>> ParseCallingHours(absl::string_view tsv) {
  std::vector<CallingHoursRule> rules;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(tsv, '\n')) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    std::vector<absl::string_view> cols = absl::StrSplit(line, '\t');
    auto rule = ParseCallingHoursRule(cols, absl::StrCat("line ", line_no));
    if (!rule.ok()) return rule.status();
    rules.push_back(*std::move(rule));
  }
  return rules;
}

std::vector<const CallingHoursRule*> ApplicableRules(const std::vector<CallingHoursRule>& rules,
                                                     absl::string_view country,
                                                     const std::vector<std::string>& regions,
                                                     int purpose) {
  std::vector<const CallingHoursRule*> out;
  for (const auto& r : rules) {
    if (!AppliesToPurpose(r, purpose)) continue;
    bool match = r.jurisdiction == country;
    for (const auto& region : regions) {
      match = match || r.jurisdiction == absl::StrCat(country, "-", region);
    }
    if (match) out.push_back(&r);
  }
  return out;
}

WindowDecision CheckCallingWindow(const std::vector<absl::TimeZone>& zones,
                                  const std::vector<const CallingHoursRule*>& rules, absl::Time t,
                                  absl::Duration horizon) {
  WindowDecision d;
  if (zones.empty()) {
    d.reasons.push_back("TIME_ZONE_UNKNOWN");
    return d;
  }
  if (rules.empty()) {
    d.reasons.push_back("NO_CALLING_HOURS_RULE");  // fail closed: nothing says when is legal
    return d;
  }
  absl::Time limit = t + horizon;
  for (const auto& tz : zones) {
    for (const CallingHoursRule* r : rules) {
      if (NextAllowed(*r, tz, t, limit) != t) {
        absl::CivilDay today = absl::ToCivilDay(t, tz);
        const char* code = "OUTSIDE_CALLING_HOURS:";
        if (IsHoliday(*r, today)) {
          code = "HOLIDAY:";
        } else if (r->by_weekday[static_cast<size_t>(WeekdayIndex(today))].empty()) {
          code = "DAY_BANNED:";  // no calling at all on this weekday (e.g. Sunday)
        }
        d.reasons.push_back(absl::StrCat(code, r->id, "@", tz.name()));
      }
    }
  }
  d.allowed = d.reasons.empty();
  if (d.allowed) {
    d.next_allowed = t;
    return d;
  }
  // The earliest instant every pair allows: move to the latest "next" of any
  // pair until all agree (a fixed point), within the horizon.
  absl::Time candidate = t;
  for (int round = 0; round < 64; ++round) {
    absl::Time latest = candidate;
    for (const auto& tz : zones) {
      for (const CallingHoursRule* r : rules) {
        latest = std::max(latest, NextAllowed(*r, tz, candidate, limit));
      }
    }
    if (latest == candidate) {
      d.next_allowed = candidate;
      return d;
    }
    if (latest > limit) break;
    candidate = latest;
  }
  d.next_allowed = absl::InfiniteFuture();
  return d;
}

}  // namespace dialgrid::compliance
