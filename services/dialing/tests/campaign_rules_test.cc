// Campaign rules: validation, defaults, updates and the lifecycle.
#include "services/dialing/domain/campaign_rules.h"

#include <gtest/gtest.h>

#include <functional>

#include "google/protobuf/util/time_util.h"
#include "services/common/core/errors.h"

namespace dialgrid::dialing {
namespace {

using google::protobuf::util::TimeUtil;

v1::Campaign Valid() {
  v1::Campaign c;
  c.set_display_name("Renewals");
  c.add_contact_lists("tenants/acme/contactLists/spring");
  c.set_mode(v1::CAMPAIGN_MODE_PREDICTIVE);
  c.set_max_lines(50);
  c.add_caller_ids("+13125550100");
  ApplyDefaults(c, "America/Chicago");
  return c;
}

std::string Reason(const v1::Campaign& c) { return ReasonOf(ValidateCampaign("acme", c)); }
std::string Field(const v1::Campaign& c) {
  return FieldOf(ValidateCampaign("acme", c));
}

TEST(CampaignRules, DefaultsAreTheLegalOnes) {
  v1::Campaign c = Valid();
  EXPECT_TRUE(ValidateCampaign("acme", c).ok()) << ValidateCampaign("acme", c);
  EXPECT_DOUBLE_EQ(c.abandon_target().max_rate(), 0.03);
  EXPECT_EQ(c.abandon_target().measurement(), v1::ABANDON_MEASUREMENT_PER_DAY_AND_30_DAYS);
  EXPECT_EQ(c.ring_timeout().seconds(), 25);
  EXPECT_EQ(c.max_lines_per_agent(), 3);
  EXPECT_EQ(c.machine().action(), v1::MACHINE_ACTION_HANG_UP);
  EXPECT_EQ(c.time_zone(), "America/Chicago");
  for (const char* key : {"", "0", "7", "*", "#"}) {  // empty: the replica's key
    c.set_opt_out_key(key);
    EXPECT_TRUE(ValidateCampaign("acme", c).ok()) << key;
  }
}

TEST(CampaignRules, EachBadSettingIsRefusedByName) {
  struct Case {
    const char* what;
    std::function<void(v1::Campaign&)> spoil;
    const char* reason;
    const char* field;
  };
  const std::vector<Case> cases = {
      {"no name", [](v1::Campaign& c) { c.clear_display_name(); }, "FIELD_REQUIRED",
       "campaign.display_name"},
      {"no list", [](v1::Campaign& c) { c.clear_contact_lists(); }, "FIELD_REQUIRED",
       "campaign.contact_lists"},
      {"another tenant's list",
       [](v1::Campaign& c) { c.set_contact_lists(0, "tenants/globex/contactLists/spring"); },
       "TENANT_MISMATCH", ""},  // PERMISSION_DENIED, the field in its metadata
      {"a list twice",
       [](v1::Campaign& c) { c.add_contact_lists("tenants/acme/contactLists/spring"); },
       "DUPLICATE_VALUE", "campaign.contact_lists"},
      {"no mode", [](v1::Campaign& c) { c.set_mode(v1::CAMPAIGN_MODE_UNSPECIFIED); },
       "FIELD_REQUIRED", "campaign.mode"},
      {"ring timeout under 15 s",
       [](v1::Campaign& c) { *c.mutable_ring_timeout() = TimeUtil::SecondsToDuration(14); },
       "VALUE_OUT_OF_RANGE", "campaign.ring_timeout"},
      {"AMD false-positive rate over 0.5",
       [](v1::Campaign& c) { c.mutable_machine()->set_false_positive_rate(0.6); },
       "VALUE_OUT_OF_RANGE", "campaign.machine.false_positive_rate"},
      {"negative AMD false-positive rate",
       [](v1::Campaign& c) { c.mutable_machine()->set_false_positive_rate(-0.01); },
       "VALUE_OUT_OF_RANGE", "campaign.machine.false_positive_rate"},
      {"ring timeout over 120 s",
       [](v1::Campaign& c) { *c.mutable_ring_timeout() = TimeUtil::SecondsToDuration(121); },
       "VALUE_OUT_OF_RANGE", "campaign.ring_timeout"},
      {"power ratio 0 in POWER",
       [](v1::Campaign& c) { c.set_mode(v1::CAMPAIGN_MODE_POWER); }, "VALUE_OUT_OF_RANGE",
       "campaign.power_ratio"},
      {"negative power ratio",
       [](v1::Campaign& c) {
         c.set_mode(v1::CAMPAIGN_MODE_POWER);
         c.set_power_ratio(-1);
       },
       "VALUE_OUT_OF_RANGE", "campaign.power_ratio"},
      {"power ratio above lines per agent",
       [](v1::Campaign& c) {
         c.set_mode(v1::CAMPAIGN_MODE_POWER);
         c.set_power_ratio(3.5);
       },
       "VALUE_OUT_OF_RANGE", "campaign.power_ratio"},
      {"a ratio outside POWER", [](v1::Campaign& c) { c.set_power_ratio(2); },
       "FIELD_NOT_APPLICABLE", "campaign.power_ratio"},
      {"abandon target over 3 %",
       [](v1::Campaign& c) { c.mutable_abandon_target()->set_max_rate(0.031); },
       "VALUE_OUT_OF_RANGE", "campaign.abandon_target.max_rate"},
      {"negative abandon target",
       [](v1::Campaign& c) { c.mutable_abandon_target()->set_max_rate(-0.01); },
       "VALUE_OUT_OF_RANGE", "campaign.abandon_target.max_rate"},
      {"no lines", [](v1::Campaign& c) { c.set_max_lines(0); }, "VALUE_OUT_OF_RANGE",
       "campaign.max_lines"},
      {"empty caller-id pool", [](v1::Campaign& c) { c.clear_caller_ids(); }, "FIELD_REQUIRED",
       "campaign.caller_ids"},
      {"a caller id not in E.164", [](v1::Campaign& c) { c.set_caller_ids(0, "3125550100"); },
       "INVALID_PHONE_NUMBER", "campaign.caller_ids"},
      {"a caller id twice", [](v1::Campaign& c) { c.add_caller_ids("+13125550100"); },
       "DUPLICATE_VALUE", "campaign.caller_ids"},
      {"a day 8",
       [](v1::Campaign& c) {
         auto* w = c.add_active_windows();
         w->add_days(8);
         w->set_start_minute(540);
         w->set_end_minute(1080);
       },
       "VALUE_OUT_OF_RANGE", "campaign.active_windows.days"},
      {"a window ending before it starts",
       [](v1::Campaign& c) {
         auto* w = c.add_active_windows();
         w->set_start_minute(600);
         w->set_end_minute(540);
       },
       "VALUE_OUT_OF_RANGE", "campaign.active_windows"},
      {"an unknown zone", [](v1::Campaign& c) { c.set_time_zone("Mars/Olympus"); },
       "UNKNOWN_TIME_ZONE", "campaign.time_zone"},
      {"a skill level 11",
       [](v1::Campaign& c) {
         auto* s = c.add_skills();
         s->set_name("spanish");
         s->set_min_level(11);
       },
       "VALUE_OUT_OF_RANGE", "campaign.skills.min_level"},
      {"a message without LEAVE_MESSAGE",
       [](v1::Campaign& c) { c.mutable_machine()->set_message_id("hello"); },
       "FIELD_NOT_APPLICABLE", "campaign.machine.message_id"},
      {"LEAVE_MESSAGE without a message",
       [](v1::Campaign& c) { c.mutable_machine()->set_action(v1::MACHINE_ACTION_LEAVE_MESSAGE); },
       "FIELD_REQUIRED", "campaign.machine.message_id"},
      {"agentless routing to an agent",
       [](v1::Campaign& c) {
         c.set_mode(v1::CAMPAIGN_MODE_AGENTLESS);
         c.set_agentless_message_id("renewal-reminder");
         c.mutable_machine()->set_action(v1::MACHINE_ACTION_ROUTE_TO_AGENT);
       },
       "FIELD_NOT_APPLICABLE", "campaign.machine.action"},
      {"a debt-collection campaign without its debt attribute",
       [](v1::Campaign& c) { c.set_purpose(type::v1::CALL_PURPOSE_DEBT_COLLECTION); },
       "FIELD_REQUIRED", "campaign.debt_attribute"},
      {"a product id with a space",
       [](v1::Campaign& c) { c.set_product("home insurance"); },
       "INVALID_PRODUCT", "campaign.product"},
      {"two opt-out keys", [](v1::Campaign& c) { c.set_opt_out_key("99"); },
       "INVALID_OPT_OUT_KEY", "campaign.opt_out_key"},
      {"a letter as the opt-out key", [](v1::Campaign& c) { c.set_opt_out_key("a"); },
       "INVALID_OPT_OUT_KEY", "campaign.opt_out_key"},
      {"an agentless campaign without its message",
       [](v1::Campaign& c) { c.set_mode(v1::CAMPAIGN_MODE_AGENTLESS); },
       "FIELD_REQUIRED", "campaign.agentless_message_id"},
      {"an agentless message outside AGENTLESS",
       [](v1::Campaign& c) { c.set_agentless_message_id("renewal-reminder"); },
       "FIELD_NOT_APPLICABLE", "campaign.agentless_message_id"},
      {"a debt attribute outside debt collection",
       [](v1::Campaign& c) { c.set_debt_attribute("account"); },
       "FIELD_NOT_APPLICABLE", "campaign.debt_attribute"},
      {"a retry without outcome",
       [](v1::Campaign& c) {
         auto* r = c.add_retries();
         *r->mutable_delay() = TimeUtil::SecondsToDuration(3600);
         r->set_max_attempts(3);
       },
       "FIELD_REQUIRED", "campaign.retries.outcome"},
      {"two rules for BUSY",
       [](v1::Campaign& c) {
         for (int i = 0; i < 2; ++i) {
           auto* r = c.add_retries();
           r->set_outcome(v1::RETRY_OUTCOME_BUSY);
           *r->mutable_delay() = TimeUtil::SecondsToDuration(3600);
           r->set_max_attempts(3);
         }
       },
       "DUPLICATE_VALUE", "campaign.retries.outcome"},
      {"a retry after 10 s",
       [](v1::Campaign& c) {
         auto* r = c.add_retries();
         r->set_outcome(v1::RETRY_OUTCOME_NO_ANSWER);
         *r->mutable_delay() = TimeUtil::SecondsToDuration(10);
         r->set_max_attempts(3);
       },
       "VALUE_OUT_OF_RANGE", "campaign.retries.delay"},
      {"a disposition code twice",
       [](v1::Campaign& c) {
         for (int i = 0; i < 2; ++i) {
           auto* d = c.add_dispositions();
           d->set_code("sale");
           d->set_outcome(v1::DISPOSITION_OUTCOME_SUCCESS);
         }
       },
       "DUPLICATE_VALUE", "campaign.dispositions.code"},
      {"a disposition without meaning",
       [](v1::Campaign& c) { c.add_dispositions()->set_code("x"); }, "FIELD_REQUIRED",
       "campaign.dispositions.outcome"},
      {"costs without currency",
       [](v1::Campaign& c) { c.mutable_costs()->set_per_minute_micros(20000); },
       "FIELD_REQUIRED", "campaign.costs.currency_code"},
      {"a currency that is not ISO",
       [](v1::Campaign& c) { c.mutable_costs()->set_currency_code("dollars"); },
       "INVALID_CURRENCY", "campaign.costs.currency_code"},
  };
  for (const auto& k : cases) {
    v1::Campaign c = Valid();
    k.spoil(c);
    EXPECT_EQ(Reason(c), k.reason) << k.what;
    EXPECT_EQ(Field(c), k.field) << k.what;
  }
}

TEST(CampaignRules, AnotherTenantsListIsPermissionDeniedBeforeAnythingIsRead) {
  v1::Campaign c = Valid();
  c.set_contact_lists(0, "tenants/globex/contactLists/spring");
  EXPECT_TRUE(absl::IsPermissionDenied(ValidateCampaign("acme", c)));
  v1::Campaign patch;
  patch.add_contact_lists("tenants/globex/contactLists/spring");
  absl::Status st = CheckPatchReferences("acme", patch, {"contact_lists"});
  EXPECT_TRUE(absl::IsPermissionDenied(st));
  EXPECT_EQ(ReasonOf(st), "TENANT_MISMATCH");
  // Named anywhere in the request, masked or not.
  EXPECT_TRUE(absl::IsPermissionDenied(CheckPatchReferences("acme", patch, {"display_name"})));
  patch.clear_contact_lists();
  EXPECT_TRUE(CheckPatchReferences("acme", patch, {"display_name"}).ok());
  EXPECT_EQ(ReasonOf(CheckPatchReferences("acme", patch, {})), "FIELD_REQUIRED");
  patch.add_skills()->set_name("tenants/globex/skills/x");
  EXPECT_EQ(ReasonOf(CheckPatchReferences("acme", patch, {"skills"})), "INVALID_ID");
}

TEST(CampaignRules, DebtsAreTakenOnlyAsComplianceTakesThem) {
  v1::Campaign c;
  c.set_purpose(type::v1::CALL_PURPOSE_DEBT_COLLECTION);
  c.set_debt_attribute("account");
  contacts::v1::Contact k;
  EXPECT_EQ(DebtOf(c, k), "");
  for (const char* bad : {"", "has space", "semi;colon", "\xc3\xa9"}) {
    (*k.mutable_attributes())["account"] = bad;
    EXPECT_EQ(DebtOf(c, k), "") << bad;
  }
  (*k.mutable_attributes())["account"] = std::string(129, 'a');
  EXPECT_EQ(DebtOf(c, k), "");
  (*k.mutable_attributes())["account"] = "ACC-1.2:3_4";
  EXPECT_EQ(DebtOf(c, k), "ACC-1.2:3_4");
  c.set_purpose(type::v1::CALL_PURPOSE_TELEMARKETING);
  EXPECT_EQ(DebtOf(c, k), "");  // only debt collection is about a debt
}

TEST(CampaignRules, POWERWithARatioWithinLinesPerAgentIsValid) {
  v1::Campaign c = Valid();
  c.set_mode(v1::CAMPAIGN_MODE_POWER);
  c.set_power_ratio(2.5);
  EXPECT_TRUE(ValidateCampaign("acme", c).ok());
  EXPECT_EQ(ComplianceMode(v1::CAMPAIGN_MODE_POWER), type::v1::DIALING_MODE_PREDICTIVE);
  EXPECT_EQ(ComplianceMode(v1::CAMPAIGN_MODE_PREVIEW), type::v1::DIALING_MODE_PREVIEW);
  // An undefined mode is checked as the strictest.
  EXPECT_EQ(ComplianceMode(static_cast<v1::CampaignMode>(99)), type::v1::DIALING_MODE_PREDICTIVE);
}

TEST(CampaignRules, UpdatesTouchOnlyTheMaskAndNeverOutputFields) {
  v1::Campaign current = Valid();
  current.set_state(v1::CAMPAIGN_STATE_RUNNING);
  v1::Campaign patch;
  patch.set_display_name("Renewals (spring)");
  patch.set_max_lines(10);
  patch.set_state(v1::CAMPAIGN_STATE_STOPPED);
  auto next = ApplyCampaignUpdate(current, patch, {"display_name"});
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->display_name(), "Renewals (spring)");
  EXPECT_EQ(next->max_lines(), 50);
  EXPECT_EQ(next->state(), v1::CAMPAIGN_STATE_RUNNING);
  patch.set_opt_out_key("#");
  next = ApplyCampaignUpdate(current, patch, {"opt_out_key"});
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->opt_out_key(), "#");
  for (const char* path : {"state", "name", "etag", "create_time", "nonsense"}) {
    EXPECT_EQ(ReasonOf(ApplyCampaignUpdate(current, patch, {path}).status()),
              "FIELD_NOT_UPDATABLE")
        << path;
  }
  EXPECT_EQ(ReasonOf(ApplyCampaignUpdate(current, patch, {}).status()), "FIELD_REQUIRED");
}

