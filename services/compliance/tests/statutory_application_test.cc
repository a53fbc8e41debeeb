// The law's rows besides calling hours (data/consent_rules.tsv,
// attempt_caps.tsv, lockouts.tsv) through ComplianceManager on the in-memory
// store, with the rule doc's own examples and edge instants (issue 21).
// The Redis script is held to the same answers by compliance.component.*.

#include <gtest/gtest.h>

#include <cmath>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/core/clock.h"
#include "services/common/core/errors.h"
#include "services/common/core/files.h"
#include "dialgrid/event/v1/envelope.pb.h"
#include "services/common/phone/phone_numbers.h"
#include "services/compliance/application/compliance_manager.h"
#include "services/compliance/testing/fake_compliance_store.h"
#include "tests/fixtures/servers.h"

namespace dialgrid::compliance {
namespace {

using google::protobuf::util::TimeUtil;
using testing::FakeComplianceStore;
using type::v1::DialingMode;

constexpr char kCampaign[] = "tenants/acme/campaigns/spring";
constexpr char kNy[] = "+12122010601";   // New York, FIXED_LINE_OR_MOBILE
constexpr char kFl[] = "+13052010123";   // Miami
constexpr char kFl2[] = "+13052010124";  // the same person's second number
constexpr char kGb[] = "+442079460000";  // London, fixed line
constexpr char kContact[] = "tenants/acme/contactLists/l/contacts/c1";

class StatutoryApplicationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Wednesday 2026-01-07 16:00 UTC: 11:00 in New York and Miami, 16:00 in London.
    clock_.Set(absl::FromCivil(absl::CivilMinute(2026, 1, 7, 16, 0), absl::UTCTimeZone()));
    auto zones = geo::ZoneResolver::Load(DIALGRID_ZONE_DATA_DIR, "/usr/share/zoneinfo/zone.tab");
    ASSERT_TRUE(zones.ok()) << zones.status();
    auto table = ReadFileToString(std::string(DIALGRID_COMPLIANCE_DATA_DIR) + "/calling_hours.tsv");
    ASSERT_TRUE(table.ok());
    auto presets = ParseCallingHours(*table);
    ASSERT_TRUE(presets.ok());
    auto statutory = LoadStatutoryRules(DIALGRID_COMPLIANCE_DATA_DIR);
    ASSERT_TRUE(statutory.ok()) << statutory.status();
    ComplianceOptions options;
    options.statutory = *std::move(statutory);
    store_ = std::make_shared<FakeComplianceStore>(clock_);
    manager_ = std::make_unique<ComplianceManager>(store_, *zones, *std::move(presets),
                                                   std::vector<std::unique_ptr<Registry>>{},
                                                   clock_, options);
    v1::UpdateRuleSetRequest req;
    req.mutable_rule_set()->set_name("tenants/acme/ruleSet");  // every preset, no tenant caps
    ASSERT_TRUE(manager_->UpdateRuleSet(Actor{"admin", true}, req).ok());
  }

  absl::StatusOr<v1::DialDecision> Check(const std::string& number, DialingMode mode,
                                         type::v1::CallPurpose purpose = type::v1::CALL_PURPOSE_UNSPECIFIED,
                                         const std::string& debt = "",
                                         const std::string& contact = "",
                                         const std::string& region = "") {
    v1::CheckDialRequest req;
    req.set_campaign(kCampaign);
    req.set_phone_number(number);
    req.set_dialing_mode(mode);
    req.set_purpose(purpose);
    req.set_debt(debt);
    req.set_contact(contact);
    req.mutable_callee()->set_region(region);
    return manager_->CheckDial(Actor{"dialer", false}, req);
  }

  void Consent(const std::string& number, v1::ConsentType type) {
    v1::RecordConsentRequest req;
    req.set_parent("tenants/acme");
    req.mutable_consent()->set_phone_number(number);
    req.mutable_consent()->set_type(type);
    *req.mutable_consent()->mutable_grant_time() =
        TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(clock_.Now() - absl::Hours(1)));
    auto c = manager_->RecordConsent(Actor{"agent", false}, req);
    ASSERT_TRUE(c.ok()) << c.status();
  }

  void CallEnded(const std::string& number, dialing::v1::CallOutcome outcome, absl::Time end,
                 const std::string& id) {
    dialing::v1::CallAttemptEnded call;
    call.set_phone_number(number);
    call.set_outcome(outcome);
    *call.mutable_dial_time() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(end) - 30000);
    *call.mutable_end_time() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(end));
    ASSERT_TRUE(store_->ApplyCallEvent("acme", id, call, absl::Hours(24), absl::Hours(24)).ok());
  }

  static std::vector<std::string> Codes(const v1::DialDecision& d) {
    std::vector<std::string> out;
    for (const auto& r : d.reasons()) out.push_back(r.code());
    return out;
  }

  FakeClock clock_;
  std::shared_ptr<FakeComplianceStore> store_;
  std::unique_ptr<ComplianceManager> manager_;
};

// Rule doc 2.1: autodialed calls to wireless numbers need prior express
// written consent; oral (express) consent does not meet it.
TEST_F(StatutoryApplicationTest, OralConsentDoesNotMeetTheWrittenConsentRule) {
  auto none = Check(kNy, type::v1::DIALING_MODE_PREDICTIVE);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(none->allowed());
  EXPECT_EQ(Codes(*none), std::vector<std::string>{"CONSENT_REQUIRED"});
  EXPECT_EQ(none->required_consent(), v1::CONSENT_TYPE_PRIOR_EXPRESS_WRITTEN);
  EXPECT_EQ(none->reasons(0).rule(), "US-TCPA-AUTODIALED-WIRELESS");
  EXPECT_FALSE(none->has_next_allowed_time());
  Consent(kNy, v1::CONSENT_TYPE_PRIOR_EXPRESS);
  auto oral = Check(kNy, type::v1::DIALING_MODE_PREDICTIVE);
  ASSERT_TRUE(oral.ok());
  EXPECT_FALSE(oral->allowed());
  EXPECT_EQ(Codes(*oral), std::vector<std::string>{"CONSENT_REQUIRED"});
  Consent(kNy, v1::CONSENT_TYPE_PRIOR_EXPRESS_WRITTEN);
  auto written = Check(kNy, type::v1::DIALING_MODE_PREDICTIVE);
  ASSERT_TRUE(written.ok());
  EXPECT_TRUE(written->allowed()) << written->DebugString();
  // A person dialing needs no consent.
  auto manual = Check("+12122010602", type::v1::DIALING_MODE_MANUAL);
  ASSERT_TRUE(manual.ok());
  EXPECT_TRUE(manual->allowed());
  EXPECT_EQ(manual->required_consent(), v1::CONSENT_TYPE_UNSPECIFIED);
}

// Florida: written consent for "automated system" calls, on top of the
// federal rows; a Florida area code is presumed a Florida resident even when
// the contact says New York.
TEST_F(StatutoryApplicationTest, FloridaAutomatedCallsNeedWrittenConsent) {
  auto d = Check(kFl, type::v1::DIALING_MODE_PROGRESSIVE, type::v1::CALL_PURPOSE_TELEMARKETING, "", "",
                 "NY");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_FALSE(d->allowed());
  EXPECT_EQ(Codes(*d), std::vector<std::string>{"CONSENT_REQUIRED"});
  EXPECT_NE(d->reasons(0).rule().find("US-FL-FTSA-AUTOMATED"), std::string::npos)
      << d->reasons(0).rule();
}

