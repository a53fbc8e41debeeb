#include "services/common/server/request_checks.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "services/common/core/errors.h"

namespace dialgrid {
namespace {

using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Deeper than any request of ours; protobuf's parser stops at 100.
constexpr int kMaxDepth = 64;

absl::Status Undefined(const std::string& path, const EnumDescriptor& type, int value) {
  return InvalidField(path, "UNKNOWN_ENUM_VALUE",
                      absl::StrCat(path, ": ", value, " is not a defined ", type.name(),
                                   " value"));
}

// The limits of google/protobuf/duration.proto and timestamp.proto.
constexpr int64_t kMaxDurationSeconds = 315576000000;
constexpr int64_t kMinTimestampSeconds = -62135596800;  // 0001-01-01T00:00:00Z
constexpr int64_t kMaxTimestampSeconds = 253402300799;  // 9999-12-31T23:59:59Z

// seconds and nanos of a Duration or Timestamp message.
std::pair<int64_t, int32_t> SecondsNanos(const Message& m) {
  const google::protobuf::Descriptor* d = m.GetDescriptor();
  const Reflection* r = m.GetReflection();
  return {r->GetInt64(m, d->FindFieldByNumber(1)), r->GetInt32(m, d->FindFieldByNumber(2))};
}

absl::Status Walk(const Message& m, const std::string& prefix, int depth) {
  if (depth > kMaxDepth) {
    return InvalidField(prefix, "MESSAGE_TOO_DEEP", "the request nests messages too deeply");
  }
  const std::string& type_name = m.GetDescriptor()->full_name();
  if (type_name == "google.protobuf.Any") return absl::OkStatus();
  if (type_name == "google.protobuf.Duration") {
    auto [s, n] = SecondsNanos(m);
    if (s < -kMaxDurationSeconds || s > kMaxDurationSeconds || n <= -1000000000 ||
        n >= 1000000000 || (s > 0 && n < 0) || (s < 0 && n > 0)) {
      return InvalidField(prefix, "INVALID_DURATION",
                          absl::StrCat(prefix, " is not a valid duration (seconds and nanos of "
                                               "one sign, |nanos| < 1e9)"));
    }
    return absl::OkStatus();
  }
  if (type_name == "google.protobuf.Timestamp") {
    auto [s, n] = SecondsNanos(m);
    if (s < kMinTimestampSeconds || s > kMaxTimestampSeconds || n < 0 || n >= 1000000000) {
      return InvalidField(prefix, "INVALID_TIME",
                          absl::StrCat(prefix, " is not a valid time (0001-01-01 to 9999-12-31 "
                                               "UTC, 0 <= nanos < 1e9)"));
    }
    return absl::OkStatus();
  }
  const Reflection* r = m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(m, &fields);  // only the fields that are set
  for (const FieldDescriptor* f : fields) {
    std::string path = prefix.empty() ? f->name() : absl::StrCat(prefix, ".", f->name());
    if (f->type() == FieldDescriptor::TYPE_ENUM) {
      const EnumDescriptor& type = *f->enum_type();
      if (f->is_repeated()) {
        for (int i = 0, n = r->FieldSize(m, f); i < n; ++i) {
          int v = r->GetRepeatedEnumValue(m, f, i);
          if (type.FindValueByNumber(v) == nullptr) {
            return Undefined(absl::StrCat(path, "[", i, "]"), type, v);
          }
        }
      } else {
        int v = r->GetEnumValue(m, f);
        if (type.FindValueByNumber(v) == nullptr) return Undefined(path, type, v);
      }
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int i = 0, n = r->FieldSize(m, f); i < n; ++i) {
          absl::Status st = Walk(r->GetRepeatedMessage(m, f, i), absl::StrCat(path, "[", i, "]"),
                                 depth + 1);
          if (!st.ok()) return st;
        }
      } else {
        absl::Status st = Walk(r->GetMessage(m, f), path, depth + 1);
        if (!st.ok()) return st;
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckRequestValues(const google::protobuf::Message& request) {
  return Walk(request, "", 0);
}

}  // namespace dialgrid
