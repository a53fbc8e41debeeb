#include "services/common/core/log.h"

#include <cstdio>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace dialgrid {
namespace {

LogLevel g_min_level = LogLevel::kInfo;

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
  }
  return "info";
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsNumberSeparator(char c) {
  return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '+';
}

}  // namespace

void SetMinLogLevel(LogLevel level) { g_min_level = level; }

std::string MaskPhoneNumbers(absl::string_view text) {
  std::string out(text);
  size_t i = 0;
  while (i < out.size()) {
    if (!IsDigit(out[i])) {
      ++i;
      continue;
    }
    // Extend over digits and separators; the span ends at its last digit.
    size_t j = i, last_digit = i;
    int digits = 0;
    while (j < out.size() && (IsDigit(out[j]) || IsNumberSeparator(out[j]))) {
      if (IsDigit(out[j])) {
        ++digits;
        last_digit = j;
      }
      ++j;
    }
    // Letters around the digits do not make them less of a phone number
    // ("+1415555012a", "tel4155550123"), so ids with long digit runs are
    // masked too: leaking a number is worse than a partly masked id.
    if (digits >= 7) {
      int to_mask = digits - 2;
      for (size_t k = i; k <= last_digit && to_mask > 0; ++k) {
        if (IsDigit(out[k])) {
          out[k] = '*';
          --to_mask;
        }
      }
    }
    i = last_digit + 1;
  }
  return out;
}

std::string JsonEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  for (unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  return out;
}

void Log(LogLevel level, absl::string_view component, absl::string_view message,
         std::initializer_list<LogField> fields) {
  if (level < g_min_level) return;
  std::string line = absl::StrCat(
      "{\"ts\":\"", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
      "\",\"level\":\"", LevelName(level), "\",\"component\":\"", JsonEscape(component),
      "\",\"msg\":\"", JsonEscape(MaskPhoneNumbers(message)), "\"");
  for (const LogField& f : fields) {
    if (f.quoted) {
      absl::StrAppend(&line, ",\"", JsonEscape(f.key), "\":\"",
                      JsonEscape(MaskPhoneNumbers(f.value)), "\"");
    } else {
      absl::StrAppend(&line, ",\"", JsonEscape(f.key), "\":", f.value);
    }
  }
  line += "}\n";
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace dialgrid
