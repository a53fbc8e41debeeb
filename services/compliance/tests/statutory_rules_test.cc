#include "services/compliance/domain/registry_manifest.h"
#include "services/compliance/domain/statutory_rules.h"
#include "services/compliance/domain/recording_consent.h"

#include <gtest/gtest.h>

#include <map>

#include "services/common/core/errors.h"

namespace dialgrid::compliance {
namespace {

using type::v1::DIALING_MODE_AGENTLESS;
using type::v1::DIALING_MODE_MANUAL;
using type::v1::DIALING_MODE_PREDICTIVE;
using type::v1::DIALING_MODE_PREVIEW;
using type::v1::DIALING_MODE_PROGRESSIVE;

class StatutoryRulesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto rules = LoadStatutoryRules(DIALGRID_COMPLIANCE_DATA_DIR);
    ASSERT_TRUE(rules.ok()) << rules.status();
    rules_ = new StatutoryRules(*std::move(rules));
  }
  static DialFacts Dial(std::vector<std::string> countries, std::vector<std::string> regions,
                        type::v1::CallPurpose purpose, type::v1::DialingMode mode, bool wireless) {
    DialFacts f;
    f.countries = std::move(countries);
    f.regions = std::move(regions);
    f.purpose = purpose;
    f.mode = mode;
    f.wireless = wireless;
    return f;
  }
  static ConsentLevel Need(const DialFacts& f) { return RequiredConsent(rules_->consent, f).level; }
  static StatutoryRules* rules_;
};
StatutoryRules* StatutoryRulesTest::rules_ = nullptr;

constexpr auto kTm = type::v1::CALL_PURPOSE_TELEMARKETING;
constexpr auto kDebt = type::v1::CALL_PURPOSE_DEBT_COLLECTION;
constexpr auto kInfo = type::v1::CALL_PURPOSE_INFORMATIONAL;

TEST_F(StatutoryRulesTest, TablesLoadWithSources) {
  EXPECT_GE(rules_->consent.size(), 7u);
  EXPECT_GE(rules_->caps.size(), 4u);
  // UK after abandon and machine; Reg F conversation; JP Art. 17 refusal
  EXPECT_EQ(rules_->lockouts.size(), 4u);
  EXPECT_EQ(rules_->registries.size(), 4u);
  for (const auto& r : rules_->consent) EXPECT_FALSE(r.source.empty()) << r.id;
  for (const auto& r : rules_->caps) EXPECT_FALSE(r.source.empty()) << r.cap.id;
  for (const auto& r : rules_->lockouts) EXPECT_FALSE(r.source.empty()) << r.id;
}

// Rule doc 2.1: "Autodialed/prerecorded calls to wireless; prerecorded
// telemarketing to residential: prior express written consent (2012 rule)".
TEST_F(StatutoryRulesTest, UsWrittenConsentForAutomatedWirelessAndPrerecordedResidential) {
  EXPECT_EQ(Need(Dial({"US"}, {"NY"}, kTm, DIALING_MODE_PREDICTIVE, true)), ConsentLevel::kWritten);
  EXPECT_EQ(Need(Dial({"US"}, {"NY"}, kTm, DIALING_MODE_PROGRESSIVE, true)),
            ConsentLevel::kWritten);
  // A person dialing: no consent rule (in NY).
  EXPECT_EQ(Need(Dial({"US"}, {"NY"}, kTm, DIALING_MODE_MANUAL, true)), ConsentLevel::kNone);
  EXPECT_EQ(Need(Dial({"US"}, {"NY"}, kTm, DIALING_MODE_PREVIEW, true)), ConsentLevel::kNone);
  // Residential (wireline): a predictive call with an agent needs none, a
  // prerecorded telemarketing call needs written consent.
  EXPECT_EQ(Need(Dial({"US"}, {"NY"}, kTm, DIALING_MODE_PREDICTIVE, false)), ConsentLevel::kNone);
  EXPECT_EQ(Need(Dial({"US"}, {"NY"}, kTm, DIALING_MODE_AGENTLESS, false)), ConsentLevel::kWritten);
  // Prerecorded informational call to a wireline: no row.
  EXPECT_EQ(Need(Dial({"US"}, {"NY"}, kInfo, DIALING_MODE_AGENTLESS, false)), ConsentLevel::kNone);
  // The wireless row has no purpose in the rule doc: every purpose.
  EXPECT_EQ(Need(Dial({"US"}, {}, kDebt, DIALING_MODE_PREDICTIVE, true)), ConsentLevel::kWritten);
  // An undefined dialing mode is automated (fail closed).
  EXPECT_EQ(Need(Dial({"US"}, {}, kTm, static_cast<type::v1::DialingMode>(99), true)),
            ConsentLevel::kWritten);
}

