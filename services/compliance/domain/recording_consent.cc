#include "services/compliance/domain/recording_consent.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/core/errors.h"
#include "services/compliance/domain/jurisdiction.h"

namespace dialgrid::compliance {
namespace {

absl::Status Bad(int line, absl::string_view what) {
  return InvalidField("recording_consent", "MALFORMED_RULE",
                      absl::StrCat("recording_consent line ", line, ": ", what));
}

void Add(RecordingNeed& need, const std::string& why) {
  need.announce = true;
  if (std::find(need.rules.begin(), need.rules.end(), why) == need.rules.end()) {
    need.rules.push_back(why);
  }
}

// One party's place: a country and the regions it may be in (empty: any
// region of the country).
void Check(const std::vector<RecordingRule>& rules, const std::string& country,
           const std::vector<std::string>& regions, RecordingNeed& need) {
  bool covered = false, regional_all_party = false;
  for (const RecordingRule& r : rules) {
    const bool whole = r.jurisdiction == country;
    const bool regional = absl::StartsWith(r.jurisdiction, absl::StrCat(country, "-"));
    if (!whole && !regional) continue;
    covered = true;
    if (r.consent != RecordingConsent::kAllParty) continue;
    if (whole) {
      Add(need, r.id);
      continue;
    }
    regional_all_party = true;
    for (const std::string& region : regions) {
      if (r.jurisdiction == absl::StrCat(country, "-", region)) Add(need, r.id);
    }
  }
  if (!covered) {
    Add(need, absl::StrCat(kLawUnknownPrefix, country));
  } else if (regional_all_party && regions.empty()) {
    Add(need, absl::StrCat(kRegionUnknownPrefix, country));
  }
}

}  // namespace

absl::StatusOr<std::vector<RecordingRule>> ParseRecordingRules(absl::string_view tsv) {
  std::vector<RecordingRule> out;
  int n = 0;
  for (absl::string_view line : absl::StrSplit(tsv, '\n')) {
    ++n;
    if (line.empty() || line[0] == '#') continue;
    std::vector<absl::string_view> c = absl::StrSplit(line, '\t');
    if (c.size() != 4) return Bad(n, "expected 4 columns");
    RecordingRule r;
    r.id = std::string(c[0]);
    if (!ValidJurisdiction(c[1])) return Bad(n, "jurisdiction: \"US\" or \"US-CA\"");
    r.jurisdiction = std::string(c[1]);
    if (c[2] == "ALL-PARTY") {
      r.consent = RecordingConsent::kAllParty;
    } else if (c[2] == "ONE-PARTY") {
      r.consent = RecordingConsent::kOneParty;
    } else {
      return Bad(n, "consent: ALL-PARTY or ONE-PARTY");
    }
    r.source = std::string(c[3]);
    if (r.id.empty() || r.source.empty()) return Bad(n, "id and source");
    for (const RecordingRule& o : out) {
      if (o.id == r.id) return Bad(n, "duplicate id");
      if (o.jurisdiction == r.jurisdiction) return Bad(n, "one row per jurisdiction");
    }
    out.push_back(std::move(r));
  }
  return out;
}

RecordingNeed RecordingAnnouncement(const std::vector<RecordingRule>& rules,
                                    const std::vector<std::string>& countries,
                                    const std::vector<std::string>& regions,
                                    const std::vector<std::string>& parties, bool always_announce) {
  RecordingNeed need;
  if (always_announce) Add(need, kAlwaysAnnounceRule);
  for (const std::string& country : countries) {
    if (!country.empty()) Check(rules, country, regions, need);
  }
  if (countries.empty()) Add(need, absl::StrCat(kLawUnknownPrefix, "?"));
  for (const std::string& party : parties) {
    std::vector<std::string> cr = absl::StrSplit(party, absl::MaxSplits('-', 1));
    std::vector<std::string> region;
    if (cr.size() == 2) region.push_back(cr[1]);
    Check(rules, cr[0], region, need);
  }
  return need;
}

}  // namespace dialgrid::compliance
