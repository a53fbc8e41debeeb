// Unit tests of the application layer (ComplianceManager) on the in-memory
// store (testing/fake_compliance_store.h): no Redis, an injected clock.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/core/clock.h"
#include "services/common/core/errors.h"
#include "services/common/core/files.h"
#include "services/compliance/application/compliance_manager.h"
#include "services/compliance/domain/dnc_index.h"
#include "services/compliance/domain/registry_manifest.h"
#include "services/compliance/testing/fake_compliance_store.h"
#include "tests/fixtures/servers.h"

namespace dialgrid::compliance {
namespace {

using google::protobuf::util::TimeUtil;
using testing::FakeComplianceStore;

constexpr char kTenant[] = "acme";
constexpr char kCampaign[] = "tenants/acme/campaigns/spring";
constexpr char kNy[] = "+12122010601";
constexpr char kCa[] = "+16502530077";
constexpr char kFl[] = "+13052010123";

type::v1::Date Day(int y, int m, int d) {
  type::v1::Date out;
  out.set_year(y);
  out.set_month(m);
  out.set_day(d);
  return out;
}

class ComplianceApplicationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Monday 2026-01-05 10:00 in New York.
    clock_.Set(absl::FromCivil(absl::CivilMinute(2026, 1, 5, 15, 0), absl::UTCTimeZone()));
    auto zones = geo::ZoneResolver::Load(DIALGRID_ZONE_DATA_DIR, "/usr/share/zoneinfo/zone.tab");
    ASSERT_TRUE(zones.ok()) << zones.status();
    zones_ = *zones;
    auto table = ReadFileToString(std::string(DIALGRID_COMPLIANCE_DATA_DIR) + "/calling_hours.tsv");
    ASSERT_TRUE(table.ok()) << table.status();
    auto presets = ParseCallingHours(*table);
    ASSERT_TRUE(presets.ok()) << presets.status();
    presets_ = *presets;
    dir_ = dialgrid::testing::MakeTempDir("compliance-application");
    store_ = std::make_shared<FakeComplianceStore>(clock_);
    manager_ = Manager({});
    SetRules();
  }

  // A manager on the fake store with these registries ("id:kind:path").
  std::unique_ptr<ComplianceManager> Manager(const std::vector<std::string>& specs) {
    auto regs = LoadRegistries(specs);
    EXPECT_TRUE(regs.ok()) << regs.status();
    return std::make_unique<ComplianceManager>(store_, zones_, presets_, *std::move(regs), clock_,
                                               ComplianceOptions{});
  }

  // Around-the-clock calling hours, a cap of 2 dials per day per number.
  void SetRules() {
    v1::UpdateRuleSetRequest req;
    v1::RuleSet& rs = *req.mutable_rule_set();
    rs.set_name(absl::StrCat("tenants/", kTenant, "/ruleSet"));
    rs.add_calling_hours_presets("KR-ICNA");
    auto* r = rs.add_custom_calling_hours();
    r->set_id("TEST-ALWAYS");
    r->set_jurisdiction("US");
    for (int i = 0; i < 7; ++i) r->add_weekday_windows("00:00-24:00");
    auto* cap = rs.add_number_caps();
    cap->set_id("2-PER-DAY");
    cap->set_max_attempts(2);
    *cap->mutable_window() = TimeUtil::SecondsToDuration(86400);
    ASSERT_TRUE(manager_->UpdateRuleSet(Actor{"admin", true}, req).ok());
  }

  absl::StatusOr<v1::DialDecision> Check(const std::string& number,
                                         const std::string& request_id = "") {
    v1::CheckDialRequest req;
    req.set_campaign(kCampaign);
    req.set_phone_number(number);
    req.set_dialing_mode(type::v1::DIALING_MODE_PREVIEW);
    req.set_request_id(request_id);
    return manager_->CheckDial(Actor{"dialer", false}, req);
  }

  v1::AddDoNotCallNumbersRequest AddRequest(const std::vector<std::string>& numbers,
                                            const std::string& request_id,
                                            const std::string& parent = "tenants/acme") {
    v1::AddDoNotCallNumbersRequest req;
    req.set_parent(parent);
    for (const auto& n : numbers) req.add_phone_numbers(n);
    req.set_reason("asked");
    req.set_request_id(request_id);
    return req;
  }

  // An index file holding `key` with a manifest dated `as_of`.
  std::string Index(const std::string& name, uint64_t key, absl::CivilDay as_of) {
    const std::string path = dir_ + "/" + name;
    DncIndexBuilder b;
    EXPECT_TRUE(b.Add(key).ok());
    auto index = b.Build();
    EXPECT_TRUE(index.ok());
    EXPECT_TRUE(index->WriteTo(path).ok());
    EXPECT_TRUE(WriteRegistryManifest(path, *index, as_of, 365).ok());
    return path;
  }

