#include "services/common/core/proto_time.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/core/errors.h"

namespace dialgrid {

using google::protobuf::util::TimeUtil;

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  const absl::Time lo = absl::FromUnixSeconds(TimeUtil::kTimestampMinSeconds);
  const absl::Time hi = absl::FromUnixSeconds(TimeUtil::kTimestampMaxSeconds);
  return TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(std::clamp(t, lo, hi)));
}

absl::Time FromTimestamp(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

absl::Duration FromDurationProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

google::protobuf::Duration ToDurationProto(absl::Duration d) {
  return TimeUtil::NanosecondsToDuration(absl::ToInt64Nanoseconds(d));
}

absl::StatusOr<absl::CivilDay> DayOf(absl::string_view field, const type::v1::Date& date) {
  const absl::CivilDay day(date.year(), date.month(), date.day());
  // CivilDay normalizes (2026-02-30 -> 2026-03-02): a date is valid when it
  // comes back unchanged.
  if (date.year() < 1 || date.year() > 9999 || day.year() != date.year() ||
      day.month() != date.month() || day.day() != date.day()) {
    return InvalidField(field, "INVALID_DATE",
                        absl::StrCat(field,
                                     " is not a calendar date (year 1-9999, month 1-12, "
                                     "day of that month)"));
  }
  return day;
}

type::v1::Date DateOf(absl::CivilDay day) {
  type::v1::Date d;
  d.set_year(static_cast<int32_t>(day.year()));
  d.set_month(day.month());
  d.set_day(day.day());
  return d;
}

}  // namespace dialgrid
