#pragma once

// Call-recording consent laws as data (services/compliance/data/
// recording_consent.tsv, table in docs/compliance.md): where a call may be
// recorded with one party's consent (the recorder's), and where every party
// must consent, which a recorder meets by announcing the recording at the
// start of the call. "Strictest party location wins": the announcement is
// needed when any party (the callee, or the tenant's own agents where the
// rule set places them) is under an all-party law. Pure logic.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dialgrid::compliance {

enum class RecordingConsent { kOneParty, kAllParty };

struct RecordingRule {
  std::string id;            // "US-CA-PC632"
  std::string jurisdiction;  // "US" or "US-CA"
  RecordingConsent consent = RecordingConsent::kAllParty;
  std::string source;
};

// Table: id, jurisdiction (a country "US" or country-region "US-CA"),
// consent (ALL-PARTY | ONE-PARTY), source; tab-separated, '#' comments.
// INVALID_ARGUMENT MALFORMED_RULE naming the line otherwise (duplicate ids
// and two rows of one jurisdiction too).
absl::StatusOr<std::vector<RecordingRule>> ParseRecordingRules(absl::string_view tsv);

// Why the announcement is needed, besides rows of the table.
inline constexpr char kAlwaysAnnounceRule[] = "rule_set.always_announce_recording";
// "RECORDING-LAW-UNKNOWN:<country>": no row covers the country.
inline constexpr char kLawUnknownPrefix[] = "RECORDING-LAW-UNKNOWN:";
// "RECORDING-REGION-UNKNOWN:<country>": the country has all-party regions
// and the party's region is unknown.
inline constexpr char kRegionUnknownPrefix[] = "RECORDING-REGION-UNKNOWN:";

struct RecordingNeed {
  bool announce = false;
  std::vector<std::string> rules;  // why (empty when not needed)
};

// Whether recording the call needs the announcement. The callee is in one
// of `countries` (the number's and the contact's) and in any of `regions`
// (region codes, "CA", "FL": the contact's and the area code's; each may
// be true, so every one counts). `parties` are the rule set's
// recording_party_jurisdictions ("US-CA", or "US": anywhere in the US).
// A place no row covers, or a country with all-party regions where the
// region is unknown, needs the announcement (fail safe).
RecordingNeed RecordingAnnouncement(const std::vector<RecordingRule>& rules,
                                    const std::vector<std::string>& countries,
                                    const std::vector<std::string>& regions,
                                    const std::vector<std::string>& parties, bool always_announce);

}  // namespace dialgrid::compliance