// Purpose: registries and state telemarketing rows restrict telemarketing;
// a debt-collection call must name its debt.
TEST_F(StatutoryApplicationTest, PurposeIsAnInputAndDebtCollectionNamesItsDebt) {
  auto missing = Check(kNy, type::v1::DIALING_MODE_MANUAL, type::v1::CALL_PURPOSE_DEBT_COLLECTION);
  EXPECT_EQ(ReasonOf(missing.status()), "DEBT_REQUIRED");
  auto bad = Check(kNy, type::v1::DIALING_MODE_MANUAL, type::v1::CALL_PURPOSE_DEBT_COLLECTION, "a b");
  EXPECT_EQ(ReasonOf(bad.status()), "INVALID_DEBT");
  auto undefined = Check(kNy, type::v1::DIALING_MODE_MANUAL, static_cast<type::v1::CallPurpose>(9));
  EXPECT_EQ(ReasonOf(undefined.status()), "UNKNOWN_ENUM_VALUE");
  auto d = Check(kNy, type::v1::DIALING_MODE_MANUAL);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->purpose(), type::v1::CALL_PURPOSE_TELEMARKETING);  // unset reads as telemarketing
}

// Reg F: more than 7 calls within 7 consecutive days about a particular
// debt; per debt, not per number; the window is closed.
TEST_F(StatutoryApplicationTest, RegFSevenCallsInSevenDaysPerDebt) {
  const absl::Time start = clock_.Now();
  for (int i = 0; i < 7; ++i) {
    // The same debt over two numbers (the debtor's home and mobile).
    auto d = Check(i % 2 == 0 ? "+12122010611" : "+12122010612", type::v1::DIALING_MODE_MANUAL,
                   type::v1::CALL_PURPOSE_DEBT_COLLECTION, "loan-42");
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_TRUE(d->allowed()) << i << d->DebugString();
    clock_.Advance(absl::Minutes(10));
  }
  auto eighth = Check("+12122010613", type::v1::DIALING_MODE_MANUAL,
                      type::v1::CALL_PURPOSE_DEBT_COLLECTION, "loan-42");
  ASSERT_TRUE(eighth.ok());
  EXPECT_FALSE(eighth->allowed());
  EXPECT_EQ(Codes(*eighth), std::vector<std::string>{"ATTEMPT_CAP_DEBT"});
  EXPECT_EQ(eighth->reasons(0).rule(), "US-REGF-7-IN-7D");
  // The first call leaves the closed 7-day window 1 ms after 7 days.
  EXPECT_EQ(TimeUtil::TimestampToMilliseconds(eighth->next_allowed_time()),
            absl::ToUnixMillis(start + absl::Hours(24 * 7)) + 1);
  // Another debt of the same person is counted apart.
  auto other = Check("+12122010611", type::v1::DIALING_MODE_MANUAL,
                     type::v1::CALL_PURPOSE_DEBT_COLLECTION, "card-7");
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->allowed());
  // Exactly 7 days after the first call: still counted; 1 ms later: free.
  clock_.Set(start + absl::Hours(24 * 7));
  auto edge = Check("+12122010613", type::v1::DIALING_MODE_MANUAL,
                    type::v1::CALL_PURPOSE_DEBT_COLLECTION, "loan-42");
  ASSERT_TRUE(edge.ok());
  EXPECT_FALSE(edge->allowed());
  clock_.Set(start + absl::Hours(24 * 7) + absl::Milliseconds(1));
  auto after = Check("+12122010613", type::v1::DIALING_MODE_MANUAL,
                     type::v1::CALL_PURPOSE_DEBT_COLLECTION, "loan-42");
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->allowed()) << after->DebugString();
}

// Florida's 3 per 24 h: per person across all their numbers; a New York
// callee of the same tenant is not throttled by it.
TEST_F(StatutoryApplicationTest, FloridaCapCountsThePersonAcrossNumbersOnly) {
  for (int i = 0; i < 3; ++i) {
    auto d = Check(i == 1 ? kFl2 : kFl, type::v1::DIALING_MODE_MANUAL,
                   type::v1::CALL_PURPOSE_TELEMARKETING, "", kContact);
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_TRUE(d->allowed()) << i << d->DebugString();
  }
  auto fourth = Check(kFl2, type::v1::DIALING_MODE_MANUAL, type::v1::CALL_PURPOSE_TELEMARKETING, "",
                      kContact);
  ASSERT_TRUE(fourth.ok());
  EXPECT_FALSE(fourth->allowed());
  EXPECT_EQ(Codes(*fourth), std::vector<std::string>{"ATTEMPT_CAP_CONTACT"});
  EXPECT_EQ(fourth->reasons(0).rule(), "US-FL-FTSA-3-PER-24H");
  for (int i = 0; i < 5; ++i) {
    auto ny = Check(kNy, type::v1::DIALING_MODE_MANUAL, type::v1::CALL_PURPOSE_TELEMARKETING, "",
                    "tenants/acme/contactLists/l/contacts/ny");
    ASSERT_TRUE(ny.ok());
    EXPECT_TRUE(ny->allowed()) << i;
  }
}

// UK (rule doc 2.3): after an answering machine, no automated redial within
// 24 h; after an abandoned call, 72 h; a manual or preview dial is a
// guaranteed live operator. Windows are closed.
TEST_F(StatutoryApplicationTest, UkLockoutsAfterMachineAndAbandon) {
  auto first = Check(kGb, type::v1::DIALING_MODE_PROGRESSIVE);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->allowed()) << first->DebugString();  // GB-NONE: no statutory hours
  const absl::Time machine = clock_.Now();
  CallEnded(kGb, dialing::v1::CALL_OUTCOME_MACHINE, machine, "ev-1");
  clock_.Advance(absl::Hours(1));
  auto locked = Check(kGb, type::v1::DIALING_MODE_PROGRESSIVE);
  ASSERT_TRUE(locked.ok());
  EXPECT_FALSE(locked->allowed());
  EXPECT_EQ(Codes(*locked), std::vector<std::string>{"MACHINE_LOCKOUT"});
  EXPECT_EQ(locked->reasons(0).rule(), "GB-OFCOM-AMD-24H");
  EXPECT_EQ(TimeUtil::TimestampToMilliseconds(locked->next_allowed_time()),
            absl::ToUnixMillis(machine + absl::Hours(24)) + 1);
  auto manual = Check(kGb, type::v1::DIALING_MODE_MANUAL);
  ASSERT_TRUE(manual.ok());
  EXPECT_TRUE(manual->allowed());
  clock_.Set(machine + absl::Hours(24));
  EXPECT_FALSE(Check(kGb, type::v1::DIALING_MODE_PREDICTIVE)->allowed());
  clock_.Set(machine + absl::Hours(24) + absl::Milliseconds(1));
  EXPECT_TRUE(Check(kGb, type::v1::DIALING_MODE_PREDICTIVE)->allowed());

  const absl::Time abandoned = clock_.Now();
  CallEnded(kGb, dialing::v1::CALL_OUTCOME_ABANDONED, abandoned, "ev-2");
  clock_.Set(abandoned + absl::Hours(72));
  auto quiet = Check(kGb, type::v1::DIALING_MODE_PREDICTIVE);
  ASSERT_TRUE(quiet.ok());
  EXPECT_EQ(Codes(*quiet), std::vector<std::string>{"ABANDON_QUIET_PERIOD"});
  EXPECT_EQ(quiet->reasons(0).rule(), "GB-OFCOM-ABANDON-72H");
  EXPECT_TRUE(Check(kGb, type::v1::DIALING_MODE_PREVIEW)->allowed());
  clock_.Set(abandoned + absl::Hours(72) + absl::Milliseconds(1));
  EXPECT_TRUE(Check(kGb, type::v1::DIALING_MODE_PREDICTIVE)->allowed());
  // Not a UK number: the lockouts do not bind (no tenant quiet period).
  CallEnded(kNy, dialing::v1::CALL_OUTCOME_MACHINE, clock_.Now(), "ev-3");
  EXPECT_TRUE(Check(kNy, type::v1::DIALING_MODE_MANUAL)->allowed());
}

