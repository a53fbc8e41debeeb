#include "services/compliance/domain/statutory_rules.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/core/errors.h"
#include "services/compliance/domain/jurisdiction.h"
#include "services/common/core/files.h"

namespace dialgrid::compliance {
namespace {

// EU member states (ISO 3166-1 alpha-2) for "EU" in a table.
constexpr const char* kEu[] = {"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI",
                               "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU",
                               "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"};

absl::Status Bad(absl::string_view table, int line, absl::string_view what) {
  return InvalidField(table, "MALFORMED_RULE", absl::StrCat(table, " line ", line, ": ", what));
}

absl::Status ParseScope(absl::string_view table, int line, absl::string_view jur,
                        absl::string_view purposes, absl::string_view modes, RuleScope* out) {
  for (absl::string_view j : absl::StrSplit(jur, ',')) {
    if (j == "EU") {
      for (const char* c : kEu) out->jurisdictions.emplace_back(c);
    } else if (ValidJurisdiction(j)) {
      out->jurisdictions.emplace_back(j);
    } else {
      return Bad(table, line, absl::StrCat("jurisdiction \"", j, "\""));
    }
  }
  if (purposes != "*") {
    for (absl::string_view p : absl::StrSplit(purposes, ',')) {
      type::v1::CallPurpose value;
      if (!type::v1::CallPurpose_Parse(absl::StrCat("CALL_PURPOSE_", p), &value) ||
          value == type::v1::CALL_PURPOSE_UNSPECIFIED) {
        return Bad(table, line, absl::StrCat("purpose \"", p, "\""));
      }
      out->purposes.push_back(value);
    }
  }
  for (absl::string_view m : absl::StrSplit(modes, ',')) {
    type::v1::DialingMode value;
    if (m != "*" && m != "AUTOMATED" &&
        !type::v1::DialingMode_Parse(absl::StrCat("DIALING_MODE_", m), &value)) {
      return Bad(table, line, absl::StrCat("dialing mode \"", m, "\""));
    }
    out->modes.emplace_back(m);
  }
  return absl::OkStatus();
}

// "24h", "72h", "168h".
bool ParseHours(absl::string_view s, absl::Duration* out) {
  int h = 0;
  if (s.size() < 2 || s.back() != 'h' || !absl::SimpleAtoi(s.substr(0, s.size() - 1), &h) ||
      h < 1 || h > 24 * 90) {
    return false;
  }
  *out = absl::Hours(h);
  return true;
}

// Rows of a table, comments and blank lines skipped, each with its line.
std::vector<std::pair<int, std::vector<absl::string_view>>> Rows(absl::string_view tsv) {
  std::vector<std::pair<int, std::vector<absl::string_view>>> rows;
  int n = 0;
  for (absl::string_view line : absl::StrSplit(tsv, '\n')) {
    ++n;
    if (line.empty() || line[0] == '#') continue;
    rows.emplace_back(n, absl::StrSplit(line, '\t'));
  }
  return rows;
}

}  // namespace

ConsentLevel LevelOf(v1::ConsentType type) {
  switch (type) {
    case v1::CONSENT_TYPE_PRIOR_EXPRESS: return ConsentLevel::kExpress;
    case v1::CONSENT_TYPE_PRIOR_EXPRESS_WRITTEN: return ConsentLevel::kWritten;
    default: return ConsentLevel::kNone;
  }
}

v1::ConsentType TypeOf(ConsentLevel level) {
  switch (level) {
    case ConsentLevel::kExpress: return v1::CONSENT_TYPE_PRIOR_EXPRESS;
    case ConsentLevel::kWritten: return v1::CONSENT_TYPE_PRIOR_EXPRESS_WRITTEN;
    default: return v1::CONSENT_TYPE_UNSPECIFIED;
  }
}

bool AutomatedMode(type::v1::DialingMode mode) {
  return mode != type::v1::DIALING_MODE_MANUAL && mode != type::v1::DIALING_MODE_PREVIEW;
}

bool Applies(const RuleScope& scope, const DialFacts& dial) {
  bool where = false;
  for (const std::string& j : scope.jurisdictions) {
    for (const std::string& c : dial.countries) {
      if (j == c) where = true;
      for (const std::string& r : dial.regions) {
        if (j == absl::StrCat(c, "-", r)) where = true;
      }
    }
  }
  if (!where) return false;
  if (!scope.purposes.empty() &&
      std::find(scope.purposes.begin(), scope.purposes.end(), dial.purpose) ==
          scope.purposes.end()) {
    return false;
  }
  for (const std::string& m : scope.modes) {
    if (m == "*") return true;
    if (m == "AUTOMATED" && AutomatedMode(dial.mode)) return true;
    if (absl::StrCat("DIALING_MODE_", m) == type::v1::DialingMode_Name(dial.mode)) return true;
  }
  return false;
}

absl::StatusOr<std::vector<ConsentRule>> ParseConsentRules(absl::string_view tsv) {
  std::vector<ConsentRule> out;
  for (const auto& [line, c] : Rows(tsv)) {
    if (c.size() != 7) return Bad("consent_rules", line, "expected 7 columns");
    ConsentRule r;
    r.id = std::string(c[0]);
    if (absl::Status st = ParseScope("consent_rules", line, c[1], c[2], c[3], &r.scope); !st.ok())
      return st;
    if (c[4] != "*" && c[4] != "WIRELESS") return Bad("consent_rules", line, "lines: * or WIRELESS");
    r.wireless_only = c[4] == "WIRELESS";
    if (c[5] == "EXPRESS") {
      r.need = ConsentLevel::kExpress;
    } else if (c[5] == "WRITTEN") {
      r.need = ConsentLevel::kWritten;
    } else {
      return Bad("consent_rules", line, "consent: EXPRESS or WRITTEN");
    }
    r.source = std::string(c[6]);
    if (r.id.empty() || r.source.empty()) return Bad("consent_rules", line, "id and source");
    out.push_back(std::move(r));
  }
  return out;
}

absl::StatusOr<std::vector<StatutoryCap>> ParseStatutoryCaps(absl::string_view tsv) {
  std::vector<StatutoryCap> out;
  for (const auto& [line, c] : Rows(tsv)) {
    if (c.size() != 8) return Bad("attempt_caps", line, "expected 8 columns");
    StatutoryCap r;
    r.cap.id = std::string(c[0]);
    if (absl::Status st = ParseScope("attempt_caps", line, c[1], c[2], c[3], &r.scope); !st.ok())
      return st;
    if (c[4] == "PERSON") {
      r.per = CapPer::kPerson;
    } else if (c[4] == "NUMBER") {
      r.per = CapPer::kNumber;
    } else if (c[4] == "DEBT") {
      r.per = CapPer::kDebt;
    } else {
      return Bad("attempt_caps", line, "per: PERSON, NUMBER or DEBT");
    }
    if (!absl::SimpleAtoi(c[5], &r.cap.max_attempts) || r.cap.max_attempts < 1 ||
        r.cap.max_attempts > 1000) {
      return Bad("attempt_caps", line, "max attempts 1-1000");
    }
    if (!ParseHours(c[6], &r.cap.window)) return Bad("attempt_caps", line, "window like 24h");
    r.source = std::string(c[7]);
    if (r.cap.id.empty() || r.source.empty()) return Bad("attempt_caps", line, "id and source");
    out.push_back(std::move(r));
  }
  return out;
}

absl::StatusOr<std::vector<Lockout>> ParseLockouts(absl::string_view tsv) {
  std::vector<Lockout> out;
  for (const auto& [line, c] : Rows(tsv)) {
    if (c.size() != 7) return Bad("lockouts", line, "expected 7 columns");
    Lockout r;
    r.id = std::string(c[0]);
    if (absl::Status st = ParseScope("lockouts", line, c[1], c[2], c[3], &r.scope); !st.ok())
      return st;
    if (c[4] == "ABANDONED") {
      r.after = LockoutAfter::kAbandoned;
    } else if (c[4] == "MACHINE") {
      r.after = LockoutAfter::kMachine;
    } else if (c[4] == "CONVERSATION") {
      r.after = LockoutAfter::kConversation;
    } else if (c[4] == "REFUSAL") {
      r.after = LockoutAfter::kRefusal;
    } else {
      return Bad("lockouts", line, "after: ABANDONED, MACHINE, CONVERSATION or REFUSAL");
    }
    if (r.after == LockoutAfter::kRefusal) {
      if (c[5] != "-") return Bad("lockouts", line, "a REFUSAL lockout has no end: duration -");
    } else if (r.after == LockoutAfter::kConversation) {
      // Calendar days, "7d": 1 to 90.
      absl::string_view d = c[5];
      if (d.size() < 2 || d.back() != 'd' || !absl::SimpleAtoi(d.substr(0, d.size() - 1), &r.days) ||
          r.days < 1 || r.days > 90) {
        return Bad("lockouts", line, "a CONVERSATION lockout lasts calendar days, like 7d");
      }
    } else if (!ParseHours(c[5], &r.duration)) {
      return Bad("lockouts", line, "duration like 72h");
    }
    r.source = std::string(c[6]);
    if (r.id.empty() || r.source.empty()) return Bad("lockouts", line, "id and source");
    out.push_back(std::move(r));
  }
  return out;
}

absl::StatusOr<std::vector<RegistryRule>> ParseRegistryRules(absl::string_view tsv) {
  std::vector<RegistryRule> out;
  for (const auto& [line, c] : Rows(tsv)) {
    if (c.size() != 4) return Bad("registry_rules", line, "expected 4 columns");
    RegistryRule r;
    r.id = std::string(c[0]);
    r.country = std::string(c[1]);
    if (!ValidJurisdiction(c[1]) || c[1].size() != 2) {
      return Bad("registry_rules", line, "country: ISO 3166-1 alpha-2");
    }
    if (!absl::SimpleAtoi(c[2], &r.grace_days) || r.grace_days < 0 || r.grace_days > 90) {
      return Bad("registry_rules", line, "grace days 0-90");
    }
    r.source = std::string(c[3]);
    if (r.id.empty() || r.source.empty()) return Bad("registry_rules", line, "id and source");
    for (const RegistryRule& o : out) {
      if (o.id == r.id) return Bad("registry_rules", line, "duplicate id");
    }
    out.push_back(std::move(r));
  }
  return out;
}

absl::StatusOr<std::vector<EbrRule>> ParseEbrRules(absl::string_view tsv) {
  std::vector<EbrRule> out;
  for (const auto& [line, c] : Rows(tsv)) {
    if (c.size() != 5) return Bad("ebr_rules", line, "expected 5 columns");
    EbrRule r;
    r.id = std::string(c[0]);
    r.registry_rule = std::string(c[1]);
    if (c[2] == "TRANSACTION") {
      r.kind = v1::RELATIONSHIP_KIND_TRANSACTION;
    } else if (c[2] == "INQUIRY") {
      r.kind = v1::RELATIONSHIP_KIND_INQUIRY;
    } else {
      return Bad("ebr_rules", line, "kind: TRANSACTION or INQUIRY");
    }
    if (!absl::SimpleAtoi(c[3], &r.months) || r.months < 1 || r.months > 60) {
      return Bad("ebr_rules", line, "months 1-60");
    }
    r.source = std::string(c[4]);
    if (r.id.empty() || r.registry_rule.empty() || r.source.empty()) {
      return Bad("ebr_rules", line, "id, registry rule and source");
    }
    for (const EbrRule& o : out) {
      if (o.id == r.id) return Bad("ebr_rules", line, "duplicate id");
      if (o.registry_rule == r.registry_rule && o.kind == r.kind) {
        return Bad("ebr_rules", line, "one row per registry rule and kind");
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

absl::StatusOr<std::vector<RegistryConsentRule>> ParseRegistryConsentRules(absl::string_view tsv) {
  std::vector<RegistryConsentRule> out;
  for (const auto& [line, c] : Rows(tsv)) {
    if (c.size() != 4) return Bad("registry_consent_rules", line, "expected 4 columns");
    RegistryConsentRule r;
    r.id = std::string(c[0]);
    r.registry_rule = std::string(c[1]);
    if (c[2] == "EXPRESS") {
      r.need = ConsentLevel::kExpress;
    } else if (c[2] == "WRITTEN") {
      r.need = ConsentLevel::kWritten;
    } else {
      return Bad("registry_consent_rules", line, "consent: EXPRESS or WRITTEN");
    }
    r.source = std::string(c[3]);
    if (r.id.empty() || r.registry_rule.empty() || r.source.empty()) {
      return Bad("registry_consent_rules", line, "id, registry rule and source");
    }
    for (const RegistryConsentRule& o : out) {
      if (o.id == r.id) return Bad("registry_consent_rules", line, "duplicate id");
      if (o.registry_rule == r.registry_rule) {
        return Bad("registry_consent_rules", line, "one row per registry rule");
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

absl::StatusOr<std::vector<HoursWaiver>> ParseHoursWaivers(absl::string_view tsv) {
  std::vector<HoursWaiver> out;
  for (const auto& [line, c] : Rows(tsv)) {
    if (c.size() != 4) return Bad("hours_waivers", line, "expected 4 columns");
    HoursWaiver r;
    r.id = std::string(c[0]);
    r.calling_hours_rule = std::string(c[1]);
    v1::ConsentScope scope;
    if (!v1::ConsentScope_Parse(absl::StrCat("CONSENT_SCOPE_", c[2]), &scope) ||
        scope == v1::CONSENT_SCOPE_UNSPECIFIED) {
      return Bad("hours_waivers", line, "consent scope: NIGHT_HOURS");
    }
    r.scope = scope;
    r.source = std::string(c[3]);
    if (r.id.empty() || r.calling_hours_rule.empty() || r.source.empty()) {
      return Bad("hours_waivers", line, "id, calling-hours rule and source");
    }
    out.push_back(std::move(r));
  }
  return out;
}

absl::StatusOr<StatutoryRules> LoadStatutoryRules(const std::string& dir) {
  StatutoryRules rules;
  auto registry_rules = ReadFileToString(dir + "/registry_rules.tsv");
  if (!registry_rules.ok()) return registry_rules.status();
  auto g = ParseRegistryRules(*registry_rules);
  if (!g.ok()) return g.status();
  rules.registries = *std::move(g);
  auto ebr = ReadFileToString(dir + "/ebr_rules.tsv");
  if (!ebr.ok()) return ebr.status();
  auto e = ParseEbrRules(*ebr);
  if (!e.ok()) return e.status();
  for (const EbrRule& r : *e) {
    bool known = false;
    for (const RegistryRule& rr : rules.registries) known = known || rr.id == r.registry_rule;
    if (!known) {
      return InvalidField("ebr_rules", "MALFORMED_RULE",
                          absl::StrCat("ebr_rules row ", r.id, " names registry rule \"",
                                       r.registry_rule, "\", not in registry_rules.tsv"));
    }
  }
  rules.ebr = *std::move(e);
  auto registry_consent = ReadFileToString(dir + "/registry_consent_rules.tsv");
  if (!registry_consent.ok()) return registry_consent.status();
  auto rc = ParseRegistryConsentRules(*registry_consent);
  if (!rc.ok()) return rc.status();
  for (const RegistryConsentRule& r : *rc) {
    bool known = false;
    for (const RegistryRule& rr : rules.registries) known = known || rr.id == r.registry_rule;
    if (!known) {
      return InvalidField("registry_consent_rules", "MALFORMED_RULE",
                          absl::StrCat("registry_consent_rules row ", r.id,
                                       " names registry rule \"", r.registry_rule,
                                       "\", not in registry_rules.tsv"));
    }
  }
  rules.registry_consent = *std::move(rc);
  auto waivers = ReadFileToString(dir + "/hours_waivers.tsv");
  if (!waivers.ok()) return waivers.status();
  auto w = ParseHoursWaivers(*waivers);
  if (!w.ok()) return w.status();
  rules.waivers = *std::move(w);
  auto consent = ReadFileToString(dir + "/consent_rules.tsv");
  if (!consent.ok()) return consent.status();
  auto caps = ReadFileToString(dir + "/attempt_caps.tsv");
  if (!caps.ok()) return caps.status();
  auto lockouts = ReadFileToString(dir + "/lockouts.tsv");
  if (!lockouts.ok()) return lockouts.status();
  auto c = ParseConsentRules(*consent);
  if (!c.ok()) return c.status();
  auto k = ParseStatutoryCaps(*caps);
  if (!k.ok()) return k.status();
  auto l = ParseLockouts(*lockouts);
  if (!l.ok()) return l.status();
  rules.consent = *std::move(c);
  rules.caps = *std::move(k);
  rules.lockouts = *std::move(l);
  auto recording = ReadFileToString(dir + "/recording_consent.tsv");
  if (!recording.ok()) return recording.status();
  auto rec = ParseRecordingRules(*recording);
  if (!rec.ok()) return rec.status();
  rules.recording = *std::move(rec);
  return rules;
}

ConsentNeed RequiredConsent(const std::vector<ConsentRule>& rules, const DialFacts& dial) {
  ConsentNeed need;
  for (const ConsentRule& r : rules) {
    if (r.wireless_only && !dial.wireless) continue;
    if (!Applies(r.scope, dial)) continue;
    need.level = std::max(need.level, r.need);
    need.rules.push_back(r.id);
  }
  return need;
}

}  // namespace dialgrid::compliance
