#include "services/reporting/domain/report_range.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "services/common/core/errors.h"

namespace dialgrid::reporting {
namespace {

// Floor division (times before 1970 are refused anyway, but stay exact).
int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

absl::StatusOr<int64_t> WholeHour(absl::string_view field, const google::protobuf::Timestamp* t) {
  if (t == nullptr) {
    return InvalidField(field, "REPORT_RANGE_INVALID", "start_time and end_time are required");
  }
  if (t->seconds() <= 0 || t->nanos() != 0 || t->seconds() % 3600 != 0) {
    return InvalidField(field, "REPORT_RANGE_INVALID",
                        "must be a whole UTC hour (minutes, seconds and nanos 0) after 1970");
  }
  return t->seconds() / 3600;
}

}  // namespace

int64_t HourOfMillis(int64_t epoch_ms) { return FloorDiv(epoch_ms, kMillisPerHour); }
int64_t DayOfHour(int64_t hour) { return FloorDiv(hour, kHoursPerDay); }
absl::CivilDay CivilDayOfHour(int64_t hour) { return absl::CivilDay(1970, 1, 1) + DayOfHour(hour); }

absl::StatusOr<HourRange> ParseRange(const google::protobuf::Timestamp* start,
                                     const google::protobuf::Timestamp* end, int64_t max_hours) {
  absl::StatusOr<int64_t> first = WholeHour("start_time", start);
  if (!first.ok()) return first.status();
  absl::StatusOr<int64_t> last = WholeHour("end_time", end);
  if (!last.ok()) return last.status();
  if (*last <= *first) {
    return InvalidField("end_time", "REPORT_RANGE_INVALID", "must be after start_time");
  }
  if (*last - *first > max_hours) {
    return InvalidField("end_time", "REPORT_RANGE_TOO_LONG",
                        absl::StrCat("the range is at most ", max_hours / kHoursPerDay, " days"));
  }
  return HourRange{*first, *last};
}

std::vector<DaySpan> SplitByDay(const HourRange& range) {
  std::vector<DaySpan> out;
  int64_t h = range.first;
  while (h < range.end) {
    const int64_t day = DayOfHour(h);
    const int64_t day_end = (day + 1) * kHoursPerDay;
    DaySpan s;
    s.day = day;
    s.civil = CivilDayOfHour(h);
    s.first_hour = h;
    s.end_hour = std::min(day_end, range.end);
    out.push_back(s);
    h = s.end_hour;
  }
  return out;
}

absl::StatusOr<std::vector<DaySpan>> SplitByZoneDay(const HourRange& range,
                                                    absl::string_view zone) {
  if (zone.empty() || zone == "UTC") return SplitByDay(range);
  absl::TimeZone tz;
  if (zone.size() > 64 || !absl::LoadTimeZone(std::string(zone), &tz)) {
    return InvalidField("time_zone", "UNKNOWN_TIME_ZONE", "not an IANA time zone");
  }
  std::vector<DaySpan> out;
  for (int64_t h = range.first; h < range.end; ++h) {
    const absl::Time t = absl::FromUnixSeconds(h * 3600);
    const absl::TimeZone::CivilInfo info = tz.At(t);
    if (info.offset % 3600 != 0) {
      return InvalidField("time_zone", "TIME_ZONE_NOT_WHOLE_HOURS",
                          "the zone's offset is not whole hours: its days cannot be cut from "
                          "hour buckets");
    }
    const absl::CivilDay day(info.cs);
    if (out.empty() || out.back().civil != day) {
      DaySpan s;
      s.civil = day;
      s.day = DayOfHour(h);
      s.first_hour = h;
      s.utc_day = false;
      out.push_back(s);
    }
    out.back().end_hour = h + 1;
  }
  return out;
}

}  // namespace dialgrid::reporting