  FakeClock clock_;
  std::shared_ptr<const geo::ZoneResolver> zones_;
  std::vector<CallingHoursRule> presets_;
  std::string dir_;
  std::shared_ptr<FakeComplianceStore> store_;
  std::unique_ptr<ComplianceManager> manager_;
};

TEST_F(ComplianceApplicationTest, AnAllowedDialIsCountedAndTheCapThenDenies) {
  for (int i = 0; i < 2; ++i) {
    auto d = Check(kNy);
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_TRUE(d->allowed());
  }
  EXPECT_EQ(store_->Attempts(kTenant, kNy), 2);
  auto third = Check(kNy);
  ASSERT_TRUE(third.ok());
  EXPECT_FALSE(third->allowed());
  ASSERT_EQ(third->reasons_size(), 1);
  EXPECT_EQ(third->reasons(0).code(), "ATTEMPT_CAP_NUMBER");
  EXPECT_TRUE(third->has_next_allowed_time());
  EXPECT_EQ(store_->Attempts(kTenant, kNy), 2);  // a denied dial is not counted
}

// A number is in its own area code's zones, not every zone of its state
// (issue 21): a Miami number at 08:30 Eastern is allowed under Florida's
// 08:00 opening, where Florida's Central panhandle would still refuse it;
// a panhandle exchange listed as Central is refused until 08:00 Central.
TEST_F(ComplianceApplicationTest, CallingHoursAreTheNumbersOwnZonesNotItsStates) {
  v1::UpdateRuleSetRequest req;
  v1::RuleSet& rs = *req.mutable_rule_set();
  rs.set_name(absl::StrCat("tenants/", kTenant, "/ruleSet"));
  rs.add_calling_hours_presets("US-FED");
  rs.add_calling_hours_presets("US-FL");
  req.set_expected_version(1);
  ASSERT_TRUE(manager_->UpdateRuleSet(Actor{"admin", true}, req).ok());
  // Monday 2026-01-05 08:30 EST = 07:30 CST.
  clock_.Set(absl::FromCivil(absl::CivilMinute(2026, 1, 5, 13, 30), absl::UTCTimeZone()));
  auto miami = Check(kFl);
  ASSERT_TRUE(miami.ok()) << miami.status();
  EXPECT_TRUE(miami->allowed());
  EXPECT_EQ(std::vector<std::string>(miami->time_zones().begin(), miami->time_zones().end()),
            std::vector<std::string>{"America/New_York"});
  auto pensacola = Check("+18502001234");
  ASSERT_TRUE(pensacola.ok()) << pensacola.status();
  EXPECT_FALSE(pensacola->allowed());
  EXPECT_EQ(std::vector<std::string>(pensacola->time_zones().begin(),
                                     pensacola->time_zones().end()),
            std::vector<std::string>{"America/Chicago"});
  ASSERT_GE(pensacola->reasons_size(), 1);
  EXPECT_EQ(pensacola->reasons(0).code(), "OUTSIDE_CALLING_HOURS");
  EXPECT_EQ(pensacola->next_allowed_time().seconds(),
            absl::ToUnixSeconds(
                absl::FromCivil(absl::CivilMinute(2026, 1, 5, 14, 0), absl::UTCTimeZone())));
}

TEST_F(ComplianceApplicationTest, ARetriedCheckDialReturnsTheFirstDecision) {
  auto first = Check(kNy, "dial-1");
  auto again = Check(kNy, "dial-1");
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_EQ(first->decision_id(), again->decision_id());
  EXPECT_EQ(store_->Attempts(kTenant, kNy), 1);
}

TEST_F(ComplianceApplicationTest, AStaleRuleSetIsReloadedThenTheCheckGivesUp) {
  store_->MakeNextChecksStale(1);  // another replica changed the rules once
  auto d = Check(kNy);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->allowed());
  store_->MakeNextChecksStale(10);  // the rules keep changing
  auto busy = Check(kNy);
  EXPECT_EQ(busy.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(ReasonOf(busy.status()), "RULE_SET_CHANGING");
}