// Zones from the area code: every US state (and DC) and Canadian province
// resolves to its region, Washington state and DC included (issue 21).
TEST(AreaCodeRegions, EveryStateAndProvinceResolves) {
  auto zones = geo::ZoneResolver::Load(DIALGRID_ZONE_DATA_DIR, "/usr/share/zoneinfo/zone.tab");
  ASSERT_TRUE(zones.ok()) << zones.status();
  const std::vector<std::pair<const char*, const char*>> npa = {
      {"205", "AL"}, {"907", "AK"}, {"480", "AZ"}, {"479", "AR"}, {"213", "CA"}, {"303", "CO"},
      {"203", "CT"}, {"302", "DE"}, {"202", "DC"}, {"771", "DC"}, {"305", "FL"}, {"404", "GA"},
      {"808", "HI"}, {"208", "ID"}, {"312", "IL"}, {"317", "IN"}, {"319", "IA"}, {"316", "KS"},
      {"502", "KY"}, {"504", "LA"}, {"207", "ME"}, {"301", "MD"}, {"617", "MA"}, {"313", "MI"},
      {"612", "MN"}, {"601", "MS"}, {"314", "MO"}, {"406", "MT"}, {"402", "NE"}, {"702", "NV"},
      {"603", "NH"}, {"201", "NJ"}, {"505", "NM"}, {"212", "NY"}, {"704", "NC"}, {"701", "ND"},
      {"216", "OH"}, {"405", "OK"}, {"503", "OR"}, {"215", "PA"}, {"445", "PA"}, {"401", "RI"},
      {"803", "SC"}, {"605", "SD"}, {"615", "TN"}, {"214", "TX"}, {"801", "UT"}, {"802", "VT"},
      {"703", "VA"}, {"206", "WA"}, {"253", "WA"}, {"360", "WA"}, {"425", "WA"}, {"509", "WA"},
      {"564", "WA"}, {"304", "WV"}, {"414", "WI"}, {"307", "WY"}, {"403", "AB"}, {"604", "BC"},
      {"204", "MB"}, {"506", "NB"}, {"709", "NL"}, {"416", "ON"}, {"418", "QC"}, {"306", "SK"}};
  for (const auto& [area, state] : npa) {
    bool found = false;
    for (const char* nxx : {"201", "234", "345", "456", "555", "567", "678", "789"}) {
      auto n = phone::NormalizePhone(absl::StrCat("+1", area, nxx, "1234"), "");
      if (!n.ok()) continue;
      EXPECT_EQ((*zones)->NormalizeRegion("", n->nanp_region), state)
          << area << " \"" << n->nanp_region << "\"";
      found = true;
      break;
    }
    EXPECT_TRUE(found) << area;
  }
}


// ---- Reg F: no call within 7 days after a telephone conversation about the
// debt (rule doc 2.1, 12 CFR 1006.14(b)(2)(ii)); the conversation's day is
// day 1 in the callee's zone, so calls are allowed from the start of day 8.

class RegFConversationTest : public StatutoryApplicationTest {
 protected:
  static constexpr char kDebtor[] = "+12122010611";   // New York
  static constexpr char kDebtor2[] = "+12122010612";  // the debtor's other number

  // A dialing-service event: the call with `debt` ended at `end`.
  absl::Status DialingEvent(const std::string& number, dialing::v1::CallOutcome outcome,
                            const std::string& debt, absl::Time end, const std::string& id) {
    dialing::v1::CallAttemptEnded call;
    call.set_campaign(kCampaign);
    call.set_phone_number(number);
    call.set_outcome(outcome);
    call.set_debt(debt);
    *call.mutable_dial_time() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(end) - 60000);
    *call.mutable_end_time() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(end));
    event::v1::Envelope e;
    e.set_tenant("acme");
    e.set_event_id(id);
    e.set_type("dialgrid.dialing.v1.CallAttemptEnded");
    e.mutable_payload()->PackFrom(call);
    return manager_->HandleEvent(e);
  }

  v1::RecordCallOutcomeRequest Report(const std::string& number, dialing::v1::CallOutcome outcome,
                                      const std::string& debt, absl::Time end,
                                      const std::string& request_id) {
    v1::RecordCallOutcomeRequest req;
    req.set_parent("tenants/acme");
    req.set_request_id(request_id);
    dialing::v1::CallAttemptEnded* call = req.mutable_call();
    call->set_campaign(kCampaign);
    call->set_phone_number(number);
    call->set_outcome(outcome);
    call->set_debt(debt);
    call->set_dialing_mode(type::v1::DIALING_MODE_MANUAL);
    *call->mutable_dial_time() =
        TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(end) - 120000);
    *call->mutable_answer_time() =
        TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(end) - 110000);
    *call->mutable_end_time() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(end));
    return req;
  }

  absl::StatusOr<v1::DialDecision> ScrubAt(const std::string& number, const std::string& debt,
                                           absl::Time when) {
    v1::ScrubNumbersRequest req;
    req.set_campaign(kCampaign);
    req.set_dialing_mode(type::v1::DIALING_MODE_MANUAL);
    req.set_purpose(type::v1::CALL_PURPOSE_DEBT_COLLECTION);
    *req.mutable_dial_time() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(when));
    v1::ScrubEntry* e = req.add_entries();
    e->set_phone_number(number);
    e->set_debt(debt);
    auto resp = manager_->ScrubNumbers(Actor{"crm", false}, req);
    if (!resp.ok()) return resp.status();
    if (!resp->results(0).error().empty()) return absl::InternalError(resp->results(0).error());
    return resp->results(0).decision();
  }

  static absl::Time Ny(int day, int hour, int minute = 0) {
    absl::TimeZone ny;
    absl::LoadTimeZone("America/New_York", &ny);
    return absl::FromCivil(absl::CivilMinute(2026, 1, day, hour, minute), ny);
  }
  static int64_t Ms(const google::protobuf::Timestamp& t) {
    return TimeUtil::TimestampToMilliseconds(t);
  }
};

