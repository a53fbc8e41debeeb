#pragma once

// What dialgridctl prints and how it exits: aligned tables for people, JSON
// for scripts, errors on stderr with their reason, exit codes scripts can
// trust.

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"

namespace dialgrid::ctl {

// Exit codes (README.md, "Exit codes").
enum ExitCode : int {
  kExitOk = 0,
  kExitOther = 1,            // INTERNAL, UNKNOWN, UNIMPLEMENTED, DATA_LOSS, CANCELLED, ...
  kExitUsage = 2,            // bad command line, config, or local file
  kExitInvalidArgument = 3,  // INVALID_ARGUMENT, OUT_OF_RANGE
  kExitNotFound = 4,         // NOT_FOUND
  kExitDenied = 5,           // PERMISSION_DENIED, UNAUTHENTICATED
  kExitUnavailable = 6,      // UNAVAILABLE, DEADLINE_EXCEEDED: retry later
  kExitConflict = 7,         // FAILED_PRECONDITION, ABORTED, ALREADY_EXISTS: fix state first
  kExitExhausted = 8,        // RESOURCE_EXHAUSTED: a quota or rate limit
};

// A problem with the command line, configuration or a local file: exit 2.
// (A server's INVALID_ARGUMENT is exit 3; the payload tells them apart.)
absl::Status UsageError(absl::string_view message);
bool IsUsageError(const absl::Status& status);

int ExitCodeOf(const absl::Status& status);

// The error on `err`: "dialgridctl: <CODE> <REASON>: <message>" and, when
// the status names them, the field and metadata; with `json`, one JSON
// object {"code","reason","message","field","metadata"} instead.
void PrintError(std::ostream& err, const absl::Status& status, bool json);

// A message as proto3 JSON (lowerCamelCase names, enums by name, int64 as
// strings, fields at their default value included): indented, or on one
// line for streams (JSON lines).
std::string ToJson(const google::protobuf::Message& message, bool one_line = false);

// Rows of text printed in aligned columns, two spaces apart, headers first.
class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  size_t size() const { return rows_.size(); }
  void Print(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// Columns of fixed widths, for streams whose rows come one at a time: the
// header once, then each row padded to the widths (wider values push on).
std::string FixedRow(const std::vector<std::string>& cells, const std::vector<int>& widths);

// Width of UTF-8 text in code points.
size_t DisplayWidth(absl::string_view text);

// "CAMPAIGN_STATE_RUNNING" -> "RUNNING": the value's name without its
// enum's prefix (the enum's name in UPPER_SNAKE_CASE, or its first word).
std::string ShortEnum(const google::protobuf::EnumDescriptor* e, int number);
template <typename E>
std::string ShortEnumOf(E value) {
  return ShortEnum(google::protobuf::GetEnumDescriptor<E>(), static_cast<int>(value));
}
// "predictive", "PREDICTIVE", "DIALING_MODE_PREDICTIVE", "tenant-admin" ->
// the number; UsageError listing the choices otherwise (never UNSPECIFIED).
absl::StatusOr<int> ParseEnum(const google::protobuf::EnumDescriptor* e, absl::string_view text,
                              absl::string_view what);
// The choices as users type them: "preview, progressive, ...".
std::string EnumChoices(const google::protobuf::EnumDescriptor* e);

// "2026-01-01 12:00:05 UTC" in the local zone; "-" when unset.
std::string FormatTime(const google::protobuf::Timestamp& t);
std::string FormatDuration(const google::protobuf::Duration& d);
std::string FormatBytes(int64_t bytes);
std::string FormatPercent(double ratio);  // 0.0312 -> "3.12%"
std::string OrDash(absl::string_view text);
// The last segment of a resource name ("tenants/a/campaigns/x" -> "x").
std::string LastSegment(absl::string_view name);

}  // namespace dialgrid::ctl