TEST_F(ComplianceApplicationTest, StorageErrorsFailClosed) {
  store_->FailNextWrite(absl::UnavailableError("redis down"));
  auto d = Check(kNy);
  EXPECT_EQ(d.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(ComplianceApplicationTest, ADoNotCallRetryAnswersAsTheFirstTimeAndAppliesOnce) {
  auto first = manager_->AddDoNotCall(Actor{"agent", false}, AddRequest({kNy, kCa}, "opt-out-1"));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->added(), 2);
  const size_t events = store_->events().size();

  // An administrator takes one number off again; the retry of the first
  // request must not put it back.
  v1::RemoveDoNotCallNumbersRequest remove;
  remove.set_parent("tenants/acme");
  remove.add_phone_numbers(kCa);
  remove.set_request_id("admin-1");
  auto removed = manager_->RemoveDoNotCall(Actor{"admin", false}, remove);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed->removed(), 1);

  auto retry = manager_->AddDoNotCall(Actor{"agent", false}, AddRequest({kNy, kCa}, "opt-out-1"));
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->added(), 2);  // the first answer
  EXPECT_EQ(retry->already_listed(), 0);
  EXPECT_EQ(store_->events().size(), events + 1);  // the removal's event only
  auto ca = Check(kCa);
  ASSERT_TRUE(ca.ok());
  EXPECT_TRUE(ca->allowed()) << "the retry re-added a removed number";

  // The removal's retry too.
  auto removed_again = manager_->RemoveDoNotCall(Actor{"admin", false}, remove);
  ASSERT_TRUE(removed_again.ok());
  EXPECT_EQ(removed_again->removed(), 1);
}

TEST_F(ComplianceApplicationTest, ARequestIdWithAnotherRequestIsRefused) {
  ASSERT_TRUE(manager_->AddDoNotCall(Actor{"agent", false}, AddRequest({kNy}, "r-1")).ok());
  auto other = manager_->AddDoNotCall(Actor{"agent", false}, AddRequest({kCa}, "r-1"));
  EXPECT_EQ(other.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ReasonOf(other.status()), "REQUEST_ID_REUSED");
  // Kept 24 hours, then the id is free again.
  clock_.Advance(absl::Hours(24) - absl::Seconds(1));
  EXPECT_EQ(
      ReasonOf(manager_->AddDoNotCall(Actor{"agent", false}, AddRequest({kCa}, "r-1")).status()),
      "REQUEST_ID_REUSED");
  clock_.Advance(absl::Seconds(2));
  EXPECT_TRUE(manager_->AddDoNotCall(Actor{"agent", false}, AddRequest({kCa}, "r-1")).ok());
  // Too long an id.
  auto long_id =
      manager_->AddDoNotCall(Actor{"agent", false}, AddRequest({kCa}, std::string(129, 'x')));
  EXPECT_EQ(ReasonOf(long_id.status()), "FIELD_TOO_LONG");
}

TEST_F(ComplianceApplicationTest, AnAddAndARemoveWithTheSameFieldsAreNotRetriesOfEachOther) {
  // Add and Remove requests have the same field numbers: identical bytes.
  ASSERT_TRUE(manager_->AddDoNotCall(Actor{"admin", false}, AddRequest({kNy}, "same-id")).ok());
  v1::RemoveDoNotCallNumbersRequest remove;
  remove.set_parent("tenants/acme");
  remove.add_phone_numbers(kNy);
  remove.set_reason("asked");
  remove.set_request_id("same-id");
  ASSERT_EQ(remove.SerializeAsString(), AddRequest({kNy}, "same-id").SerializeAsString());
  auto removed = manager_->RemoveDoNotCall(Actor{"admin", false}, remove);
  EXPECT_EQ(ReasonOf(removed.status()), "REQUEST_ID_REUSED") << removed.status();
  auto d = Check(kNy);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->allowed()) << "still listed";
}

TEST_F(ComplianceApplicationTest, AConsentRetryReturnsTheFirstRecordAndKeepsALaterRevocation) {
  v1::RecordConsentRequest rec;
  rec.set_parent("tenants/acme");
  rec.mutable_consent()->set_phone_number(kNy);
  rec.mutable_consent()->set_type(v1::CONSENT_TYPE_PRIOR_EXPRESS_WRITTEN);
  *rec.mutable_consent()->mutable_grant_time() =
      TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(clock_.Now() - absl::Hours(1)));
  rec.set_request_id("consent-1");
  auto first = manager_->RecordConsent(Actor{"agent", false}, rec);
  ASSERT_TRUE(first.ok()) << first.status();

  v1::RevokeConsentRequest revoke;
  revoke.set_name(first->name());
  revoke.set_request_id("revoke-1");
  clock_.Advance(absl::Minutes(1));
  auto revoked = manager_->RevokeConsent(Actor{"agent", false}, revoke);
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  ASSERT_TRUE(revoked->has_revoke_time());

  auto retry = manager_->RecordConsent(Actor{"agent", false}, rec);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_FALSE(retry->has_revoke_time());  // the first answer...
  v1::GetConsentRequest get;
  get.set_name(first->name());
  auto now = manager_->GetConsent(get);
  ASSERT_TRUE(now.ok());
  EXPECT_TRUE(now->has_revoke_time()) << "...but the revocation stands";

  // The revocation's retry answers with the same revocation time.
  clock_.Advance(absl::Minutes(1));
  auto revoked_again = manager_->RevokeConsent(Actor{"agent", false}, revoke);
  ASSERT_TRUE(revoked_again.ok());
  EXPECT_EQ(revoked_again->revoke_time().seconds(), revoked->revoke_time().seconds());
}