// The conversation (a dialing-service event) on Wednesday 2026-01-07 at
// 11:00 in New York is day 1: days 1-7 run to Tuesday 2026-01-13; calls about
// that debt are allowed from Wednesday 2026-01-14 00:00, to any number.
TEST_F(RegFConversationTest, NoCallAboutTheDebtUntilDayEight) {
  ASSERT_TRUE(DialingEvent(kDebtor, dialing::v1::CALL_OUTCOME_ANSWERED_CONNECTED, "loan-42",
                           clock_.Now(), "e1")
                  .ok());
  auto d = Check(kDebtor2, type::v1::DIALING_MODE_MANUAL, type::v1::CALL_PURPOSE_DEBT_COLLECTION,
                 "loan-42");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_FALSE(d->allowed());
  EXPECT_EQ(Codes(*d), std::vector<std::string>{"REG_F_CONVERSATION_LOCKOUT"});
  EXPECT_EQ(d->reasons(0).rule(), "US-REGF-CONVERSATION-7D");
  EXPECT_EQ(Ms(d->next_allowed_time()), absl::ToUnixMillis(Ny(14, 0)));
  // Per debt: another debt of the same person, and a call that is not about
  // a debt, are not locked out.
  EXPECT_TRUE(Check(kDebtor2, type::v1::DIALING_MODE_MANUAL, type::v1::CALL_PURPOSE_DEBT_COLLECTION,
                    "card-7")
                  ->allowed());
  EXPECT_TRUE(Check(kDebtor2, type::v1::DIALING_MODE_MANUAL,
                    type::v1::CALL_PURPOSE_INFORMATIONAL)->allowed());
  // Scrubs answer the same for a stated time: day 7 within calling hours is
  // refused by the lockout alone; its last instant by the hours too; day 8
  // within calling hours is allowed.
  auto day7 = ScrubAt(kDebtor2, "loan-42", Ny(13, 20, 59));
  ASSERT_TRUE(day7.ok()) << day7.status();
  EXPECT_EQ(Codes(*day7), std::vector<std::string>{"REG_F_CONVERSATION_LOCKOUT"});
  EXPECT_EQ(Ms(day7->next_allowed_time()), absl::ToUnixMillis(Ny(14, 0)));
  auto last = ScrubAt(kDebtor2, "loan-42", Ny(14, 0) - absl::Milliseconds(1));
  ASSERT_TRUE(last.ok());
  EXPECT_FALSE(last->allowed());
  bool lockout = false;
  for (const auto& r : last->reasons()) lockout |= r.code() == "REG_F_CONVERSATION_LOCKOUT";
  EXPECT_TRUE(lockout) << last->DebugString();
  auto day8 = ScrubAt(kDebtor2, "loan-42", Ny(14, 8));
  ASSERT_TRUE(day8.ok());
  EXPECT_TRUE(day8->allowed()) << day8->DebugString();
  // CheckDial on day 8 at 08:00: allowed.
  clock_.Set(Ny(14, 8));
  auto then = Check(kDebtor, type::v1::DIALING_MODE_PREDICTIVE, type::v1::CALL_PURPOSE_DEBT_COLLECTION,
                    "loan-42");
  ASSERT_TRUE(then.ok());
  for (const auto& r : then->reasons()) EXPECT_NE(r.code(), "REG_F_CONVERSATION_LOCKOUT");
}

// Only a conversation locks out: an attempt without one (no answer, an
// answering machine, an abandoned call) does not; but every CallAttemptEnded
// with a debt counts in Reg F's 7 calls in 7 days about that debt.
TEST_F(RegFConversationTest, CallEventsWithADebtCountPerDebt) {
  const dialing::v1::CallOutcome outcomes[] = {
      dialing::v1::CALL_OUTCOME_NO_ANSWER, dialing::v1::CALL_OUTCOME_MACHINE,
      dialing::v1::CALL_OUTCOME_BUSY, dialing::v1::CALL_OUTCOME_ABANDONED};
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(DialingEvent(i % 2 ? kDebtor : kDebtor2, outcomes[i % 4], "loan-42",
                             clock_.Now() - absl::Hours(6 - i), absl::StrCat("n", i))
                    .ok());
  }
  // A NOT_PLACED call is not an attempt.
  ASSERT_TRUE(DialingEvent(kDebtor, dialing::v1::CALL_OUTCOME_NOT_PLACED, "loan-42", clock_.Now(),
                           "np")
                  .ok());
  auto seventh = Check("+12122010613", type::v1::DIALING_MODE_MANUAL,
                       type::v1::CALL_PURPOSE_DEBT_COLLECTION, "loan-42");
  ASSERT_TRUE(seventh.ok());
  EXPECT_TRUE(seventh->allowed()) << seventh->DebugString();
  auto eighth = Check("+12122010613", type::v1::DIALING_MODE_MANUAL,
                      type::v1::CALL_PURPOSE_DEBT_COLLECTION, "loan-42");
  ASSERT_TRUE(eighth.ok());
  EXPECT_EQ(Codes(*eighth), std::vector<std::string>{"ATTEMPT_CAP_DEBT"});
  // A replayed event counts once.
  ASSERT_TRUE(DialingEvent(kDebtor, dialing::v1::CALL_OUTCOME_NO_ANSWER, "card-7", clock_.Now(),
                           "n0")
                  .ok());
  EXPECT_TRUE(Check(kDebtor, type::v1::DIALING_MODE_MANUAL, type::v1::CALL_PURPOSE_DEBT_COLLECTION,
                    "card-7")
                  ->allowed());
}

// A tenant's own dialer reports its calls through RecordCallOutcome: the
// same effects, idempotent by request id, tenant-scoped, validated.
TEST_F(RegFConversationTest, OwnDialerReportsAConversation) {
  const absl::Time end = clock_.Now() - absl::Minutes(5);
  auto first = manager_->RecordCallOutcome(
      Actor{"crm", false},
      Report(kDebtor, dialing::v1::CALL_OUTCOME_ANSWERED_CONNECTED, "loan-42", end, "r1"));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->conversation());
  EXPECT_EQ(first->reported_by(), "crm");
  EXPECT_EQ(first->call().phone_number(), kDebtor);
  auto d = Check(kDebtor2, type::v1::DIALING_MODE_MANUAL, type::v1::CALL_PURPOSE_DEBT_COLLECTION,
                 "loan-42");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(Codes(*d), std::vector<std::string>{"REG_F_CONVERSATION_LOCKOUT"});
  EXPECT_EQ(Ms(d->next_allowed_time()), absl::ToUnixMillis(Ny(14, 0)));
  EXPECT_EQ(store_->Attempts("acme", kDebtor), 1);
  // A retry answers with the first record and counts nothing again.
  clock_.Advance(absl::Seconds(3));
  auto retry = manager_->RecordCallOutcome(
      Actor{"crm", false},
      Report(kDebtor, dialing::v1::CALL_OUTCOME_ANSWERED_CONNECTED, "loan-42", end, "r1"));
  ASSERT_TRUE(retry.ok());
  EXPECT_EQ(Ms(retry->record_time()), Ms(first->record_time()));
  EXPECT_EQ(store_->Attempts("acme", kDebtor), 1);
  auto reused = manager_->RecordCallOutcome(
      Actor{"crm", false},
      Report(kDebtor, dialing::v1::CALL_OUTCOME_NO_ANSWER, "loan-42", end, "r1"));
  EXPECT_EQ(ReasonOf(reused.status()), "REQUEST_ID_REUSED");
  // A connected call without a debt is no conversation about one.
  auto plain = manager_->RecordCallOutcome(
      Actor{"crm", false},
      Report(kDebtor, dialing::v1::CALL_OUTCOME_ANSWERED_CONNECTED, "", end, "r2"));
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->conversation());
  EXPECT_EQ(store_->Attempts("acme", kDebtor), 2);
}