TEST(CampaignRules, TheLifecycle) {
  using S = v1::CampaignState;
  EXPECT_EQ(*NextState(S::CAMPAIGN_STATE_DRAFT, CampaignAction::kStart), S::CAMPAIGN_STATE_RUNNING);
  EXPECT_EQ(*NextState(S::CAMPAIGN_STATE_RUNNING, CampaignAction::kPause), S::CAMPAIGN_STATE_PAUSED);
  EXPECT_EQ(*NextState(S::CAMPAIGN_STATE_PAUSED, CampaignAction::kResume), S::CAMPAIGN_STATE_RUNNING);
  EXPECT_EQ(*NextState(S::CAMPAIGN_STATE_PAUSED, CampaignAction::kStop), S::CAMPAIGN_STATE_STOPPED);
  EXPECT_EQ(*NextState(S::CAMPAIGN_STATE_STOPPED, CampaignAction::kStart), S::CAMPAIGN_STATE_RUNNING);
  auto bad = NextState(S::CAMPAIGN_STATE_DRAFT, CampaignAction::kPause);
  EXPECT_EQ(ReasonOf(bad.status()), "ILLEGAL_TRANSITION");
  EXPECT_NE(bad.status().message().find("DRAFT"), std::string::npos);
  EXPECT_FALSE(NextState(S::CAMPAIGN_STATE_RUNNING, CampaignAction::kStart).ok());
  EXPECT_FALSE(NextState(S::CAMPAIGN_STATE_RUNNING, CampaignAction::kDelete).ok());
  EXPECT_FALSE(NextState(S::CAMPAIGN_STATE_PAUSED, CampaignAction::kDelete).ok());
  EXPECT_TRUE(NextState(S::CAMPAIGN_STATE_STOPPED, CampaignAction::kDelete).ok());
  EXPECT_FALSE(NextState(S::CAMPAIGN_STATE_UNSPECIFIED, CampaignAction::kStart).ok());
}

}  // namespace
}  // namespace dialgrid::dialing
