// The KPI math and the event plans, without Redis or Kafka.
#include <gtest/gtest.h>

#include <map>

#include "absl/time/civil_time.h"
#include "services/common/core/errors.h"
#include "services/common/core/proto_time.h"
#include "services/reporting/domain/event_plan.h"
#include "services/reporting/domain/kpis.h"
#include "services/reporting/domain/report_range.h"
#include "services/reporting/tests/hand_scenario.h"

namespace dialgrid::reporting {
namespace {

using reporting::testing::At;
using reporting::testing::DayD;

google::protobuf::Timestamp Ts(absl::Time t) { return ToTimestamp(t); }
double Secs(const google::protobuf::Duration& d) { return d.seconds() + d.nanos() / 1e9; }

TEST(ReportRangeTest, WholeHoursOnly) {
  const auto s = Ts(At(9, 0)), e = Ts(At(11, 0)), odd = Ts(At(9, 0, 1));
  auto r = ParseRange(&s, &e, 100);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->hours(), 2);
  EXPECT_EQ(r->first * 3600, absl::ToUnixSeconds(At(9, 0)));
  EXPECT_EQ(ReasonOf(ParseRange(nullptr, &e, 100).status()), "REPORT_RANGE_INVALID");
  EXPECT_EQ(FieldOf(ParseRange(&odd, &e, 100).status()), "start_time");
  EXPECT_EQ(FieldOf(ParseRange(&e, &s, 100).status()), "end_time");
  EXPECT_EQ(FieldOf(ParseRange(&s, &s, 100).status()), "end_time");
  EXPECT_EQ(ReasonOf(ParseRange(&s, &e, 1).status()), "REPORT_RANGE_TOO_LONG");
  google::protobuf::Timestamp nanos = s;
  nanos.set_nanos(1);
  EXPECT_EQ(ReasonOf(ParseRange(&nanos, &e, 100).status()), "REPORT_RANGE_INVALID");
}

TEST(ReportRangeTest, SplitAtUtcMidnights) {
  // D 20:00 to D+2 03:00: 4 hours of D, all of D+1, 3 hours of D+2.
  const int64_t first = absl::ToUnixSeconds(At(20, 0)) / 3600;
  const auto spans = SplitByDay(HourRange{first, first + 4 + 24 + 3});
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_FALSE(spans[0].whole());
  EXPECT_EQ(spans[0].end_hour - spans[0].first_hour, 4);
  EXPECT_TRUE(spans[1].whole());
  EXPECT_EQ(spans[2].end_hour - spans[2].first_hour, 3);
  EXPECT_EQ(CivilDayOfHour(spans[1].first_hour), absl::CivilDay(2026, 11, 3));
  EXPECT_EQ(spans[1].day, DayOfHour(spans[1].first_hour));
}

// New York in November (UTC-5 after 1 November 2026): day D's UTC hours
// 00-04 are 1 November there, 05-23 2 November; read from hour buckets.
TEST(ReportRangeTest, SplitAtZoneMidnights) {
  const int64_t first = absl::ToUnixSeconds(DayD()) / 3600;
  auto spans = SplitByZoneDay(HourRange{first, first + 24}, "America/New_York");
  ASSERT_TRUE(spans.ok()) << spans.status();
  ASSERT_EQ(spans->size(), 2u);
  EXPECT_EQ((*spans)[0].civil, absl::CivilDay(2026, 11, 1));
  EXPECT_EQ((*spans)[0].end_hour - (*spans)[0].first_hour, 5);
  EXPECT_EQ((*spans)[1].civil, absl::CivilDay(2026, 11, 2));
  EXPECT_EQ((*spans)[1].end_hour - (*spans)[1].first_hour, 19);
  EXPECT_FALSE((*spans)[1].whole());  // never a UTC day bucket
  // A whole New York day: 24 hours, still from hour buckets.
  spans = SplitByZoneDay(HourRange{first + 5, first + 29}, "America/New_York");
  ASSERT_TRUE(spans.ok());
  ASSERT_EQ(spans->size(), 1u);
  EXPECT_FALSE((*spans)[0].whole());
  // UTC as SplitByDay; half-hour zones and unknown zones refused.
  spans = SplitByZoneDay(HourRange{first, first + 24}, "UTC");
  ASSERT_TRUE(spans.ok());
  EXPECT_TRUE((*spans)[0].whole());
  EXPECT_EQ(ReasonOf(SplitByZoneDay(HourRange{first, first + 24}, "Asia/Kolkata").status()),
            "TIME_ZONE_NOT_WHOLE_HOURS");
  EXPECT_EQ(ReasonOf(SplitByZoneDay(HourRange{first, first + 24}, "Mars/Olympus").status()),
            "UNKNOWN_TIME_ZONE");
}

TEST(EventPlanTest, AttemptsCountOncePerCall) {
  const auto events = reporting::testing::HandScenario("acme");
  // events[2] is c0's CallAttemptEnded (ABANDONED).
  const EventPlan p = PlanEvent(events[2].event);
  ASSERT_EQ(p.kind, PlanKind::kAdd);
  EXPECT_EQ(p.marker_mode, MarkerMode::kOnce);
  EXPECT_EQ(p.marker, "att:c0");
  EXPECT_EQ(p.campaign, "spring");
  ASSERT_EQ(p.increments.size(), 3u);
  EXPECT_EQ(p.increments[0].field, "u:attempts");
  EXPECT_EQ(p.increments[1].field, "c:spring:attempts");
  EXPECT_EQ(p.increments[2].field, "c:spring:abandoned");
}

TEST(EventPlanTest, ForeignNamesAndOtherTypesAreIgnored) {
  auto events = reporting::testing::HandScenario("acme");
  event::v1::Envelope e = events[2].event;
  e.set_tenant("globex");  // acme's call in globex's envelope
  EXPECT_EQ(PlanEvent(e).kind, PlanKind::kIgnore);
  e.set_tenant("");
  EXPECT_EQ(PlanEvent(e).kind, PlanKind::kIgnore);
  e = events[2].event;
  e.set_type("dialgrid.dialing.v1.CampaignHopperChanged");
  EXPECT_EQ(PlanEvent(e).kind, PlanKind::kIgnore);
  // A pool agent's status is not reported.
  agentstate::v1::AgentStatus s;
  s.set_agent("agentPools/p1/agents/zed");
  s.set_state(agentstate::v1::STATE_READY);
  *s.mutable_state_time() = Ts(At(9, 0));
  EXPECT_EQ(PlanEvent(reporting::testing::Envelope("acme", s.agent(), s, At(9, 0))).kind,
            PlanKind::kIgnore);
}

TEST(EventPlanTest, AnUpdatedCampaignsCostsAndSaleCodesAreTaken) {
  // What dialing publishes for an UpdateCampaign: the Campaign itself.
  dialing::v1::Campaign c;
  c.set_name("tenants/acme/campaigns/spring");
  c.mutable_costs()->set_currency_code("EUR");
  c.mutable_costs()->set_per_minute_micros(12000);
  c.mutable_costs()->set_per_attempt_micros(3000);
  auto* sale = c.add_dispositions();
  sale->set_code("sale");
  sale->set_sale(true);
  c.add_dispositions()->set_code("no-thanks");
  const EventPlan p = PlanEvent(reporting::testing::Envelope("acme", c.name(), c, At(10, 0)));
  ASSERT_EQ(p.kind, PlanKind::kConfig);
  EXPECT_EQ(p.config_key, "camp:spring");
  std::map<std::string, std::string> fields(p.config_fields.begin(), p.config_fields.end());
  EXPECT_EQ(fields["currency"], "EUR");
  EXPECT_EQ(fields["per_minute"], "12000");
  EXPECT_EQ(fields["per_attempt"], "3000");
  EXPECT_EQ(fields["sales"], "sale");
  // Another tenant's campaign in acme's envelope is not taken.
  c.set_name("tenants/globex/campaigns/spring");
  EXPECT_EQ(PlanEvent(reporting::testing::Envelope("acme", c.name(), c, At(10, 0))).kind,
            PlanKind::kIgnore);
}

TEST(EventPlanTest, TalkFromConnectToEnd) {
  dialing::v1::CallUpdated u;
  u.set_step("ENDED");
  u.mutable_call()->set_name("tenants/acme/calls/x1");
  u.mutable_call()->set_campaign("tenants/acme/campaigns/spring");
  *u.mutable_call()->mutable_connect_time() = Ts(At(9, 0));
  *u.mutable_call()->mutable_end_time() = Ts(At(9, 1, 1));
  const EventPlan p = PlanEvent(reporting::testing::Envelope("acme", "x", u, At(9, 2)));
  ASSERT_EQ(p.kind, PlanKind::kAdd);
  EXPECT_EQ(p.marker, "end:x1");
  Counters c;
  for (const auto& i : p.increments) c[i.field] += i.delta;
  EXPECT_EQ(c["u:connected_ms"], 61000);
  EXPECT_EQ(c["u:billable_min"], 2);  // 61 s rounds up to 2 minutes
  EXPECT_EQ(c["c:spring:talk_ms"], 61000);
  EXPECT_EQ(c["c:spring:handled"], 1);
  // Not connected: nothing.
  u.mutable_call()->clear_connect_time();
  EXPECT_EQ(PlanEvent(reporting::testing::Envelope("acme", "x", u, At(9, 2))).kind,
            PlanKind::kIgnore);
}

// Counters of a small campaign: 20 attempts, 8 connects, 2 abandoned,
// 1 message, 600 s talk, 120 s wrap, sales 2 of code "sale".
TEST(KpiTest, CampaignFiguresAndCosts) {
  Counters c = {{"c:k:attempts", 20},    {"c:k:connects", 8},  {"c:k:abandoned", 2},
                {"c:k:messages", 1},     {"c:k:handled", 8},   {"c:k:talk_ms", 600000},
                {"c:k:wrap_ms", 120000}, {"c:k:disp:sale", 2}, {"c:k:disp:no", 6},
                {"c:other:attempts", 99}};
  CampaignSettings s = CampaignSettingsOf({{"currency", "EUR"},
                                           {"per_minute", "10000"},
                                           {"per_attempt", "1000"},
                                           {"sales", "sale,win"}});
  const v1::CallFigures f = CampaignFigures(c, "k", s);
  EXPECT_EQ(f.attempts(), 20);
  EXPECT_EQ(f.live_answers(), 10);                // 8 + 2
  EXPECT_DOUBLE_EQ(f.contact_rate(), 11.0 / 20);  // (8 + 2 + 1) / 20
  EXPECT_DOUBLE_EQ(f.abandon_rate(), 0.2);        // 2 / 10
  EXPECT_EQ(Secs(f.average_handle_time()), 90);   // (600 + 120) / 8
  EXPECT_EQ(f.sales(), 2);
  EXPECT_DOUBLE_EQ(f.conversion_rate(), 0.25);  // 2 / 8
  const v1::CostFigures k = CostsOf(f, s);
  // 20 * 1,000 + 10 min * 10,000 = 120,000; per call 6,000; per sale 60,000.
  EXPECT_EQ(k.total_micros(), 120000);
  EXPECT_EQ(k.per_call_micros(), 6000);
  EXPECT_EQ(k.per_acquisition_micros(), 60000);
  EXPECT_FALSE(CostsOf(f, CampaignSettings()).known());
  // Nothing at all: no division by zero.
  const v1::CallFigures none = CampaignFigures({}, "k", s);
  EXPECT_EQ(none.contact_rate(), 0);
  EXPECT_EQ(none.abandon_rate(), 0);
  EXPECT_EQ(Secs(none.average_handle_time()), 0);
  EXPECT_EQ(CostsOf(none, s).per_acquisition_micros(), 0);
}

TEST(KpiTest, AgentFiguresAndTargets) {
  Counters c = {{"a:ann:ready_ms", 300000}, {"a:ann:talk_ms", 600000},
                {"a:ann:wrap_ms", 100000},  {"a:ann:nr_ms:lunch", 1800000},
                {"a:ann:calls", 4},         {"a:ann:disp:k:sale", 3},
                {"a:ann:disp:j:sale", 5}};  // campaign j does not count "sale"
  std::map<std::string, CampaignSettings> camps = {{"k", CampaignSettingsOf({{"sales", "sale"}})},
                                                   {"j", CampaignSettingsOf({{"sales", "win"}})}};
  AgentSettings s;
  s.calls_target = 8;
  s.sales_target = 6;
  s.occupancy_target = 0.8;
  const v1::AgentFigures f = AgentFiguresOf(c, "ann", camps, s);
  EXPECT_EQ(Secs(f.logged_in()), 2800);
  EXPECT_EQ(f.sales(), 3);
  EXPECT_DOUBLE_EQ(f.occupancy(), 0.7);           // 700 / 1000
  EXPECT_EQ(Secs(f.average_handle_time()), 175);  // 700 / 4
  EXPECT_DOUBLE_EQ(f.targets().calls_handled_progress(), 0.5);
  EXPECT_DOUBLE_EQ(f.targets().sales_progress(), 0.5);
  EXPECT_DOUBLE_EQ(f.targets().occupancy_progress(), 0.875);
  EXPECT_EQ(DispositionCampaignsOf(c, "ann"), (std::set<std::string>{"j", "k"}));
}

TEST(KpiTest, BillingPlansAndBill) {
  auto plans = ParseBillingPlans(
      "# tenant plan currency fixed incl_min min_price incl_bytes gib_price\n"
      "acme gold USD 500000000 1000 20000 0 1000000\n"
      "*    std  USD 100000000 100  30000 1073741824 2000000\n");
  ASSERT_TRUE(plans.ok()) << plans.status();
  ASSERT_NE(PlanFor(*plans, "acme"), nullptr);
  EXPECT_EQ(PlanFor(*plans, "acme")->name, "gold");
  EXPECT_EQ(PlanFor(*plans, "other")->name, "std");
  v1::Usage u;
  u.set_billable_minutes(150);
  u.set_recording_storage_bytes((int64_t{1} << 30) + 1);  // 1 byte over: 1 GiB started
  const v1::Bill b = BillOf(u, *PlanFor(*plans, "other"));
  EXPECT_EQ(b.overage_minutes(), 50);
  EXPECT_EQ(b.minutes_overage_micros(), 1500000);
  EXPECT_EQ(b.overage_storage_gib(), 1);
  EXPECT_EQ(b.total_micros(), 100000000 + 1500000 + 2000000);
  EXPECT_EQ(ReasonOf(ParseBillingPlans("acme gold USD 1 2 3\n").status()), "BILLING_PLANS_INVALID");
  EXPECT_EQ(ReasonOf(ParseBillingPlans("a p USD 1 1 1 1 1\na q USD 1 1 1 1 1\n").status()),
            "BILLING_PLANS_INVALID");
  EXPECT_EQ(ReasonOf(ParseBillingPlans("a p USD -1 1 1 1 1\n").status()), "BILLING_PLANS_INVALID");
}

}  // namespace
}  // namespace dialgrid::reporting