// Rule doc 2.2: Florida / Oklahoma "prior express written consent for
// 'automated system' calls" (any line type), telemarketing only.
TEST_F(StatutoryRulesTest, FloridaAndOklahomaAutomatedSystemCalls) {
  for (const char* st : {"FL", "OK"}) {
    auto need = RequiredConsent(rules_->consent, Dial({"US"}, {st}, kTm, DIALING_MODE_PREDICTIVE,
                                                      /*wireless=*/false));
    EXPECT_EQ(need.level, ConsentLevel::kWritten) << st;
    EXPECT_EQ(need.rules.size(), 1u) << st;
    EXPECT_EQ(Need(Dial({"US"}, {st}, kTm, DIALING_MODE_MANUAL, false)), ConsentLevel::kNone) << st;
    // The state row is a telemarketing row (the rule set's reading).
    EXPECT_EQ(Need(Dial({"US"}, {st}, kDebt, DIALING_MODE_PREDICTIVE, false)), ConsentLevel::kNone)
        << st;
  }
  // New York wireline predictive: no row.
  EXPECT_EQ(Need(Dial({"US"}, {"NY"}, kTm, DIALING_MODE_PREDICTIVE, false)), ConsentLevel::kNone);
  // The contact says New York, the area code is Florida's: both regions
  // apply (presumption), so Florida's row binds.
  EXPECT_EQ(Need(Dial({"US"}, {"NY", "FL"}, kTm, DIALING_MODE_PREDICTIVE, false)),
            ConsentLevel::kWritten);
}

// Rule doc 2.4 (ADAD needs express consent, an EBR does not replace it),
// 2.6 (automated calling systems need consent), 2.8 (telephone advertising
// needs prior consent).
TEST_F(StatutoryRulesTest, CanadaEuKorea) {
  EXPECT_EQ(Need(Dial({"CA"}, {"ON"}, kTm, DIALING_MODE_AGENTLESS, false)), ConsentLevel::kExpress);
  EXPECT_EQ(Need(Dial({"CA"}, {"ON"}, kTm, DIALING_MODE_PREDICTIVE, false)), ConsentLevel::kNone);
  EXPECT_EQ(Need(Dial({"DE"}, {}, kTm, DIALING_MODE_AGENTLESS, true)), ConsentLevel::kExpress);
  EXPECT_EQ(Need(Dial({"FR"}, {}, kTm, DIALING_MODE_MANUAL, true)), ConsentLevel::kNone);
  EXPECT_EQ(Need(Dial({"KR"}, {}, kTm, DIALING_MODE_MANUAL, false)), ConsentLevel::kExpress);
  EXPECT_EQ(Need(Dial({"KR"}, {}, kInfo, DIALING_MODE_MANUAL, false)), ConsentLevel::kNone);
  // A country no row covers.
  EXPECT_EQ(Need(Dial({"BR"}, {}, kTm, DIALING_MODE_AGENTLESS, true)), ConsentLevel::kNone);
}

// Oral consent must not satisfy a written-consent rule; a type this build
// does not define satisfies nothing.
TEST(ConsentLevels, OralNeverMeetsWritten) {
  EXPECT_EQ(LevelOf(v1::CONSENT_TYPE_PRIOR_EXPRESS), ConsentLevel::kExpress);
  EXPECT_EQ(LevelOf(v1::CONSENT_TYPE_PRIOR_EXPRESS_WRITTEN), ConsentLevel::kWritten);
  EXPECT_LT(LevelOf(v1::CONSENT_TYPE_PRIOR_EXPRESS), ConsentLevel::kWritten);
  EXPECT_EQ(LevelOf(v1::CONSENT_TYPE_UNSPECIFIED), ConsentLevel::kNone);
  EXPECT_EQ(LevelOf(static_cast<v1::ConsentType>(7)), ConsentLevel::kNone);
}

