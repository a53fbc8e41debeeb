#pragma once

#include <initializer_list>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace dialgrid {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// One structured field of a log line.
struct LogField {
  LogField(absl::string_view k, absl::string_view v) : key(k), value(v), quoted(true) {}
  LogField(absl::string_view k, const std::string& v) : key(k), value(v), quoted(true) {}
  LogField(absl::string_view k, const char* v) : key(k), value(v), quoted(true) {}
  LogField(absl::string_view k, long long v) : key(k), value(std::to_string(v)), quoted(false) {}
  LogField(absl::string_view k, int v) : key(k), value(std::to_string(v)), quoted(false) {}
  LogField(absl::string_view k, double v) : key(k), value(std::to_string(v)), quoted(false) {}
  std::string key;
  std::string value;
  bool quoted;
};

// Writes one JSON line to stderr: {"ts":..,"level":..,"component":..,"msg":..,<fields>}.
// Every string value passes through MaskPhoneNumbers first.
void Log(LogLevel level, absl::string_view component, absl::string_view message,
         std::initializer_list<LogField> fields = {});

// Lines below this level are dropped (default kInfo).
void SetMinLogLevel(LogLevel level);

// Replaces every run of 7 or more digits (with the separators + - . ( ) and
// spaces inside a number) by '*' except its last two digits, so phone numbers
// never reach logs: "+1 (415) 555-0123" -> "+* (***) ***-**23". Letters
// next to the run do not stop it: "+1415555012a" -> "+********12a", and ids
// with 7 or more digits in a row are masked the same way. Linear time.
std::string MaskPhoneNumbers(absl::string_view text);

// JSON string escaping (without the surrounding quotes).
std::string JsonEscape(absl::string_view text);

}  // namespace dialgrid
