#include "tools/dialgridctl/ctl_output.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"
#include "services/common/core/errors.h"

namespace dialgrid::ctl {

namespace {
constexpr absl::string_view kUsagePayload = "dialgridctl.usage";

std::string CodeName(absl::StatusCode code) {
  return absl::AsciiStrToUpper(absl::StatusCodeToString(code));
}

// "CampaignState" -> "CAMPAIGN_STATE_".
std::string EnumPrefix(const google::protobuf::EnumDescriptor* e) {
  std::string out;
  for (char ch : e->name()) {
    if (std::isupper(static_cast<unsigned char>(ch)) && !out.empty()) out += '_';
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  }
  return out + "_";
}

// A JSON string literal.
std::string Quote(absl::string_view s) {
  std::string out = "\"";
  for (unsigned char ch : s) {
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (ch < 0x20) {
          out += absl::StrFormat("\\u%04x", ch);
        } else {
          out += static_cast<char>(ch);
        }
    }
  }
  return out + "\"";
}
}  // namespace

absl::Status UsageError(absl::string_view message) {
  absl::Status st = absl::InvalidArgumentError(message);
  st.SetPayload(kUsagePayload, absl::Cord("1"));
  return st;
}

bool IsUsageError(const absl::Status& status) {
  return status.GetPayload(kUsagePayload).has_value();
}

int ExitCodeOf(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  if (IsUsageError(status)) return kExitUsage;
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange: return kExitInvalidArgument;
    case absl::StatusCode::kNotFound: return kExitNotFound;
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated: return kExitDenied;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded: return kExitUnavailable;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kAlreadyExists: return kExitConflict;
    case absl::StatusCode::kResourceExhausted: return kExitExhausted;
    default: return kExitOther;
  }
}

void PrintError(std::ostream& err, const absl::Status& status, bool json) {
  std::string reason = ReasonOf(status);
  std::string field = FieldOf(status);
  std::map<std::string, std::string> metadata;
  status.ForEachPayload([&](absl::string_view key, const absl::Cord& value) {
    if (absl::StartsWith(key, kMetadataPayloadPrefix)) {
      metadata[std::string(key.substr(kMetadataPayloadPrefix.size()))] = std::string(value);
    }
  });
  bool usage = IsUsageError(status);
  if (json) {
    std::vector<std::string> meta;
    for (const auto& [k, v] : metadata) meta.push_back(absl::StrCat(Quote(k), ":", Quote(v)));
    err << "{\"code\":" << Quote(usage ? "USAGE" : CodeName(status.code()))
        << ",\"reason\":" << Quote(reason) << ",\"message\":" << Quote(status.message())
        << ",\"field\":" << Quote(field) << ",\"metadata\":{" << absl::StrJoin(meta, ",")
        << "},\"exit_code\":" << ExitCodeOf(status) << "}\n";
    return;
  }
  if (usage) {
    err << "dialgridctl: " << status.message() << "\n";
    return;
  }
  err << "dialgridctl: " << CodeName(status.code());
  if (!reason.empty() && reason != CodeName(status.code())) err << " " << reason;
  err << ": " << status.message() << "\n";
  if (!field.empty()) err << "  field: " << field << "\n";
  for (const auto& [k, v] : metadata) err << "  " << k << ": " << v << "\n";
  if (status.code() == absl::StatusCode::kUnavailable && metadata.count("peer") != 0) {
    err << "  (is the " << metadata["peer"] << " service running at that address? see --"
        << metadata["peer"] << ", --run-dir)\n";
  }
}