TEST_F(RegFConversationTest, RecordCallOutcomeRefusesBadInput) {
  const absl::Time end = clock_.Now();
  auto call = [&](std::function<void(v1::RecordCallOutcomeRequest&)> edit) {
    auto req = Report(kDebtor, dialing::v1::CALL_OUTCOME_ANSWERED_CONNECTED, "loan-42", end, "x");
    edit(req);
    return manager_->RecordCallOutcome(Actor{"crm", false}, req).status();
  };
  auto st = call([](auto& r) { r.mutable_call()->set_campaign("tenants/globex/campaigns/c"); });
  EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ReasonOf(st), "TENANT_MISMATCH");
  st = call([](auto& r) {
    r.mutable_call()->set_contact("tenants/globex/contactLists/l/contacts/c");
  });
  EXPECT_EQ(ReasonOf(st), "TENANT_MISMATCH");
  st = call([](auto& r) { r.mutable_call()->set_call("tenants/globex/calls/c1"); });
  EXPECT_EQ(ReasonOf(st), "TENANT_MISMATCH");
  EXPECT_EQ(ReasonOf(call([](auto& r) { r.clear_request_id(); })), "FIELD_REQUIRED");
  EXPECT_EQ(ReasonOf(call([](auto& r) { r.mutable_call()->set_phone_number("not a number"); })),
            "INVALID_PHONE_NUMBER");
  EXPECT_EQ(ReasonOf(call([](auto& r) {
              r.mutable_call()->set_outcome(dialing::v1::CALL_OUTCOME_UNSPECIFIED);
            })),
            "FIELD_REQUIRED");
  st = call([](auto& r) {
    r.mutable_call()->set_outcome(static_cast<dialing::v1::CallOutcome>(99));
  });
  EXPECT_EQ(ReasonOf(st), "UNKNOWN_ENUM_VALUE");
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(call([](auto& r) { r.mutable_call()->clear_dial_time(); })),
            "FIELD_REQUIRED");
  for (double fp : {-0.01, 0.51, std::nan("")}) {
    EXPECT_EQ(ReasonOf(call([fp](auto& r) { r.mutable_call()->set_amd_false_positive_rate(fp); })),
              "VALUE_OUT_OF_RANGE")
        << fp;
  }
  EXPECT_EQ(ReasonOf(call([&](auto& r) {
              *r.mutable_call()->mutable_end_time() = TimeUtil::MillisecondsToTimestamp(
                  absl::ToUnixMillis(end) - 200000);
            })),
            "INVALID_CALL_TIMES");
  EXPECT_EQ(ReasonOf(call([&](auto& r) {
              *r.mutable_call()->mutable_answer_time() =
                  TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(end) + 1);
            })),
            "INVALID_CALL_TIMES");
  EXPECT_EQ(ReasonOf(call([&](auto& r) {
              *r.mutable_call()->mutable_end_time() = TimeUtil::MillisecondsToTimestamp(
                  absl::ToUnixMillis(end + absl::Minutes(6)));
            })),
            "TIME_IN_FUTURE");
  EXPECT_EQ(ReasonOf(call([](auto& r) { r.mutable_call()->set_debt("no spaces"); })),
            "INVALID_DEBT");
  // Nothing of it was applied.
  EXPECT_EQ(store_->Attempts("acme", kDebtor), 0);
  EXPECT_TRUE(Check(kDebtor2, type::v1::DIALING_MODE_MANUAL, type::v1::CALL_PURPOSE_DEBT_COLLECTION,
                    "loan-42")
                  ->allowed());
}

// ---- Consent valid from its grant until its revocation, both at the times
// the client states (issue 21), audited with who entered them and when.
TEST_F(StatutoryApplicationTest, ConsentRevokedAtAStatedTime) {
  const absl::Time now = clock_.Now();
  v1::RecordConsentRequest rec;
  rec.set_parent("tenants/acme");
  rec.mutable_consent()->set_phone_number(kNy);
  rec.mutable_consent()->set_type(v1::CONSENT_TYPE_PRIOR_EXPRESS_WRITTEN);
  *rec.mutable_consent()->mutable_grant_time() =
      TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(now - absl::Hours(48)));
  auto granted = manager_->RecordConsent(Actor{"agent-7", false}, rec);
  ASSERT_TRUE(granted.ok()) << granted.status();
  EXPECT_EQ(granted->recorded_by(), "agent-7");
  EXPECT_EQ(TimeUtil::TimestampToMilliseconds(granted->record_time()), absl::ToUnixMillis(now));
  const std::string name = granted->name();

  auto revoke = [&](absl::optional<absl::Time> at, const std::string& id) {
    v1::RevokeConsentRequest req;
    req.set_name(name);
    req.set_request_id(id);
    if (at) *req.mutable_revoke_time() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(*at));
    return manager_->RevokeConsent(Actor{"supervisor-2", false}, req);
  };
  EXPECT_EQ(ReasonOf(revoke(now - absl::Hours(49), "a").status()), "REVOKED_BEFORE_GRANT");
  EXPECT_EQ(ReasonOf(revoke(now + absl::Minutes(6), "b").status()), "TIME_IN_FUTURE");
  // The callee revoked yesterday at this time; the clerk enters it now.
  const absl::Time stated = now - absl::Hours(24);
  auto revoked = revoke(stated, "c");
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  EXPECT_EQ(TimeUtil::TimestampToMilliseconds(revoked->revoke_time()), absl::ToUnixMillis(stated));
  EXPECT_EQ(revoked->revoked_by(), "supervisor-2");
  EXPECT_EQ(TimeUtil::TimestampToMilliseconds(revoked->revoke_record_time()),
            absl::ToUnixMillis(now));
  EXPECT_EQ(revoked->recorded_by(), "agent-7");  // the grant's audit stays

  auto scrub = [&](absl::Time at) {
    v1::ScrubNumbersRequest req;
    req.set_campaign(kCampaign);
    req.set_dialing_mode(type::v1::DIALING_MODE_PREDICTIVE);
    *req.mutable_dial_time() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(at));
    req.add_entries()->set_phone_number(kNy);
    auto r = manager_->ScrubNumbers(Actor{"crm", false}, req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r->results(0).decision();
  };
  // Valid up to the instant before the stated revocation, not from it.
  EXPECT_TRUE(scrub(stated - absl::Milliseconds(1)).allowed());
  EXPECT_EQ(Codes(scrub(stated)), std::vector<std::string>{"CONSENT_REQUIRED"});
  auto d = Check(kNy, type::v1::DIALING_MODE_PREDICTIVE);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(Codes(*d), std::vector<std::string>{"CONSENT_REQUIRED"});
  // A later revocation keeps the earlier one; an earlier one moves it.
  auto later = revoke(now - absl::Hours(1), "d");
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(TimeUtil::TimestampToMilliseconds(later->revoke_time()), absl::ToUnixMillis(stated));
  auto earlier = revoke(now - absl::Hours(30), "e");
  ASSERT_TRUE(earlier.ok());
  EXPECT_EQ(TimeUtil::TimestampToMilliseconds(earlier->revoke_time()),
            absl::ToUnixMillis(now - absl::Hours(30)));
  EXPECT_FALSE(scrub(stated - absl::Hours(1)).allowed());
}