TEST_F(ComplianceApplicationTest, DoNotCallListsPageInNumberOrderPerList) {
  ASSERT_TRUE(manager_->AddDoNotCall(Actor{"agent", false}, AddRequest({kNy, kFl, kCa}, "")).ok());
  ASSERT_TRUE(manager_->AddDoNotCall(Actor{"agent", false}, AddRequest({kCa}, "", kCampaign)).ok());
  std::vector<std::string> seen;
  v1::ListDoNotCallEntriesRequest req;
  req.set_parent("tenants/acme");
  req.set_page_size(2);
  for (int page = 0; page < 5; ++page) {
    auto resp = manager_->ListDoNotCallEntries(req);
    ASSERT_TRUE(resp.ok()) << resp.status();
    for (const auto& e : resp->entries()) {
      seen.push_back(e.phone_number());
      EXPECT_EQ(e.list(), "tenant");
      EXPECT_EQ(e.reason(), "asked");
      EXPECT_EQ(e.added_by(), "agent");
    }
    if (resp->next_page_token().empty()) break;
    req.set_page_token(resp->next_page_token());
  }
  EXPECT_EQ(seen, (std::vector<std::string>{kNy, kFl, kCa}));  // "+1212…" < "+1305…" < "+1650…"

  // A token belongs to its list.
  v1::ListDoNotCallEntriesRequest campaign;
  campaign.set_parent(kCampaign);
  campaign.set_page_token(req.page_token());
  EXPECT_EQ(ReasonOf(manager_->ListDoNotCallEntries(campaign).status()), "INVALID_PAGE_TOKEN");
  campaign.clear_page_token();
  auto c = manager_->ListDoNotCallEntries(campaign);
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->entries_size(), 1);
  EXPECT_EQ(c->entries(0).list(), "campaign:spring");
  campaign.set_page_size(1001);
  EXPECT_EQ(ReasonOf(manager_->ListDoNotCallEntries(campaign).status()), "INVALID_PAGE_SIZE");
}

TEST_F(ComplianceApplicationTest, RegistriesAreNamedAndDatesAreCalendarDays) {
  const std::string path = Index("us.dncidx", 6502530077, absl::CivilDay(2026, 1, 1));
  manager_ = Manager({"us-dnc:dnc:" + path});
  v1::ListRegistriesResponse list = manager_->ListRegistries();
  ASSERT_EQ(list.registries_size(), 1);
  EXPECT_EQ(list.registries(0).name(), "registries/us-dnc");
  EXPECT_FALSE(absl::StrContains(list.DebugString(), dir_)) << "a server path leaks";

  v1::UpdateRegistryRequest update;
  update.set_name("registries/us-dnc");
  *update.mutable_as_of() = Day(2026, 2, 30);
  auto bad = manager_->UpdateRegistry(Actor{"vendor", true}, update);
  EXPECT_EQ(ReasonOf(bad.status()), "INVALID_DATE");
  *update.mutable_as_of() = Day(2026, 1, 4);
  update.add_add_numbers(kNy);
  auto ok = manager_->UpdateRegistry(Actor{"vendor", true}, update);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_FALSE(absl::StrContains(ok->DebugString(), dir_));
  // The event carries the dates as dates.
  const auto events = store_->events();
  v1::RegistryChanged changed;
  ASSERT_TRUE(events.back().payload().UnpackTo(&changed));
  EXPECT_EQ(changed.as_of().day(), 4);
  EXPECT_EQ(changed.change_date().month(), 1);

  v1::PruneRegistryOverlayRequest prune;
  prune.set_name("registries/us-dnc");
  EXPECT_EQ(ReasonOf(manager_->PruneRegistryOverlay(Actor{"vendor", true}, prune).status()),
            "FIELD_REQUIRED");
  *prune.mutable_through() = Day(2025, 0, 31);
  EXPECT_EQ(ReasonOf(manager_->PruneRegistryOverlay(Actor{"vendor", true}, prune).status()),
            "INVALID_DATE");
  *prune.mutable_through() = Day(2025, 12, 31);
  EXPECT_TRUE(manager_->PruneRegistryOverlay(Actor{"vendor", true}, prune).ok());
}

}  // namespace
}  // namespace dialgrid::compliance
