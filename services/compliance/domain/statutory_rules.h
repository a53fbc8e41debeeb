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
#include "services/compliance/domain/recording_consent.h"

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
  std::vector<type::v1::CallPurpose> purposes;
  // Dialing modes: "*" (all), "AUTOMATED" (all but MANUAL and PREVIEW,
  // undefined modes included: fail closed), or names ("AGENTLESS").
  std::vector<std::string> modes;
};

// The facts of a dial the rows are matched on.
struct DialFacts {
  std::vector<std::string> countries;  // the number's and the contact's
  std::vector<std::string> regions;    // "FL" ... (contact's and area code's)
  type::v1::CallPurpose purpose = type::v1::CALL_PURPOSE_TELEMARKETING;  // never UNSPECIFIED
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

// What starts a lockout: an abandoned call or an answering machine (per
// number, elapsed time), or a telephone conversation about a debt (per debt,
// counted in the callee's calendar days: the conversation's day is day 1).
// A refusal of a solicitation (Japan, Art. 17) refuses the tenant's later
// solicitations of that product (or every product) without end.
enum class LockoutAfter { kAbandoned, kMachine, kConversation, kRefusal };

struct Lockout {
  std::string id;
  RuleScope scope;
  LockoutAfter after = LockoutAfter::kAbandoned;
  absl::Duration duration;  // kAbandoned, kMachine: elapsed, closed
  int days = 0;             // kConversation: calendar days (see day_lockout.h)
  std::string source;
};

// A national registry's own rules: how long a new registration takes to
// bind (elapsed days from its listing date, RegistrationBinds). A registry
// index names its row in its manifest (`rules=`).
struct RegistryRule {
  std::string id;       // "US-NATIONAL-DNC"
  std::string country;  // "US"
  int grace_days = 0;
  std::string source;
};

// An established business relationship exemption from a registry (rule doc
// 2.1, 2.4): a listing of the registry whose rules row is `registry_rule`
// does not bind a telemarketing dial while the tenant's relationship of
// `kind` with the number is within `months` calendar months (relationships.h).
struct EbrRule {
  std::string id;             // "US-TSR-EBR-TRANSACTION"
  std::string registry_rule;  // a row of registry_rules.tsv, "US-NATIONAL-DNC"
  v1::RelationshipKind kind = v1::RELATIONSHIP_KIND_UNSPECIFIED;
  int months = 0;
  std::string source;
};

// A consent exemption from a registry (rule doc 2.3, 2.4): a listing of the
// registry whose rules row is `registry_rule` does not bind a telemarketing
// dial when the tenant holds a valid consent record of the number (granted
// at or before the dial, not expired, not revoked) of at least `need`
// (UK TPS: the subscriber told the caller they do not object; Canada's
// DNCL: express consent).
struct RegistryConsentRule {
  std::string id;             // "GB-TPS-CONSENT"
  std::string registry_rule;  // a row of registry_rules.tsv, "GB-TPS"
  ConsentLevel need = ConsentLevel::kExpress;
  std::string source;
};

// A calling-hour rule that a separate consent waives (Korea, Art. 50(3):
// 21:00-08:00 only with separate prior consent): a dial the rule alone
// refuses is allowed when the number's valid consent record carries `scope`.
struct HoursWaiver {
  std::string id;                  // "KR-ICNA-NIGHT"
  std::string calling_hours_rule;  // "KR-ICNA"
  v1::ConsentScope scope = v1::CONSENT_SCOPE_UNSPECIFIED;
  std::string source;
};

struct StatutoryRules {
  std::vector<RegistryRule> registries;
  std::vector<EbrRule> ebr;
  std::vector<RegistryConsentRule> registry_consent;
  std::vector<HoursWaiver> waivers;
  std::vector<ConsentRule> consent;
  std::vector<StatutoryCap> caps;
  std::vector<Lockout> lockouts;
  // Call-recording consent by jurisdiction (recording_consent.tsv). Empty:
  // every callee's recording law is unknown, so every decision asks for the
  // announcement (fail safe).
  std::vector<RecordingRule> recording;
};

// Table formats (tab-separated, '#' comments):
//   consent_rules.tsv: id, jurisdictions, purposes, modes, lines (* | WIRELESS),
//     consent (EXPRESS | WRITTEN), source
//   attempt_caps.tsv: id, jurisdictions, purposes, modes, per (PERSON | NUMBER
//     | DEBT), max attempts, window ("24h"), source
//   lockouts.tsv: id, jurisdictions, purposes, modes, after (ABANDONED |
//     MACHINE: duration in elapsed hours, "72h"; CONVERSATION: calendar
//     days, "7d", the conversation's day being day 1), duration, source
//   registry_rules.tsv: id, country, grace days (0-90), source
//   ebr_rules.tsv: id, registry rule (a registry_rules.tsv id), kind
//     (TRANSACTION | INQUIRY), months (1-60), source
//   hours_waivers.tsv: id, calling-hours rule id, consent scope
//     (NIGHT_HOURS), source
//   lockouts.tsv also takes after REFUSAL with duration "-" (no end).
// jurisdictions and purposes are ","-joined or "*". INVALID_ARGUMENT naming
// the line for anything malformed.
absl::StatusOr<std::vector<ConsentRule>> ParseConsentRules(absl::string_view tsv);
absl::StatusOr<std::vector<StatutoryCap>> ParseStatutoryCaps(absl::string_view tsv);
absl::StatusOr<std::vector<Lockout>> ParseLockouts(absl::string_view tsv);
absl::StatusOr<std::vector<RegistryRule>> ParseRegistryRules(absl::string_view tsv);
absl::StatusOr<std::vector<EbrRule>> ParseEbrRules(absl::string_view tsv);
absl::StatusOr<std::vector<HoursWaiver>> ParseHoursWaivers(absl::string_view tsv);
//   registry_consent_rules.tsv: id, registry rule (a registry_rules.tsv id,
//     one row each), consent (EXPRESS | WRITTEN), source
absl::StatusOr<std::vector<RegistryConsentRule>> ParseRegistryConsentRules(absl::string_view tsv);
// The eight tables from a directory (recording_consent.tsv too,
// recording_consent.h) (an EBR row naming a registry rule the
// registry table lacks is INVALID_ARGUMENT, so is a registry consent row).
absl::StatusOr<StatutoryRules> LoadStatutoryRules(const std::string& dir);

// What the consent rows ask of a dial: the strongest level any applicable
// row asks, and those rows' ids.
struct ConsentNeed {
  ConsentLevel level = ConsentLevel::kNone;
  std::vector<std::string> rules;
};
ConsentNeed RequiredConsent(const std::vector<ConsentRule>& rules, const DialFacts& dial);

}  // namespace dialgrid::compliance