// Korea's separate night consent and Japan's Art. 17 refusal on the
// in-memory store (the Redis scripts: RelationshipComponentTest).
TEST_F(StatutoryApplicationTest, KoreaNightConsentAndJapanRefusal) {
  const std::string kr = "+82212345678";
  auto scrub = [&](const std::string& number, absl::Time at, const std::string& product) {
    v1::ScrubNumbersRequest req;
    req.set_campaign(kCampaign);
    req.set_dialing_mode(type::v1::DIALING_MODE_PREVIEW);
    *req.mutable_dial_time() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(at));
    req.add_entries()->set_phone_number(number);
    req.mutable_entries(0)->set_product(product);
    auto r = manager_->ScrubNumbers(Actor{"crm", false}, req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->results(0).decision() : v1::DialDecision();
  };
  absl::TimeZone seoul;
  ASSERT_TRUE(absl::LoadTimeZone("Asia/Seoul", &seoul));
  const absl::Time night = absl::FromCivil(absl::CivilMinute(2026, 1, 8, 7, 59), seoul);
  Consent(kr, v1::CONSENT_TYPE_PRIOR_EXPRESS);
  const v1::DialDecision refused = scrub(kr, night, "");
  EXPECT_EQ(Codes(refused), std::vector<std::string>{"OUTSIDE_CALLING_HOURS"});
  EXPECT_EQ(TimeUtil::TimestampToMilliseconds(refused.next_allowed_time()),
            absl::ToUnixMillis(night + absl::Minutes(1)));
  EXPECT_TRUE(scrub(kr, night + absl::Minutes(1), "").allowed());
  v1::RecordConsentRequest req;
  req.set_parent("tenants/acme");
  req.mutable_consent()->set_phone_number(kr);
  req.mutable_consent()->set_type(v1::CONSENT_TYPE_PRIOR_EXPRESS);
  *req.mutable_consent()->mutable_grant_time() =
      TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(clock_.Now() - absl::Hours(1)));
  req.mutable_consent()->add_scopes(v1::CONSENT_SCOPE_NIGHT_HOURS);
  req.mutable_consent()->add_scopes(v1::CONSENT_SCOPE_NIGHT_HOURS);
  EXPECT_EQ(ReasonOf(manager_->RecordConsent(Actor{"crm", false}, req).status()),
            "DUPLICATE_SCOPE");
  req.mutable_consent()->set_scopes(1, static_cast<v1::ConsentScope>(9));
  EXPECT_EQ(ReasonOf(manager_->RecordConsent(Actor{"crm", false}, req).status()),
            "UNKNOWN_ENUM_VALUE");
  req.mutable_consent()->mutable_scopes()->RemoveLast();
  ASSERT_TRUE(manager_->RecordConsent(Actor{"crm", false}, req).ok());
  const v1::DialDecision waived = scrub(kr, night, "");
  EXPECT_TRUE(waived.allowed()) << waived.DebugString();
  ASSERT_EQ(waived.hour_waivers_size(), 1);
  EXPECT_EQ(waived.hour_waivers(0), "KR-ICNA-NIGHT");

  const std::string jp = "+81312345678";
  v1::RecordSolicitationRefusalRequest refuse;
  refuse.set_parent("tenants/acme");
  refuse.mutable_refusal()->set_phone_number(jp);
  refuse.mutable_refusal()->set_product("plan-a");
  *refuse.mutable_refusal()->mutable_refuse_time() =
      TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(clock_.Now()));
  ASSERT_TRUE(manager_->RecordSolicitationRefusal(Actor{"agent", false}, refuse).ok());
  EXPECT_TRUE(scrub(jp, clock_.Now() - absl::Milliseconds(1), "plan-a").allowed());
  EXPECT_EQ(Codes(scrub(jp, clock_.Now(), "plan-a")),
            std::vector<std::string>{"SOLICITATION_REFUSED"});
  EXPECT_TRUE(scrub(jp, clock_.Now(), "plan-b").allowed());
  EXPECT_FALSE(scrub(jp, clock_.Now(), "").allowed());
  v1::CheckDialRequest bad;
  bad.set_campaign(kCampaign);
  bad.set_phone_number(jp);
  bad.set_dialing_mode(type::v1::DIALING_MODE_PREVIEW);
  bad.set_product("plan a");
  EXPECT_EQ(ReasonOf(manager_->CheckDial(Actor{"dialer", false}, bad).status()), "INVALID_PRODUCT");
}

