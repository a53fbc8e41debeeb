#pragma once

// The rules the law sets per jurisdiction besides calling hours, shipped as
// data with their sources (services/compliance/data/*.tsv, table in
// docs/compliance.md): which consent a dial needs, attempt caps with their
// scope (person, number, debt), and lockouts after an abandoned call or an
// answering machine. Pure logic: which rows apply to a dial and what they
// ask; the counting itself is atomic in Redis.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "dialgrid/compliance/v1/compliance.pb.h"
#include "dialgrid/type/v1/dialing_mode.pb.h"
#include "services/compliance/domain/attempt_caps.h"

namespace dialgrid::compliance {

// How strong a consent is. A rule asking for a level is satisfied by a
// record of that level or higher; a record of a type this build does not
// know is kNone (never satisfies anything).
enum class ConsentLevel { kNone = 0, kExpress = 1, kWritten = 2 };
ConsentLevel LevelOf(v1::ConsentType type);
v1::ConsentType TypeOf(ConsentLevel level);

// Where and to which calls a row applies.
struct RuleScope {
  // "US", "US-FL", "CA" ... ("EU" in the table expands to the member states).
  std::vector<std::string> jurisdictions;
  // Empty: every purpose.
  std::vector<v1::CallPurpose> purposes;
  // Dialing modes: "*" (all), "AUTOMATED" (all but MANUAL and PREVIEW,
  // undefined modes included: fail closed), or names ("AGENTLESS").
  std::vector<std::string> modes;
};

// The facts of a dial the rows are matched on.
struct DialFacts {
  std::vector<std::string> countries;  // the number's and the contact's
  std::vector<std::string> regions;    // "FL" ... (contact's and area code's)
  v1::CallPurpose purpose = v1::CALL_PURPOSE_TELEMARKETING;  // never UNSPECIFIED
  type::v1::DialingMode mode = type::v1::DIALING_MODE_UNSPECIFIED;
  bool wireless = true;  // the number is (or is presumed) wireless
};

bool Applies(const RuleScope& scope, const DialFacts& dial);
// MANUAL and PREVIEW are dialed by a person (a guaranteed live operator);
// every other value, undefined ones included, is automated.
bool AutomatedMode(type::v1::DialingMode mode);

struct ConsentRule {
  std::string id;
  RuleScope scope;
  bool wireless_only = false;
  ConsentLevel need = ConsentLevel::kWritten;
  std::string source;
};

enum class CapPer { kPerson, kNumber, kDebt };

struct StatutoryCap {
  RuleScope scope;
  CapPer per = CapPer::kPerson;
  AttemptCap cap;  // id, max, closed window
  std::string source;
};

enum class LockoutAfter { kAbandoned, kMachine };

struct Lockout {
  std::string id;
  RuleScope scope;
  LockoutAfter after = LockoutAfter::kAbandoned;
  absl::Duration duration;
  std::string source;
};

struct StatutoryRules {
  std::vector<ConsentRule> consent;
  std::vector<StatutoryCap> caps;
  std::vector<Lockout> lockouts;
};

// Table formats (tab-separated, '#' comments):
//   consent_rules.tsv: id, jurisdictions, purposes, modes, lines (* | WIRELESS),
//     consent (EXPRESS | WRITTEN), source
//   attempt_caps.tsv: id, jurisdictions, purposes, modes, per (PERSON | NUMBER
//     | DEBT), max attempts, window ("24h"), source
//   lockouts.tsv: id, jurisdictions, purposes, modes, after (ABANDONED |
//     MACHINE), duration ("72h"), source
// jurisdictions and purposes are ","-joined or "*". INVALID_ARGUMENT naming
// the line for anything malformed.
absl::StatusOr<std::vector<ConsentRule>> ParseConsentRules(absl::string_view tsv);
absl::StatusOr<std::vector<StatutoryCap>> ParseStatutoryCaps(absl::string_view tsv);
absl::StatusOr<std::vector<Lockout>> ParseLockouts(absl::string_view tsv);
// The three tables from a directory.
absl::StatusOr<StatutoryRules> LoadStatutoryRules(const std::string& dir);

// What the consent rows ask of a dial: the strongest level any applicable
// row asks, and those rows' ids.
struct ConsentNeed {
  ConsentLevel level = ConsentLevel::kNone;
  std::vector<std::string> rules;
};
ConsentNeed RequiredConsent(const std::vector<ConsentRule>& rules, const DialFacts& dial);

}  // namespace dialgrid::compliance