// Caps by scope: Florida's 3 per 24 h counts Florida callees, per person;
// it does not throttle a New York callee. Reg F: 7 in 7 days per debt.
TEST_F(StatutoryRulesTest, CapsApplyWhereTheirRowApplies) {
  auto ids = [&](const DialFacts& f) {
    std::vector<std::string> out;
    for (const auto& c : rules_->caps) {
      if (Applies(c.scope, f)) out.push_back(c.cap.id);
    }
    return out;
  };
  EXPECT_EQ(ids(Dial({"US"}, {"FL"}, kTm, DIALING_MODE_MANUAL, true)),
            std::vector<std::string>{"US-FL-FTSA-3-PER-24H"});
  EXPECT_TRUE(ids(Dial({"US"}, {"NY"}, kTm, DIALING_MODE_PREDICTIVE, true)).empty());
  EXPECT_EQ(ids(Dial({"US"}, {"NY"}, kDebt, DIALING_MODE_MANUAL, true)),
            std::vector<std::string>{"US-REGF-7-IN-7D"});
  for (const auto& c : rules_->caps) {
    if (c.cap.id == "US-REGF-7-IN-7D") {
      EXPECT_EQ(c.per, CapPer::kDebt);
      EXPECT_EQ(c.cap.max_attempts, 7);  // "more than 7": the 8th is refused
      EXPECT_EQ(c.cap.window, absl::Hours(24 * 7));
    }
    if (c.cap.id == "US-FL-FTSA-3-PER-24H") {
      EXPECT_EQ(c.per, CapPer::kPerson);
      EXPECT_EQ(c.cap.max_attempts, 3);
      EXPECT_EQ(c.cap.window, absl::Hours(24));
    }
  }
}

// Rule doc 2.3: after AMD, 24 h; after an abandoned call, 72 h; a manual or
// preview dial is a guaranteed live operator, a progressive one is not.
TEST_F(StatutoryRulesTest, UkLockoutsBindAutomatedDialsOnly) {
  int binding = 0;
  for (const auto& l : rules_->lockouts) {
    if (l.after == LockoutAfter::kConversation) continue;  // Reg F: RegFConversationLockout
    if (l.after == LockoutAfter::kRefusal) continue;  // JP: RelationshipRules.*
    EXPECT_TRUE(Applies(l.scope, Dial({"GB"}, {}, kTm, DIALING_MODE_PROGRESSIVE, true))) << l.id;
    EXPECT_TRUE(Applies(l.scope, Dial({"GB"}, {}, kTm, DIALING_MODE_PREDICTIVE, true))) << l.id;
    EXPECT_FALSE(Applies(l.scope, Dial({"GB"}, {}, kTm, DIALING_MODE_MANUAL, true))) << l.id;
    EXPECT_FALSE(Applies(l.scope, Dial({"GB"}, {}, kTm, DIALING_MODE_PREVIEW, true))) << l.id;
    EXPECT_FALSE(Applies(l.scope, Dial({"US"}, {}, kTm, DIALING_MODE_PREDICTIVE, true))) << l.id;
    if (l.after == LockoutAfter::kMachine) {
      EXPECT_EQ(l.duration, absl::Hours(24));
      ++binding;
    } else {
      EXPECT_EQ(l.duration, absl::Hours(72));
      ++binding;
    }
  }
  EXPECT_EQ(binding, 2);
}