std::string ToJson(const google::protobuf::Message& message, bool one_line) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = !one_line;
  options.always_print_primitive_fields = true;
  options.always_print_enums_as_ints = false;
  std::string out;
  auto st = google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!st.ok()) return absl::StrCat("{\"error\":", Quote(st.ToString()), "}");
  if (!one_line && !out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

size_t DisplayWidth(absl::string_view text) {
  size_t n = 0;
  for (unsigned char ch : text) {
    if ((ch & 0xC0) != 0x80) ++n;
  }
  return n;
}

namespace {
std::string Pad(absl::string_view cell, size_t width) {
  std::string out(cell);
  size_t w = DisplayWidth(cell);
  if (w < width) out.append(width - w, ' ');
  return out;
}
}  // namespace

void Table::Print(std::ostream& out) const {
  std::vector<size_t> widths(headers_.size(), 0);
  for (size_t i = 0; i < headers_.size(); ++i) widths[i] = DisplayWidth(headers_[i]);
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], DisplayWidth(row[i]));
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (size_t i = 0; i < widths.size(); ++i) {
      std::string cell = i < cells.size() ? cells[i] : "";
      if (i + 1 == widths.size()) {
        s += cell;
      } else {
        s += Pad(cell, widths[i]) + "  ";
      }
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out << s << "\n";
  };
  line(headers_);
  for (const auto& row : rows_) line(row);
}

std::string FixedRow(const std::vector<std::string>& cells, const std::vector<int>& widths) {
  std::string s;
  for (size_t i = 0; i < cells.size(); ++i) {
    size_t w = i < widths.size() ? static_cast<size_t>(widths[i]) : 0;
    s += (i + 1 == cells.size()) ? cells[i] : Pad(cells[i], w) + "  ";
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

std::string ShortEnum(const google::protobuf::EnumDescriptor* e, int number) {
  const auto* v = e->FindValueByNumber(number);
  if (v == nullptr) return absl::StrCat("?", number);
  std::string prefix = EnumPrefix(e);
  if (absl::StartsWith(v->name(), prefix) && v->name().size() > prefix.size()) {
    return v->name().substr(prefix.size());
  }
  return v->name();
}

absl::StatusOr<int> ParseEnum(const google::protobuf::EnumDescriptor* e, absl::string_view text,
                              absl::string_view what) {
  std::string want =
      absl::StrReplaceAll(absl::AsciiStrToUpper(absl::StripAsciiWhitespace(text)), {{"-", "_"}});
  for (int i = 0; i < e->value_count(); ++i) {
    const auto* v = e->value(i);
    if (v->number() == 0) continue;
    if (v->name() == want || ShortEnum(e, v->number()) == want) return v->number();
  }
  return UsageError(absl::StrCat(what, ": \"", text, "\" is not one of ", EnumChoices(e)));
}

std::string EnumChoices(const google::protobuf::EnumDescriptor* e) {
  std::vector<std::string> names;
  for (int i = 0; i < e->value_count(); ++i) {
    if (e->value(i)->number() == 0) continue;
    names.push_back(absl::StrReplaceAll(absl::AsciiStrToLower(ShortEnum(e, e->value(i)->number())),
                                        {{"_", "-"}}));
  }
  return absl::StrJoin(names, ", ");
}

std::string FormatTime(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  absl::Time time = absl::FromUnixSeconds(t.seconds());
  return absl::FormatTime("%Y-%m-%d %H:%M:%S %Z", time, absl::LocalTimeZone());
}

std::string FormatDuration(const google::protobuf::Duration& d) {
  if (d.seconds() == 0 && d.nanos() == 0) return "-";
  return absl::FormatDuration(absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos()));
}

std::string FormatBytes(int64_t bytes) {
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  if (bytes < 1024 * 1024) return absl::StrFormat("%.1f KiB", bytes / 1024.0);
  if (bytes < int64_t{1024} * 1024 * 1024) return absl::StrFormat("%.1f MiB", bytes / 1048576.0);
  return absl::StrFormat("%.2f GiB", bytes / 1073741824.0);
}

std::string FormatPercent(double ratio) { return absl::StrFormat("%.2f%%", ratio * 100); }

std::string OrDash(absl::string_view text) { return text.empty() ? "-" : std::string(text); }

std::string LastSegment(absl::string_view name) {
  size_t slash = name.rfind('/');
  return std::string(slash == absl::string_view::npos ? name : name.substr(slash + 1));
}

}  // namespace dialgrid::ctl