// Rule doc 2.7, Art. 17: "once a person indicates they will not contract,
// the business must not solicit that contract again". A refusal recorded
// for a contact binds the person: every number dialed for that contact, from
// the refusal's instant on, for that product (every product when it names
// none; a dial naming no product is refused by any). It does not bind
// another contact on the same number, nor a dial that names no contact; the
// number's own refusal keeps its behaviour.
TEST_F(StatutoryApplicationTest, JapanRefusalOfAPersonCoversAllTheirNumbers) {
  const std::string home = "+81312345678", mobile = "+819012345678";
  const std::string other = "tenants/acme/contactLists/l/contacts/c2";
  auto scrub = [&](const std::string& number, const std::string& contact, absl::Time at,
                   const std::string& product) {
    v1::ScrubNumbersRequest req;
    req.set_campaign(kCampaign);
    req.set_dialing_mode(type::v1::DIALING_MODE_PREVIEW);
    *req.mutable_dial_time() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(at));
    auto* e = req.add_entries();
    e->set_phone_number(number);
    e->set_contact(contact);
    e->set_product(product);
    auto r = manager_->ScrubNumbers(Actor{"crm", false}, req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->results(0).decision() : v1::DialDecision();
  };
  const absl::Time at = clock_.Now() - absl::Hours(1);
  v1::RecordSolicitationRefusalRequest refuse;
  refuse.set_parent("tenants/acme");
  refuse.mutable_refusal()->set_contact(kContact);
  refuse.mutable_refusal()->set_product("plan-a");
  *refuse.mutable_refusal()->mutable_refuse_time() =
      TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(at));
  auto recorded = manager_->RecordSolicitationRefusal(Actor{"agent", false}, refuse);
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  EXPECT_EQ(recorded->name(), "tenants/acme/solicitationRefusals/contact-l.c1.plan-a");
  EXPECT_EQ(recorded->contact(), kContact);
  EXPECT_EQ(recorded->phone_number(), "");
  // Heard on the home line; the mobile is refused too, from the refusal's
  // instant (1 ms before: allowed), for that product and for a dial naming none.
  for (const std::string& n : {home, mobile}) {
    EXPECT_TRUE(scrub(n, kContact, at - absl::Milliseconds(1), "plan-a").allowed()) << n;
    EXPECT_EQ(Codes(scrub(n, kContact, at, "plan-a")),
              std::vector<std::string>{"SOLICITATION_REFUSED"}) << n;
    EXPECT_FALSE(scrub(n, kContact, at, "").allowed()) << n;
    EXPECT_TRUE(scrub(n, kContact, at, "plan-b").allowed()) << n;
  }
  // Someone else on the same number, or a dial naming no contact: not this person.
  EXPECT_TRUE(scrub(mobile, other, at, "plan-a").allowed());
  EXPECT_TRUE(scrub(mobile, "", at, "plan-a").allowed());
  // CheckDial as well, by the contact it carries.
  v1::CheckDialRequest check;
  check.set_campaign(kCampaign);
  check.set_contact(kContact);
  check.set_phone_number(mobile);
  check.set_dialing_mode(type::v1::DIALING_MODE_PREVIEW);
  check.set_product("plan-a");
  auto checked = manager_->CheckDial(Actor{"dialer", false}, check);
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_EQ(Codes(*checked), std::vector<std::string>{"SOLICITATION_REFUSED"});
  check.set_product("plan-b");
  checked = manager_->CheckDial(Actor{"dialer", false}, check);
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_TRUE(checked->allowed()) << checked->DebugString();
  // A later refusal of the same person and product keeps the earlier one.
  *refuse.mutable_refusal()->mutable_refuse_time() =
      TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(clock_.Now()));
  auto again = manager_->RecordSolicitationRefusal(Actor{"agent", false}, refuse);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(TimeUtil::TimestampToMilliseconds(again->refuse_time()), absl::ToUnixMillis(at));
  // A person's refusal of every product refuses every product on every number.
  refuse.mutable_refusal()->set_product("");
  ASSERT_TRUE(manager_->RecordSolicitationRefusal(Actor{"agent", false}, refuse).ok());
  EXPECT_FALSE(scrub(mobile, kContact, clock_.Now(), "plan-b").allowed());
  EXPECT_TRUE(scrub(mobile, other, clock_.Now(), "plan-b").allowed());
  // The number's own refusal still binds whoever is dialed on it.
  v1::RecordSolicitationRefusalRequest by_number = refuse;
  by_number.mutable_refusal()->clear_contact();
  by_number.mutable_refusal()->set_phone_number(home);
  ASSERT_TRUE(manager_->RecordSolicitationRefusal(Actor{"agent", false}, by_number).ok());
  EXPECT_FALSE(scrub(home, other, clock_.Now(), "plan-b").allowed());
  EXPECT_FALSE(scrub(home, "", clock_.Now(), "plan-b").allowed());
  // Listed: numbers first, then people; paged across the two kinds.
  v1::ListSolicitationRefusalsRequest list;
  list.set_parent("tenants/acme");
  list.set_page_size(2);
  auto page = manager_->ListSolicitationRefusals(list);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->refusals_size(), 2);
  EXPECT_EQ(page->refusals(0).phone_number(), home);
  EXPECT_EQ(page->refusals(1).contact(), kContact);
  EXPECT_EQ(page->refusals(1).product(), "");
  list.set_page_token(page->next_page_token());
  page = manager_->ListSolicitationRefusals(list);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->refusals_size(), 1);
  EXPECT_EQ(page->refusals(0).product(), "plan-a");
  EXPECT_EQ(page->next_page_token(), "");
  // Bad input: another tenant's contact, both targets, neither, a bad name.
  v1::RecordSolicitationRefusalRequest bad = refuse;
  bad.mutable_refusal()->set_contact("tenants/other/contactLists/l/contacts/c1");
  auto st = manager_->RecordSolicitationRefusal(Actor{"agent", false}, bad).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ReasonOf(st), "TENANT_MISMATCH");
  bad = refuse;
  bad.mutable_refusal()->set_phone_number(home);
  EXPECT_EQ(ReasonOf(manager_->RecordSolicitationRefusal(Actor{"agent", false}, bad).status()),
            "REFUSAL_TARGET_CONFLICT");
  bad.mutable_refusal()->clear_contact();
  bad.mutable_refusal()->clear_phone_number();
  EXPECT_EQ(ReasonOf(manager_->RecordSolicitationRefusal(Actor{"agent", false}, bad).status()),
            "FIELD_REQUIRED");
  bad.mutable_refusal()->set_contact("tenants/acme/contacts/c1");
  EXPECT_EQ(ReasonOf(manager_->RecordSolicitationRefusal(Actor{"agent", false}, bad).status()),
            "MALFORMED_NAME");
}

// CheckDial says when a recording needs the announcement (rule doc 2.2,
// "all-party consent states", "strictest party location wins + announce
// recording"), on every decision, from the callee's resolved place and the
// rule set (always_announce_recording, recording_party_jurisdictions).
TEST_F(StatutoryApplicationTest, RecordingAnnouncementFromTheCalleesPlaceAndTheRuleSet) {
  auto ny = Check(kNy, type::v1::DIALING_MODE_PREVIEW);
  ASSERT_TRUE(ny.ok()) << ny.status();
  EXPECT_FALSE(ny->recording_announcement_required());
  EXPECT_EQ(ny->recording_rules_size(), 0);
  // Miami (area code presumed Florida): all-party.
  auto fl = Check(kFl, type::v1::DIALING_MODE_PREVIEW);
  ASSERT_TRUE(fl.ok());
  EXPECT_TRUE(fl->recording_announcement_required());
  ASSERT_EQ(fl->recording_rules_size(), 1);
  EXPECT_EQ(fl->recording_rules(0), "US-FL-934-03");
  // A New York number whose contact lives in California: both count.
  auto moved = Check(kNy, type::v1::DIALING_MODE_PREVIEW, type::v1::CALL_PURPOSE_UNSPECIFIED, "",
                     "", "CA");
  ASSERT_TRUE(moved.ok());
  EXPECT_TRUE(moved->recording_announcement_required());
  EXPECT_EQ(moved->recording_rules(0), "US-CA-PC632");
  // A refused dial says it too (London at 16:00 is allowed; no UK row).
  auto gb = Check(kGb, type::v1::DIALING_MODE_PREVIEW);
  ASSERT_TRUE(gb.ok());
  EXPECT_TRUE(gb->recording_announcement_required());
  EXPECT_EQ(gb->recording_rules(0), "RECORDING-LAW-UNKNOWN:GB");
  clock_.Set(clock_.Now() + absl::Hours(12));  // 23:00 in New York
  auto late = Check(kFl, type::v1::DIALING_MODE_PREVIEW);
  ASSERT_TRUE(late.ok());
  EXPECT_FALSE(late->allowed());
  EXPECT_TRUE(late->recording_announcement_required());
  clock_.Set(clock_.Now() - absl::Hours(12));

  // The rule set: the tenant's agents in California, then always.
  v1::UpdateRuleSetRequest req;
  req.mutable_rule_set()->set_name("tenants/acme/ruleSet");
  req.set_expected_version(1);
  req.mutable_rule_set()->add_recording_party_jurisdictions("US-CA");
  ASSERT_TRUE(manager_->UpdateRuleSet(Actor{"admin", true}, req).ok());
  auto agents = Check(kNy, type::v1::DIALING_MODE_PREVIEW);
  ASSERT_TRUE(agents.ok());
  EXPECT_TRUE(agents->recording_announcement_required());
  EXPECT_EQ(agents->recording_rules(0), "US-CA-PC632");
  req.set_expected_version(2);
  req.mutable_rule_set()->clear_recording_party_jurisdictions();
  req.mutable_rule_set()->set_always_announce_recording(true);
  ASSERT_TRUE(manager_->UpdateRuleSet(Actor{"admin", true}, req).ok());
  auto always = Check(kNy, type::v1::DIALING_MODE_PREVIEW);
  ASSERT_TRUE(always.ok());
  EXPECT_TRUE(always->recording_announcement_required());
  EXPECT_EQ(always->recording_rules(0), "rule_set.always_announce_recording");
  // The retry of a request id answers the first decision, field included.
  v1::CheckDialRequest dial;
  dial.set_campaign(kCampaign);
  dial.set_phone_number(kFl);
  dial.set_dialing_mode(type::v1::DIALING_MODE_PREVIEW);
  dial.set_request_id("rec-1");
  auto first = manager_->CheckDial(Actor{"dialer", false}, dial);
  auto again = manager_->CheckDial(Actor{"dialer", false}, dial);
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_EQ(again->decision_id(), first->decision_id());
  EXPECT_TRUE(again->recording_announcement_required());

  // Bad party jurisdictions are refused.
  req.set_expected_version(3);
  req.mutable_rule_set()->add_recording_party_jurisdictions("California");
  EXPECT_EQ(ReasonOf(manager_->UpdateRuleSet(Actor{"admin", true}, req).status()),
            "MALFORMED_JURISDICTION");
  req.mutable_rule_set()->clear_recording_party_jurisdictions();
  for (int i = 0; i < 11; ++i) req.mutable_rule_set()->add_recording_party_jurisdictions("US-CA");
  EXPECT_EQ(ReasonOf(manager_->UpdateRuleSet(Actor{"admin", true}, req).status()),
            "TOO_MANY_JURISDICTIONS");
}

