#include "tools/dialgridctl/ctl_import.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "tools/dialgridctl/ctl_output.h"

namespace dialgrid::ctl {

absl::StatusOr<std::vector<std::string>> CsvHeader(absl::string_view text) {
  if (absl::StartsWith(text, "\xEF\xBB\xBF")) text.remove_prefix(3);
  std::vector<std::string> out;
  std::string cell;
  bool quoted = false, ended = false;
  size_t i = 0;
  for (; i < text.size(); ++i) {
    char ch = text[i];
    if (quoted) {
      if (ch == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          cell += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        cell += ch;
      }
      continue;
    }
    if (ch == '"') {
      quoted = true;
    } else if (ch == ',') {
      out.push_back(std::string(absl::StripAsciiWhitespace(cell)));
      cell.clear();
    } else if (ch == '\n' || ch == '\r') {
      ended = true;
      break;
    } else {
      cell += ch;
    }
  }
  if (quoted) return UsageError("the CSV header row has an unclosed quote");
  (void)ended;
  out.push_back(std::string(absl::StripAsciiWhitespace(cell)));
  if (out.size() == 1 && out[0].empty()) return UsageError("the file has no header row");
  return out;
}

namespace {
std::string Norm(absl::string_view s) {
  return absl::StrReplaceAll(absl::AsciiStrToLower(absl::StripAsciiWhitespace(s)),
                             {{"-", "_"}, {" ", "_"}});
}
}  // namespace

contacts::v1::ColumnMapping GuessMapping(const std::vector<std::string>& header, bool attributes) {
  contacts::v1::ColumnMapping m;
  for (const std::string& col : header) {
    std::string n = Norm(col);
    if ((n == "external_id" || n == "id" || n == "externalid") && m.external_id().empty()) {
      m.set_external_id(col);
    } else if ((n == "first_name" || n == "firstname") && m.first_name().empty()) {
      m.set_first_name(col);
    } else if ((n == "last_name" || n == "lastname") && m.last_name().empty()) {
      m.set_last_name(col);
    } else if (absl::StartsWith(n, "phone") || absl::EndsWith(n, "_phone") || n == "mobile" ||
               n == "number" || n == "phone_number") {
      m.add_phones(col);
    } else if ((n == "time_zone" || n == "timezone") && m.time_zone().empty()) {
      m.set_time_zone(col);
    } else if ((n == "postal_code" || n == "zip" || n == "zip_code" || n == "postcode") &&
               m.postal_code().empty()) {
      m.set_postal_code(col);
    } else if ((n == "region" || n == "state" || n == "province") && m.region().empty()) {
      m.set_region(col);
    } else if (n == "country" && m.country().empty()) {
      m.set_country(col);
    } else if (n == "priority" && m.priority().empty()) {
      m.set_priority(col);
    } else if (attributes && !col.empty()) {
      (*m.mutable_attributes())[col] = col;
    }
  }
  return m;
}

absl::StatusOr<contacts::v1::ColumnMapping> ParseMapping(const std::vector<std::string>& maps) {
  contacts::v1::ColumnMapping m;
  for (const std::string& spec : maps) {
    size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
      return UsageError(absl::StrCat("--map \"", spec, "\": expected field=column"));
    }
    std::string field = Norm(spec.substr(0, eq));
    std::string col = spec.substr(eq + 1);
    if (field == "external_id")
      m.set_external_id(col);
    else if (field == "first_name")
      m.set_first_name(col);
    else if (field == "last_name")
      m.set_last_name(col);
    else if (field == "phone" || field == "phones")
      m.add_phones(col);
    else if (field == "time_zone")
      m.set_time_zone(col);
    else if (field == "postal_code")
      m.set_postal_code(col);
    else if (field == "region")
      m.set_region(col);
    else if (field == "country")
      m.set_country(col);
    else if (field == "priority")
      m.set_priority(col);
    else if (absl::StartsWith(field, "attributes.") && field.size() > 11) {
      (*m.mutable_attributes())[spec.substr(11, eq - 11)] = col;
    } else {
      return UsageError(absl::StrCat(
          "--map \"", spec,
          "\": the field is one of external_id, first_name, last_name, phone, time_zone, "
          "postal_code, region, country, priority, attributes.<key>"));
    }
  }
  return m;
}

std::string DefaultImportId(absl::string_view list, absl::string_view bytes) {
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&](absl::string_view s) {
    for (unsigned char ch : s) {
      h ^= ch;
      h *= 1099511628211ULL;
    }
  };
  mix(list);
  mix(absl::string_view("\0", 1));
  mix(bytes);
  return absl::StrFormat("ctl-%016x", h);
}

}  // namespace dialgrid::ctl