// Rule doc 2.1 (Reg F): no call within 7 days after a telephone
// conversation about the debt, the conversation day being day 1: a row of
// calendar days for debt collection in the US, every dialing mode.
TEST_F(StatutoryRulesTest, RegFConversationLockout) {
  int rows = 0;
  for (const auto& l : rules_->lockouts) {
    if (l.after != LockoutAfter::kConversation) continue;
    ++rows;
    EXPECT_EQ(l.id, "US-REGF-CONVERSATION-7D");
    EXPECT_EQ(l.days, 7);
    EXPECT_NE(l.source.find("1006.14(b)(2)"), std::string::npos);
    const type::v1::CallPurpose debt = type::v1::CALL_PURPOSE_DEBT_COLLECTION;
    EXPECT_TRUE(Applies(l.scope, Dial({"US"}, {"NY"}, debt, DIALING_MODE_MANUAL, true)));
    EXPECT_TRUE(Applies(l.scope, Dial({"US"}, {}, debt, DIALING_MODE_PREDICTIVE, false)));
    EXPECT_FALSE(Applies(l.scope, Dial({"US"}, {}, kTm, DIALING_MODE_MANUAL, true)));
    EXPECT_FALSE(Applies(l.scope, Dial({"GB"}, {}, debt, DIALING_MODE_MANUAL, true)));
  }
  EXPECT_EQ(rows, 1);
  auto parsed = ParseLockouts("X\tUS\tDEBT_COLLECTION\t*\tCONVERSATION\t7d\tsrc\n");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ((*parsed)[0].days, 7);
  // Calendar days only for conversations; elapsed hours for the others.
  EXPECT_EQ(ReasonOf(ParseLockouts("X\tUS\t*\t*\tCONVERSATION\t168h\tsrc\n").status()),
            "MALFORMED_RULE");
  EXPECT_EQ(ReasonOf(ParseLockouts("X\tUS\t*\t*\tCONVERSATION\t0d\tsrc\n").status()),
            "MALFORMED_RULE");
  EXPECT_EQ(ReasonOf(ParseLockouts("X\tGB\t*\t*\tMACHINE\t7d\tsrc\n").status()),
            "MALFORMED_RULE");
}

// Registry grace periods (rule doc 2.1, 2.3, 2.4, 2.5): US and Canada 31
// days, UK TPS 28, Australia 30, as elapsed time from the listing date.
TEST_F(StatutoryRulesTest, RegistryGracePeriodsAsData) {
  std::map<std::string, int> grace;
  for (const RegistryRule& r : rules_->registries) {
    grace[r.id] = r.grace_days;
    EXPECT_FALSE(r.source.empty()) << r.id;
  }
  EXPECT_EQ(grace, (std::map<std::string, int>{
                       {"US-NATIONAL-DNC", 31}, {"CA-DNCL", 31}, {"GB-TPS", 28}, {"AU-DNCR", 30}}));
  EXPECT_EQ(ReasonOf(ParseRegistryRules("X\tUSA\t31\tsrc\n").status()), "MALFORMED_RULE");
  EXPECT_EQ(ReasonOf(ParseRegistryRules("X\tUS\t91\tsrc\n").status()), "MALFORMED_RULE");
  EXPECT_EQ(ReasonOf(ParseRegistryRules("X\tUS\t31\tsrc\nX\tCA\t31\tsrc\n").status()),
            "MALFORMED_RULE");
}

// A registration listed on 2026-03-01 binds 31 days later, counted from the
// first instant 2026-03-01 exists anywhere (00:00 at UTC+14 = 2026-02-28
// 10:00 UTC): from 2026-03-31 10:00 UTC on; 1 ms earlier it does not.
TEST(RegistrationGrace, ElapsedDaysFromTheEarliestInstantOfTheListingDate) {
  const absl::Time binds = RegistrationBinds(absl::CivilDay(2026, 3, 1), 31);
  EXPECT_EQ(binds, absl::FromCivil(absl::CivilSecond(2026, 3, 31, 10, 0, 0), absl::UTCTimeZone()));
  // UK TPS: 28 days; across the UK's DST change the grace is elapsed time.
  EXPECT_EQ(RegistrationBinds(absl::CivilDay(2026, 3, 20), 28) -
                RegistrationBinds(absl::CivilDay(2026, 3, 20), 0),
            absl::Hours(24 * 28));
  EXPECT_EQ(RegistrationBinds(absl::CivilDay(2026, 3, 1), 0),
            absl::FromCivil(absl::CivilSecond(2026, 2, 28, 10, 0, 0), absl::UTCTimeZone()));
}