// Rule doc 2.5: Australia's research calls (CALL_PURPOSE_RESEARCH) have
// their own hours; registries restrict telemarketing only; an undefined
// purpose is refused, never read as a wider permission.
TEST_F(StatutoryApplicationTest, AustralianResearchCallHours) {
  const std::string au = "+61291234567";  // Sydney, fixed line
  absl::TimeZone syd;
  ASSERT_TRUE(absl::LoadTimeZone("Australia/Sydney", &syd));
  // The callee's zone as the contact states it (a bare Australian number
  // has every Australian zone as candidates).
  auto CheckSyd = [&](const std::string& number, DialingMode mode,
                   type::v1::CallPurpose purpose = type::v1::CALL_PURPOSE_UNSPECIFIED) {
    v1::CheckDialRequest req;
    req.set_campaign(kCampaign);
    req.set_phone_number(number);
    req.set_dialing_mode(mode);
    req.set_purpose(purpose);
    req.mutable_callee()->add_time_zones("Australia/Sydney");
    return manager_->CheckDial(Actor{"dialer", false}, req);
  };
  // Sunday 11 January 2026, 10:00 in Sydney.
  clock_.Set(absl::FromCivil(absl::CivilMinute(2026, 1, 11, 10, 0), syd));
  auto research = CheckSyd(au, type::v1::DIALING_MODE_PREVIEW, type::v1::CALL_PURPOSE_RESEARCH);
  ASSERT_TRUE(research.ok()) << research.status();
  EXPECT_TRUE(research->allowed()) << research->DebugString();
  EXPECT_EQ(std::vector<std::string>(research->calling_hours_rules().begin(),
                                     research->calling_hours_rules().end()),
            std::vector<std::string>{"AU-RESEARCH"});
  EXPECT_EQ(research->purpose(), type::v1::CALL_PURPOSE_RESEARCH);
  auto tm = CheckSyd(au, type::v1::DIALING_MODE_PREVIEW, type::v1::CALL_PURPOSE_TELEMARKETING);
  ASSERT_TRUE(tm.ok());
  EXPECT_EQ(Codes(*tm), std::vector<std::string>{"DAY_BANNED"});
  auto unset = CheckSyd(au, type::v1::DIALING_MODE_PREVIEW);
  ASSERT_TRUE(unset.ok());
  EXPECT_EQ(Codes(*unset), std::vector<std::string>{"DAY_BANNED"});
  // Sunday 17:00: research is out until Monday 09:00.
  clock_.Set(absl::FromCivil(absl::CivilMinute(2026, 1, 11, 17, 0), syd));
  auto late = CheckSyd(au, type::v1::DIALING_MODE_PREVIEW, type::v1::CALL_PURPOSE_RESEARCH);
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(Codes(*late), std::vector<std::string>{"OUTSIDE_CALLING_HOURS"});
  EXPECT_EQ(TimeUtil::TimestampToMilliseconds(late->next_allowed_time()),
            absl::ToUnixMillis(absl::FromCivil(absl::CivilMinute(2026, 1, 12, 9, 0), syd)));
  EXPECT_EQ(ReasonOf(CheckSyd(au, type::v1::DIALING_MODE_PREVIEW,
                           static_cast<type::v1::CallPurpose>(5))
                         .status()),
            "UNKNOWN_ENUM_VALUE");

  // The presets list AU-RESEARCH with its purpose; a tenant rule may name
  // purposes too, but not an undefined or unspecified one.
  const v1::ListCallingHoursPresetsResponse presets = manager_->ListPresets();
  bool found = false;
  for (const auto& p : presets.presets()) {
    if (p.id() != "AU-RESEARCH") continue;
    found = true;
    ASSERT_EQ(p.purposes_size(), 1);
    EXPECT_EQ(p.purposes(0), type::v1::CALL_PURPOSE_RESEARCH);
  }
  EXPECT_TRUE(found);
  v1::UpdateRuleSetRequest req;
  req.mutable_rule_set()->set_name("tenants/acme/ruleSet");
  req.set_expected_version(1);
  auto* r = req.mutable_rule_set()->add_custom_calling_hours();
  r->set_id("ACME-RESEARCH-AU");
  r->set_jurisdiction("AU");
  for (int i = 0; i < 7; ++i) r->add_weekday_windows(i == 6 ? "-" : "10:00-16:00");
  r->set_source("acme policy");
  r->add_purposes(type::v1::CALL_PURPOSE_RESEARCH);
  ASSERT_TRUE(manager_->UpdateRuleSet(Actor{"admin", true}, req).ok());
  clock_.Set(absl::FromCivil(absl::CivilMinute(2026, 1, 11, 10, 0), syd));  // Sunday again
  auto own = CheckSyd(au, type::v1::DIALING_MODE_PREVIEW, type::v1::CALL_PURPOSE_RESEARCH);
  ASSERT_TRUE(own.ok());
  EXPECT_FALSE(own->allowed());
  req.set_expected_version(2);
  r->set_purposes(0, type::v1::CALL_PURPOSE_UNSPECIFIED);
  EXPECT_EQ(ReasonOf(manager_->UpdateRuleSet(Actor{"admin", true}, req).status()),
            "UNKNOWN_ENUM_VALUE");
  r->set_purposes(0, static_cast<type::v1::CallPurpose>(42));
  EXPECT_EQ(ReasonOf(manager_->UpdateRuleSet(Actor{"admin", true}, req).status()),
            "UNKNOWN_ENUM_VALUE");
}

}  // namespace
}  // namespace dialgrid::compliance
