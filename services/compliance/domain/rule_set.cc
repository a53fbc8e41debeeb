#include "services/compliance/domain/rule_set.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "services/common/core/errors.h"
#include "services/common/core/status_macros.h"
#include "services/compliance/domain/jurisdiction.h"

namespace dialgrid::compliance {
namespace {

// A Duration whose seconds and nanos differ in sign, or nanos out of range
// (the protobuf definition forbids both; accepting them would shorten a
// window silently).
bool Malformed(const google::protobuf::Duration& d) {
  return (d.seconds() > 0 && d.nanos() < 0) || (d.seconds() < 0 && d.nanos() > 0) ||
         d.nanos() <= -1000000000 || d.nanos() >= 1000000000;
}

absl::Duration FromProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

absl::Status CompileCaps(const google::protobuf::RepeatedPtrField<v1::AttemptCap>& in,
                         const char* field, std::vector<AttemptCap>* out,
                         absl::Duration* longest) {
  if (in.size() > kMaxCaps) {
    return InvalidField(field, "TOO_MANY_CAPS", absl::StrCat("at most ", kMaxCaps, " caps"));
  }
  std::set<std::string> ids;
  for (int i = 0; i < in.size(); ++i) {
    const v1::AttemptCap& c = in[i];
    std::string f = absl::StrCat(field, "[", i, "]");
    if (Malformed(c.window())) {
      return InvalidField(f + ".window", "INVALID_CAP",
                          "window seconds and nanos must have the same sign");
    }
    absl::Duration w = FromProto(c.window());
    if (c.id().empty() || c.id().size() > 64 || !ids.insert(c.id()).second) {
      return InvalidField(f + ".id", "INVALID_CAP", "cap ids are 1-64 characters and unique");
    }
    if (c.max_attempts() < 1 || c.max_attempts() > 1000) {
      return InvalidField(f + ".max_attempts", "INVALID_CAP", "max_attempts must be 1-1000");
    }
    if (w < absl::Minutes(1) || w > kMaxCapWindow) {
      return InvalidField(f + ".window", "INVALID_CAP", "window must be 1 minute to 90 days");
    }
    if (!c.jurisdiction().empty() && !ValidJurisdiction(c.jurisdiction())) {
      return InvalidField(f + ".jurisdiction", "MALFORMED_JURISDICTION",
                          "a country (\"US\") or country-region (\"US-FL\")");
    }
    out->push_back({c.id(), c.max_attempts(), w, c.jurisdiction()});
    *longest = std::max(*longest, w);
  }
  return absl::OkStatus();
}

std::string FormatWindows(const std::vector<LocalWindow>& windows) {
  if (windows.empty()) return "-";
  std::vector<std::string> parts;
  for (const LocalWindow& w : windows) {
    parts.push_back(absl::StrFormat("%02d:%02d-%02d:%02d", w.start_minute / 60, w.start_minute % 60,
                                    w.end_minute / 60, w.end_minute % 60));
  }
  return absl::StrJoin(parts, ",");
}

}  // namespace

v1::CallingHoursRule PresetToProto(const CallingHoursRule& rule) {
  v1::CallingHoursRule p;
  p.set_id(rule.id);
  p.set_jurisdiction(rule.jurisdiction);
  for (const auto& day : rule.by_weekday) p.add_weekday_windows(FormatWindows(day));
  for (const auto& h : rule.holidays) p.add_holidays(h);
  p.set_source(rule.source);
  if (rule.effective_from.has_value()) {
    p.mutable_effective_date()->set_year(static_cast<int32_t>(rule.effective_from->year()));
    p.mutable_effective_date()->set_month(rule.effective_from->month());
    p.mutable_effective_date()->set_day(rule.effective_from->day());
  }
  for (int purpose : rule.purposes) p.add_purposes(static_cast<type::v1::CallPurpose>(purpose));
  return p;
}

absl::StatusOr<std::shared_ptr<const CompiledRuleSet>> CompileRuleSet(
    const std::string& tenant, const v1::RuleSet& rs, const std::vector<CallingHoursRule>& presets,
    const std::set<std::string>& known_registries) {
  auto out = std::make_shared<CompiledRuleSet>();
  out->tenant = tenant;
  out->version = rs.version();

  std::set<std::string> ids;
  if (rs.calling_hours_presets().empty()) {
    out->calling_rules = presets;
  } else {
    for (int i = 0; i < rs.calling_hours_presets_size(); ++i) {
      const std::string& id = rs.calling_hours_presets(i);
      auto it = std::find_if(presets.begin(), presets.end(),
                             [&](const CallingHoursRule& r) { return r.id == id; });
      if (it == presets.end()) {
        return InvalidField(absl::StrCat("rule_set.calling_hours_presets[", i, "]"), "UNKNOWN_PRESET",
                            absl::StrCat("no calling-hours preset \"", id,
                                         "\" (ListCallingHoursPresets lists them)"));
      }
      out->calling_rules.push_back(*it);
    }
  }
  for (const auto& r : out->calling_rules) ids.insert(r.id);

  if (rs.custom_calling_hours_size() > kMaxCustomRules) {
    return InvalidField("rule_set.custom_calling_hours", "TOO_MANY_RULES",
                        absl::StrCat("at most ", kMaxCustomRules, " custom rules"));
  }
  for (int i = 0; i < rs.custom_calling_hours_size(); ++i) {
    const v1::CallingHoursRule& c = rs.custom_calling_hours(i);
    std::string where = absl::StrCat("rule_set.custom_calling_hours[", i, "]");
    if (c.weekday_windows_size() != 7) {
      return InvalidField(where + ".weekday_windows", "MALFORMED_RULE",
                          "seven entries, Monday first (\"-\" for no calling)");
    }
    std::string holidays = c.holidays().empty() ? "-" : absl::StrJoin(c.holidays(), ",");
    std::vector<absl::string_view> cols = {c.id(), c.jurisdiction()};
    for (const auto& w : c.weekday_windows()) cols.push_back(w);
    cols.push_back(holidays);
    cols.push_back(c.source());
    std::string effective = "-";
    if (c.has_effective_date()) {
      const auto& e = c.effective_date();
      absl::CivilDay day(e.year(), e.month(), e.day());
      if (e.year() < 1 || e.year() > 9999 || day.year() != e.year() || day.month() != e.month() ||
          day.day() != e.day()) {
        return InvalidField(where + ".effective_date", "INVALID_DATE", "not a calendar date");
      }
      effective = absl::FormatCivilTime(day);
    }
    cols.push_back(effective);
    std::vector<std::string> purposes;
    for (int k = 0; k < c.purposes_size(); ++k) {
      const int p = c.purposes(k);
      if (p == type::v1::CALL_PURPOSE_UNSPECIFIED || !type::v1::CallPurpose_IsValid(p)) {
        return InvalidField(absl::StrCat(where, ".purposes[", k, "]"), "UNKNOWN_ENUM_VALUE",
                            absl::StrCat("purpose ", p, " is not a defined call purpose"));
      }
      purposes.push_back(type::v1::CallPurpose_Name(static_cast<type::v1::CallPurpose>(p))
                             .substr(sizeof("CALL_PURPOSE_") - 1));
    }
    std::string purpose_col = purposes.empty() ? "-" : absl::StrJoin(purposes, ",");
    cols.push_back(purpose_col);
    auto rule = ParseCallingHoursRule(cols, where);
    if (!rule.ok()) return rule.status();
    if (!ids.insert(rule->id).second) {
      return InvalidField(where + ".id", "DUPLICATE_RULE_ID",
                          absl::StrCat("rule id \"", rule->id, "\" is used twice"));
    }
    out->calling_rules.push_back(*std::move(rule));
  }

  absl::Duration longest = absl::ZeroDuration();
  DG_RETURN_IF_ERROR(CompileCaps(rs.number_caps(), "rule_set.number_caps", &out->number_caps, &longest));
  DG_RETURN_IF_ERROR(
      CompileCaps(rs.contact_caps(), "rule_set.contact_caps", &out->contact_caps, &longest));
  out->longest_window = longest;

  out->abandon_quiet = FromProto(rs.abandon_quiet_period());
  if (Malformed(rs.abandon_quiet_period()) || out->abandon_quiet < absl::ZeroDuration() || out->abandon_quiet > absl::Hours(24 * 90)) {
    return InvalidField("rule_set.abandon_quiet_period", "INVALID_DURATION",
                        "abandon_quiet_period must be 0 to 90 days");
  }
  if (!(rs.max_abandon_rate() >= 0 && rs.max_abandon_rate() <= 1)) {
    return InvalidField("rule_set.max_abandon_rate", "INVALID_RATE",
                        "max_abandon_rate is a fraction between 0 and 1 (0.03 = 3 %)");
  }
  out->max_abandon_rate = rs.max_abandon_rate();
  out->require_consent_for_automated_wireless = rs.require_consent_for_automated_wireless();
  out->unknown_line_type_is_wireless =
      rs.unknown_line_type_policy() != v1::UNKNOWN_LINE_TYPE_POLICY_WIRELINE;

  if (rs.do_not_call_registries_size() > kMaxRegistries) {
    return InvalidField("rule_set.do_not_call_registries", "TOO_MANY_REGISTRIES",
                        absl::StrCat("at most ", kMaxRegistries, " registries"));
  }
  for (int i = 0; i < rs.do_not_call_registries_size(); ++i) {
    const std::string& id = rs.do_not_call_registries(i);
    if (known_registries.count(id) == 0) {
      return InvalidField(absl::StrCat("rule_set.do_not_call_registries[", i, "]"),
                          "UNKNOWN_REGISTRY",
                          absl::StrCat("no do-not-call registry \"", id,
                                       "\" is loaded (ListRegistries lists them)"));
    }
    out->registries.push_back(id);
  }

  out->always_announce_recording = rs.always_announce_recording();
  if (rs.recording_party_jurisdictions_size() > kMaxRecordingParties) {
    return InvalidField("rule_set.recording_party_jurisdictions", "TOO_MANY_JURISDICTIONS",
                        absl::StrCat("at most ", kMaxRecordingParties, " jurisdictions"));
  }
  for (int i = 0; i < rs.recording_party_jurisdictions_size(); ++i) {
    const std::string& j = rs.recording_party_jurisdictions(i);
    if (!ValidJurisdiction(j)) {
      return InvalidField(absl::StrCat("rule_set.recording_party_jurisdictions[", i, "]"),
                          "MALFORMED_JURISDICTION",
                          "a country (\"US\") or country-region (\"US-CA\")");
    }
    out->recording_parties.push_back(j);
  }
  return std::shared_ptr<const CompiledRuleSet>(std::move(out));
}

}  // namespace dialgrid::compliance