// The manifest names the registry's rules; older manifests have none.
TEST(RegistryManifestRules, RoundTripAndOptional) {
  RegistryManifest m;
  m.as_of = absl::CivilDay(2026, 1, 1);
  m.max_age_days = 31;
  m.index_checksum = 0xabc;
  m.numbers = 3;
  m.rules = "US-NATIONAL-DNC";
  auto back = ParseRegistryManifest(FormatRegistryManifest(m));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->rules, "US-NATIONAL-DNC");
  m.rules.clear();
  const std::string old = FormatRegistryManifest(m);
  EXPECT_EQ(old.find("rules="), std::string::npos);
  auto none = ParseRegistryManifest(old);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->rules.empty());
}

TEST(StatutoryRulesParse, MalformedRowsAreRefused) {
  EXPECT_EQ(ReasonOf(ParseConsentRules("X\tUS\t*\t*\t*\tORAL\tsrc\n").status()), "MALFORMED_RULE");
  EXPECT_EQ(ReasonOf(ParseConsentRules("X\tU$\t*\t*\t*\tWRITTEN\tsrc\n").status()),
            "MALFORMED_RULE");
  EXPECT_EQ(ReasonOf(ParseConsentRules("X\tUS\tSALES\t*\t*\tWRITTEN\tsrc\n").status()),
            "MALFORMED_RULE");
  EXPECT_EQ(ReasonOf(ParseConsentRules("X\tUS\t*\tROBOT\t*\tWRITTEN\tsrc\n").status()),
            "MALFORMED_RULE");
  EXPECT_EQ(ReasonOf(ParseStatutoryCaps("X\tUS\t*\t*\tHOUSE\t3\t24h\tsrc\n").status()),
            "MALFORMED_RULE");
  EXPECT_EQ(ReasonOf(ParseStatutoryCaps("X\tUS\t*\t*\tDEBT\t0\t24h\tsrc\n").status()),
            "MALFORMED_RULE");
  EXPECT_EQ(ReasonOf(ParseLockouts("X\tGB\t*\tAUTOMATED\tBUSY\t24h\tsrc\n").status()),
            "MALFORMED_RULE");
  EXPECT_EQ(ReasonOf(ParseLockouts("X\tGB\t*\tAUTOMATED\tMACHINE\t0h\tsrc\n").status()),
            "MALFORMED_RULE");
  auto eu = ParseConsentRules("X\tEU\t*\t*\t*\tEXPRESS\tsrc\n");
  ASSERT_TRUE(eu.ok());
  EXPECT_EQ((*eu)[0].scope.jurisdictions.size(), 27u);
}


