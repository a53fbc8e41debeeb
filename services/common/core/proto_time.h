#pragma once

// Times, durations and calendar dates between Abseil and the API's messages
// (google.protobuf.Timestamp / Duration, dialgrid.type.v1.Date), the same in
// every service.

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "dialgrid/type/v1/date.pb.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace dialgrid {

// Nanosecond precision; infinite times are clamped to the Timestamp range.
google::protobuf::Timestamp ToTimestamp(absl::Time t);
absl::Time FromTimestamp(const google::protobuf::Timestamp& t);
google::protobuf::Duration ToDurationProto(absl::Duration d);
absl::Duration FromDurationProto(const google::protobuf::Duration& d);

// The request's date as a civil day, or INVALID_ARGUMENT INVALID_DATE
// naming `field` when it is not a calendar date (year 1-9999).
absl::StatusOr<absl::CivilDay> DayOf(absl::string_view field, const type::v1::Date& date);
type::v1::Date DateOf(absl::CivilDay day);

}  // namespace dialgrid