// Rule doc 2.2, "all-party consent states": CA, DE (contested), FL, IL, MD,
// MA, MT, NV, NH, PA, WA; mixed or contested: CT (civil all-party for
// phone), MI (scope contested), OR (all-party only in person). "Strictest
// party location wins + announce recording". Federal law: one party.
TEST_F(StatutoryRulesTest, RecordingConsentAllPartyStatesAsData) {
  auto need = [&](std::vector<std::string> countries, std::vector<std::string> regions,
                  std::vector<std::string> parties = {}, bool always = false) {
    return RecordingAnnouncement(rules_->recording, countries, regions, parties, always);
  };
  for (const auto& r : rules_->recording) EXPECT_FALSE(r.source.empty()) << r.id;
  const std::map<std::string, std::string> all_party = {
      {"CA", "US-CA-PC632"},   {"DE", "US-DE-ALL"},      {"FL", "US-FL-934-03"},
      {"IL", "US-IL-720-14-2"}, {"MD", "US-MD-CJP-10-402"}, {"MA", "US-MA-272-99"},
      {"MT", "US-MT-ALL"},     {"NV", "US-NV-ALL"},      {"NH", "US-NH-ALL"},
      {"PA", "US-PA-ALL"},     {"WA", "US-WA-ALL"},      {"CT", "US-CT-52-570D"},
      {"MI", "US-MI-750-539C"}};
  for (const auto& [state, id] : all_party) {
    RecordingNeed n = need({"US"}, {state});
    EXPECT_TRUE(n.announce) << state;
    EXPECT_EQ(n.rules, std::vector<std::string>{id}) << state;
  }
  // One-party states (federal law), Oregon's phone calls included.
  for (const std::string state : {"NY", "TX", "OR", "GA", "DC"}) {
    RecordingNeed n = need({"US"}, {state});
    EXPECT_FALSE(n.announce) << state;
    EXPECT_TRUE(n.rules.empty()) << state;
  }
  // Strictest party location wins: a New York contact on a Florida area
  // code (both candidate regions), or a New York callee with the tenant's
  // agents in California.
  EXPECT_EQ(need({"US"}, {"NY", "FL"}).rules, std::vector<std::string>{"US-FL-934-03"});
  EXPECT_EQ(need({"US"}, {"NY"}, {"US-CA"}).rules, std::vector<std::string>{"US-CA-PC632"});
  EXPECT_FALSE(need({"US"}, {"NY"}, {"US-TX"}).announce);
  // Unknown places announce (fail safe): a US callee of no known state, a
  // party anywhere in the US, a country no row covers.
  EXPECT_EQ(need({"US"}, {}).rules, std::vector<std::string>{"RECORDING-REGION-UNKNOWN:US"});
  EXPECT_EQ(need({"US"}, {"NY"}, {"US"}).rules,
            std::vector<std::string>{"RECORDING-REGION-UNKNOWN:US"});
  EXPECT_EQ(need({"GB"}, {}).rules, std::vector<std::string>{"RECORDING-LAW-UNKNOWN:GB"});
  EXPECT_TRUE(need({}, {}).announce);
  // The rule set may always ask for it.
  EXPECT_EQ(need({"US"}, {"NY"}, {}, true).rules,
            std::vector<std::string>{"rule_set.always_announce_recording"});
  // Each reason once.
  EXPECT_EQ(need({"US"}, {"CA"}, {"US-CA"}).rules, std::vector<std::string>{"US-CA-PC632"});
}

TEST(RecordingRulesParse, MalformedRowsAreRefused) {
  EXPECT_TRUE(ParseRecordingRules("# c\nX\tUS-CA\tALL-PARTY\tsrc\n").ok());
  for (const char* bad : {"X\tUS-CA\tALL-PARTY\n", "X\tus-ca\tALL-PARTY\tsrc\n",
                          "X\tUS-CA\tTWO_PARTY\tsrc\n", "\tUS-CA\tALL-PARTY\tsrc\n",
                          "X\tUS-CA\tALL-PARTY\tsrc\nX\tUS-FL\tALL-PARTY\tsrc\n",
                          "X\tUS-CA\tALL-PARTY\tsrc\nY\tUS-CA\tONE-PARTY\tsrc\n"}) {
    EXPECT_EQ(ReasonOf(ParseRecordingRules(bad).status()), "MALFORMED_RULE") << bad;
  }
}

// Rule doc 2.3 (TPS: "unless the subscriber has told you they don't
// object") and 2.4 (DNCL exemptions: "express consent"): consent lifts
// those registries; no row for the US registry or Australia's.
TEST_F(StatutoryRulesTest, RegistryConsentExemptionsAsData) {
  std::map<std::string, std::string> by_registry;
  for (const auto& r : rules_->registry_consent) {
    EXPECT_FALSE(r.source.empty()) << r.id;
    EXPECT_EQ(r.need, ConsentLevel::kExpress) << r.id;
    by_registry[r.registry_rule] = r.id;
  }
  EXPECT_EQ(by_registry, (std::map<std::string, std::string>{
                             {"GB-TPS", "GB-TPS-CONSENT"}, {"CA-DNCL", "CA-DNCL-EXPRESS-CONSENT"}}));
  EXPECT_EQ(ReasonOf(ParseRegistryConsentRules("X\tGB-TPS\tORAL\tsrc\n").status()),
            "MALFORMED_RULE");
  EXPECT_EQ(ReasonOf(ParseRegistryConsentRules("X\tGB-TPS\tEXPRESS\tsrc\nY\tGB-TPS\tEXPRESS\tsrc\n")
                         .status()),
            "MALFORMED_RULE");
}

}  // namespace
}  // namespace dialgrid::compliance
