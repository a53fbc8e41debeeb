// The consumer and the reports against real components: the hand scenario's
// envelopes (hand_scenario.h) published to the Kafka-protocol broker
// (tests/fixtures), consumed in a consumer group by the runtime's
// KafkaConsumer, applied by EventApplier to the Redis store (a real
// redis-server), and read back through ReportManager. Every expected figure
// is computed by hand in the comments from the scenario's table.
#include <gtest/gtest.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"
#include "services/common/core/errors.h"
#include "services/common/core/proto_time.h"
#include "services/common/core/random.h"
#include "services/common/kafka/kafka_consumer.h"
#include "services/common/kafka/kafka_producer.h"
#include "services/common/redis/redis_client.h"
#include "services/reporting/adapters/redis_report_store.h"
#include "services/reporting/application/event_applier.h"
#include "services/reporting/application/report_manager.h"
#include "services/reporting/tests/hand_scenario.h"
#include "tests/fixtures/servers.h"

namespace dialgrid::reporting {
namespace {

using dialgrid::testing::KafkaBroker;
using dialgrid::testing::RedisServer;
using google::protobuf::util::MessageDifferencer;
using reporting::testing::At;
using reporting::testing::DayD;

constexpr char kTenant[] = "acme";

double Secs(const google::protobuf::Duration& d) { return d.seconds() + d.nanos() / 1e9; }

// A consumer group over one store generation (key prefix).
struct Pipeline {
  std::shared_ptr<RedisReportStore> store;
  std::unique_ptr<EventApplier> applier;
  std::unique_ptr<ReportManager> manager;
  std::unique_ptr<kafka::KafkaConsumer> consumer;
};

class ReportingComponentTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto redis = RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = redis->release();
  }
  static void TearDownTestSuite() { delete redis_; }

  void SetUp() override {
    ASSERT_NE(redis_, nullptr);
    auto broker = KafkaBroker::Start({"dialing", "calls", "agents", "recordings"}, 3);
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
    redis::Options o;
    ASSERT_TRUE(redis::ParseAddress(redis_->address(), o).ok());
    o.pool_size = 4;
    auto c = redis::Client::Create(o);
    ASSERT_TRUE(c.ok()) << c.status();
    client_ = std::shared_ptr<redis::Client>(std::move(*c));
    ASSERT_TRUE(client_->Command({"FLUSHALL"}).ok());
    kafka::ProducerOptions po;
    po.bootstrap_servers = broker_->bootstrap();
    auto producer = kafka::KafkaProducer::Create(po);
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = std::move(*producer);
    auto plans = ParseBillingPlans("acme basic USD 100000000 10 30000 1000000 50000000\n");
    ASSERT_TRUE(plans.ok()) << plans.status();
    plans_ = *plans;
    main_ = Start("reporting", "rp1");
  }
  void TearDown() override {
    for (Pipeline* p : {&main_, &replay_}) {
      if (p->consumer != nullptr) p->consumer->Stop();
    }
    producer_.reset();
    broker_.reset();
  }

  Pipeline Start(const std::string& group, const std::string& prefix) {
    Pipeline p;
    RedisReportStoreOptions so;
    so.prefix = prefix;
    p.store = std::make_shared<RedisReportStore>(client_, so);
    p.applier = std::make_unique<EventApplier>(p.store, nullptr);
    ReportOptions ro;
    ro.plans = plans_;
    p.manager = std::make_unique<ReportManager>(p.store, ro);
    kafka::ConsumerOptions co;
    co.bootstrap_servers = broker_->bootstrap();
    co.group_id = group;
    co.topics = {"dialing", "calls", "agents", "recordings"};
    co.retry_backoff = absl::Milliseconds(20);
    EventApplier* applier = p.applier.get();
    auto c = kafka::KafkaConsumer::Create(
        co, [applier](const event::v1::Envelope& e) { return applier->Handle(e); },
        std::make_unique<kafka::StoreDedups>());
    EXPECT_TRUE(c.ok()) << c.status();
    if (c.ok()) {
      (*c)->Start();
      p.consumer = *std::move(c);
    }
    return p;
  }

  void Publish(const std::vector<reporting::testing::Published>& events) {
    for (const auto& p : events) {
      ASSERT_TRUE(producer_->Publish(p.topic, p.event).ok());
      ++published_;
    }
  }
  // Waits until the pipeline's consumer took every event published so far.
  bool Drained(Pipeline& p) {
    const absl::Time limit = absl::Now() + absl::Seconds(60);
    while (absl::Now() < limit) {
      if (p.consumer->handled() + p.consumer->duplicates() >= published_) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  static google::protobuf::Timestamp Ts(absl::Time t) { return ToTimestamp(t); }

  v1::CampaignReport Campaign(Pipeline& p, absl::Time start, absl::Time end) {
    v1::GetCampaignReportRequest req;
    req.set_campaign(absl::StrCat("tenants/", kTenant, "/campaigns/spring"));
    *req.mutable_start_time() = Ts(start);
    *req.mutable_end_time() = Ts(end);
    auto r = p.manager->GetCampaignReport(req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::CampaignReport();
  }
  v1::AgentReport Agents(Pipeline& p, const std::string& agent, const std::string& team,
                         absl::Time start, absl::Time end) {
    v1::GetAgentReportRequest req;
    req.set_agent(absl::StrCat("tenants/", kTenant, "/agents/", agent));
    req.set_team(team);
    *req.mutable_start_time() = Ts(start);
    *req.mutable_end_time() = Ts(end);
    auto r = p.manager->GetAgentReport(req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::AgentReport();
  }
  v1::Usage Usage(Pipeline& p, absl::Time start, absl::Time end) {
    v1::GetUsageRequest req;
    req.set_tenant(absl::StrCat("tenants/", kTenant));
    *req.mutable_start_time() = Ts(start);
    *req.mutable_end_time() = Ts(end);
    auto r = p.manager->GetUsage(req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::Usage();
  }
  std::string Csv(Pipeline& p, absl::Time start, absl::Time end) {
    v1::ExportReportCsvRequest req;
    req.set_parent(absl::StrCat("tenants/", kTenant));
    *req.mutable_start_time() = Ts(start);
    *req.mutable_end_time() = Ts(end);
    auto r = p.manager->ExportReportCsv(req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->csv() : "";
  }

  // Every report the scenario is checked with, for comparing generations
  // (text format: map entries in key order, unlike the wire format).
  std::vector<std::string> AllReports(Pipeline& p) {
    return {Campaign(p, At(9, 0), At(11, 0)).ShortDebugString(),
            Campaign(p, At(10, 0), At(11, 0)).ShortDebugString(),
            Campaign(p, DayD(), DayD() + absl::Hours(48)).ShortDebugString(),
            Agents(p, "-", "", At(8, 0), At(11, 0)).ShortDebugString(),
            Agents(p, "ann", "", At(10, 0), At(11, 0)).ShortDebugString(),
            Usage(p, DayD(), DayD() + absl::Hours(24)).ShortDebugString(),
            Csv(p, DayD(), DayD() + absl::Hours(24))};
  }

  // The hand-computed figures of the scenario (the table in hand_scenario.h).
  void ExpectHandFigures(Pipeline& p) {
    // Range D 09:00-11:00: every attempt of day D.
    const v1::CampaignReport r = Campaign(p, At(9, 0), At(11, 0));
    const v1::CallFigures& t = r.totals();
    // Attempts: c1-c10 (c11 NOT_PLACED is none; c0 is 10 days earlier) = 10.
    EXPECT_EQ(t.attempts(), 10);
    EXPECT_EQ(t.not_placed(), 1);  // c11
    EXPECT_EQ(t.no_answer(), 2);   // c7, c10
    EXPECT_EQ(t.busy(), 1);        // c8
    EXPECT_EQ(t.failed(), 0);
    EXPECT_EQ(t.machine(), 1);    // c9
    EXPECT_EQ(t.connects(), 5);   // c1-c5
    EXPECT_EQ(t.abandoned(), 1);  // c6
    EXPECT_EQ(t.messages_played(), 0);
    EXPECT_EQ(t.live_answers(), 6);               // 5 + 1
    EXPECT_DOUBLE_EQ(t.contact_rate(), 0.6);      // 6 / 10
    EXPECT_DOUBLE_EQ(t.abandon_rate(), 1.0 / 6);  // 1 / 6
    EXPECT_EQ(t.handled_calls(), 5);              // c1-c5 ended (c1's repeat not counted)
    EXPECT_EQ(Secs(t.talk()), 760);               // 120 + 45 + 200 + 300 + 95
    EXPECT_EQ(Secs(t.wrap_up()), 90);             // ann: 30 (09:05:05-09:05:35) + 60 (10:25-10:26)
    EXPECT_EQ(Secs(t.average_handle_time()), 170);  // (760 + 90) / 5
    EXPECT_EQ(t.sales(), 3);                        // c1, c3, c5 (corrected to sale)
    EXPECT_DOUBLE_EQ(t.conversion_rate(), 0.6);     // 3 / 5
    ASSERT_EQ(r.days_size(), 1);
    EXPECT_EQ(r.days(0).day().day(), 2);
    EXPECT_TRUE(MessageDifferencer::Equals(r.days(0).figures(), t));
    // Dispositions by code: callback c4; no-interest c2 (c5's moved to sale); sale c1 c3 c5.
    ASSERT_EQ(r.dispositions_size(), 3);
    EXPECT_EQ(r.dispositions(0).code(), "callback");
    EXPECT_EQ(r.dispositions(0).count(), 1);
    EXPECT_FALSE(r.dispositions(0).sale());
    EXPECT_EQ(r.dispositions(1).code(), "no-interest");
    EXPECT_EQ(r.dispositions(1).count(), 1);
    EXPECT_EQ(r.dispositions(2).code(), "sale");
    EXPECT_EQ(r.dispositions(2).count(), 3);
    EXPECT_TRUE(r.dispositions(2).sale());
    // Costs: 10 attempts * 5,000 + 760 s = 12.6667 min * 20,000 = 253,333.33 -> 253,333;
    // total 303,333 micros; per call 303,333 / 10 = 30,333.3 -> 30,333;
    // per sale 303,333 / 3 = 101,111.
    EXPECT_TRUE(r.costs().known());
    EXPECT_EQ(r.costs().currency_code(), "USD");
    EXPECT_EQ(r.costs().total_micros(), 303333);
    EXPECT_EQ(r.costs().per_call_micros(), 30333);
    EXPECT_EQ(r.costs().per_acquisition_micros(), 101111);
    // Ledger at D 11:00: 24 h: c6 over 6 live answers; 30 days adds c0 (D-10):
    // 2 abandoned over 7.
    EXPECT_EQ(r.abandon_ledger().last_24_hours().abandoned(), 1);
    EXPECT_EQ(r.abandon_ledger().last_24_hours().live_answers(), 6);
    EXPECT_DOUBLE_EQ(r.abandon_ledger().last_24_hours().rate(), 1.0 / 6);
    EXPECT_EQ(r.abandon_ledger().last_30_days().abandoned(), 2);
    EXPECT_EQ(r.abandon_ledger().last_30_days().live_answers(), 7);
    EXPECT_DOUBLE_EQ(r.abandon_ledger().last_30_days().rate(), 2.0 / 7);

    // Hour 10 alone: c2 c5 c8 c9 c10 = 5 attempts, c11 not placed; connects c2 c5;
    // talk 300 + 95 = 395 s; wrap 60 s (10:25-10:26); sales c5; AHT (395 + 60) / 2 = 227.5 s.
    const v1::CallFigures h10 = Campaign(p, At(10, 0), At(11, 0)).totals();
    EXPECT_EQ(h10.attempts(), 5);
    EXPECT_EQ(h10.not_placed(), 1);
    EXPECT_EQ(h10.connects(), 2);
    EXPECT_EQ(h10.abandoned(), 0);
    EXPECT_EQ(h10.handled_calls(), 2);
    EXPECT_EQ(Secs(h10.talk()), 395);
    EXPECT_EQ(Secs(h10.wrap_up()), 60);
    EXPECT_EQ(h10.sales(), 1);
    EXPECT_DOUBLE_EQ(Secs(h10.average_handle_time()), 227.5);

    // Two whole days (day buckets): the same totals, day D+1 empty.
    const v1::CampaignReport two = Campaign(p, DayD(), DayD() + absl::Hours(48));
    EXPECT_TRUE(MessageDifferencer::Equals(two.totals(), t)) << two.totals().DebugString();
    ASSERT_EQ(two.days_size(), 2);
    EXPECT_EQ(two.days(1).day().day(), 3);
    EXPECT_EQ(two.days(1).figures().attempts(), 0);

    // Days in New York (UTC-5): D's UTC day is 1 November 19:00 to 2 November
    // 19:00 there; every attempt of D (09:05-10:41 UTC) is on 2 November.
    v1::GetCampaignReportRequest ny;
    ny.set_campaign("tenants/acme/campaigns/spring");
    *ny.mutable_start_time() = Ts(DayD());
    *ny.mutable_end_time() = Ts(DayD() + absl::Hours(24));
    ny.set_time_zone("America/New_York");
    auto nyr = p.manager->GetCampaignReport(ny);
    ASSERT_TRUE(nyr.ok()) << nyr.status();
    ASSERT_EQ(nyr->days_size(), 2);
    EXPECT_EQ(nyr->days(0).day().day(), 1);
    EXPECT_EQ(nyr->days(0).figures().attempts(), 0);
    EXPECT_EQ(nyr->days(1).day().day(), 2);
    EXPECT_EQ(nyr->days(1).figures().attempts(), 10);
    EXPECT_TRUE(MessageDifferencer::Equals(nyr->totals(), t));

    // Agent ann, D 08:00-11:00 (she is logged in 08:50-10:30 = 6,000 s):
    //   not ready: login 08:50-09:00 = 600 s, lunch 09:30-10:15 = 2,700 s -> 3,300 s
    //   talk: reservation confirmed 09:03:00-09:03:05 = 5 s + 09:03:05-09:05:05 = 120 s
    //         + 10:20-10:25 = 300 s -> 425 s
    //   wrap-up: 30 s + 60 s = 90 s
    //   ready: 09:00-09:03 180 + 09:05:35-09:20:00 865 + released reservation
    //          09:20:00-09:20:10 10 + 09:20:10-09:30 590 + 10:15-10:20 300
    //          + 10:26-10:30 240 = 2,185 s
    //   logged in 2,185 + 425 + 90 + 3,300 = 6,000 s; calls handled 2 (ON_CALL left
    //   twice); sales 1 (c1); occupancy (425 + 90) / (425 + 90 + 2,185) = 515 / 2,700;
    //   AHT 515 / 2 = 257.5 s; targets 4 calls, 2 sales, 0.5 occupancy.
    const v1::AgentReport all = Agents(p, "-", "", At(8, 0), At(11, 0));
    ASSERT_EQ(all.agents_size(), 2);  // ann (states), bob (dispositions only)
    const v1::AgentFigures& ann = all.agents(0);
    EXPECT_EQ(ann.agent(), "tenants/acme/agents/ann");
    EXPECT_EQ(ann.team(), "north");
    EXPECT_EQ(Secs(ann.logged_in()), 6000);
    EXPECT_EQ(Secs(ann.ready()), 2185);
    EXPECT_EQ(Secs(ann.talk()), 425);
    EXPECT_EQ(Secs(ann.wrap_up()), 90);
    EXPECT_EQ(Secs(ann.not_ready()), 3300);
    ASSERT_EQ(ann.not_ready_by_reason().size(), 2u);
    EXPECT_EQ(Secs(ann.not_ready_by_reason().at("login")), 600);
    EXPECT_EQ(Secs(ann.not_ready_by_reason().at("lunch")), 2700);
    EXPECT_EQ(ann.calls_handled(), 2);
    EXPECT_EQ(ann.sales(), 1);
    EXPECT_DOUBLE_EQ(ann.occupancy(), 515.0 / 2700);
    EXPECT_DOUBLE_EQ(Secs(ann.average_handle_time()), 257.5);
    EXPECT_EQ(ann.targets().calls_handled_target(), 4);
    EXPECT_DOUBLE_EQ(ann.targets().calls_handled_progress(), 0.5);  // 2 / 4
    EXPECT_DOUBLE_EQ(ann.targets().sales_progress(), 0.5);          // 1 / 2
    EXPECT_DOUBLE_EQ(ann.targets().occupancy_progress(), (515.0 / 2700) / 0.5);
    const v1::AgentFigures& bob = all.agents(1);
    EXPECT_EQ(bob.agent(), "tenants/acme/agents/bob");
    EXPECT_EQ(bob.sales(), 2);  // c3, c5
    EXPECT_EQ(Secs(bob.logged_in()), 0);
    // Total: ann's times, 3 sales.
    EXPECT_EQ(Secs(all.total().logged_in()), 6000);
    EXPECT_EQ(all.total().sales(), 3);
    EXPECT_EQ(all.total().calls_handled(), 2);
    // Team north: ann only (bob has no team).
    const v1::AgentReport north = Agents(p, "-", "north", At(8, 0), At(11, 0));
    ASSERT_EQ(north.agents_size(), 1);
    EXPECT_EQ(north.agents(0).agent(), "tenants/acme/agents/ann");
    // Hour 10 alone (the lunch split at 10:00): lunch 10:00-10:15 = 900 s, ready
    // 300 + 240 = 540 s, talk 300 s, wrap 60 s, 1 call; logged in 1,800 s.
    const v1::AgentFigures a10 = Agents(p, "ann", "", At(10, 0), At(11, 0)).agents(0);
    EXPECT_EQ(Secs(a10.not_ready_by_reason().at("lunch")), 900);
    EXPECT_EQ(Secs(a10.ready()), 540);
    EXPECT_EQ(Secs(a10.talk()), 300);
    EXPECT_EQ(Secs(a10.wrap_up()), 60);
    EXPECT_EQ(a10.calls_handled(), 1);
    EXPECT_EQ(Secs(a10.logged_in()), 1800);

    // Usage, day D: 10 attempts; 5 connected calls, 760 s; billable minutes
    // rounded up per call: 2 + 1 + 4 + 5 + 2 = 14; recordings r1 (its resumed
    // upload replaces 1,000,000 with 1,500,000) and r2 (2,000,000), r2 deleted:
    // stored 3,500,000, deleted 2,000,000, held at the end 1,500,000.
    const v1::Usage u = Usage(p, DayD(), DayD() + absl::Hours(24));
    EXPECT_EQ(u.attempts(), 10);
    EXPECT_EQ(u.connected_calls(), 5);
    EXPECT_EQ(Secs(u.connected()), 760);
    EXPECT_EQ(u.billable_minutes(), 14);
    EXPECT_EQ(u.recordings_stored(), 2);
    EXPECT_EQ(u.recording_bytes_stored(), 3500000);
    EXPECT_EQ(u.recording_bytes_deleted(), 2000000);
    EXPECT_EQ(u.recording_storage_bytes(), 1500000);
    // Plan basic: fixed 100,000,000; 14 - 10 included = 4 minutes * 30,000 =
    // 120,000; 1,500,000 - 1,000,000 bytes over = 1 GiB started * 50,000,000.
    ASSERT_TRUE(u.has_bill());
    EXPECT_EQ(u.bill().overage_minutes(), 4);
    EXPECT_EQ(u.bill().minutes_overage_micros(), 120000);
    EXPECT_EQ(u.bill().overage_storage_gib(), 1);
    EXPECT_EQ(u.bill().total_micros(), 150120000);
    // Storage at D 10:00: only r1 (1,500,000); r2 came at 10:00.
    EXPECT_EQ(Usage(p, At(9, 0), At(10, 0)).recording_storage_bytes(), 1500000);

    // The finance CSV of day D: one row.
    EXPECT_EQ(Csv(p, DayD(), DayD() + absl::Hours(24)),
              "day,campaign,attempts,connects,abandoned,live_answers,handled_calls,"
              "talk_seconds,wrap_up_seconds,sales,currency_code,cost_micros\r\n"
              "2026-11-02,spring,10,5,1,6,5,760.000,90.000,3,USD,303333\r\n");
  }

  static RedisServer* redis_;
  std::unique_ptr<KafkaBroker> broker_;
  std::shared_ptr<redis::Client> client_;
  std::unique_ptr<kafka::KafkaProducer> producer_;
  BillingPlans plans_;
  Pipeline main_, replay_;
  int64_t published_ = 0;
};
RedisServer* ReportingComponentTest::redis_ = nullptr;

// The scenario's figures, as computed by hand.
TEST_F(ReportingComponentTest, HandScenarioFigures) {
  Publish(reporting::testing::HandScenario(kTenant));
  ASSERT_TRUE(Drained(main_));
  ExpectHandFigures(main_);
}

// Every event delivered again (the same event ids, as after a rebalance or
// a crash before the offset commit) changes nothing.
TEST_F(ReportingComponentTest, RedeliveryChangesNothing) {
  const auto events = reporting::testing::HandScenario(kTenant);
  Publish(events);
  ASSERT_TRUE(Drained(main_));
  const std::vector<std::string> before = AllReports(main_);
  Publish(events);
  ASSERT_TRUE(Drained(main_));
  EXPECT_EQ(AllReports(main_), before);
  ExpectHandFigures(main_);
  // The same event applied directly again is a duplicate.
  auto again = main_.store->Apply(events[2].event.event_id(), PlanEvent(events[2].event));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, ApplyResult::kDuplicate);
}

// A rebuild: a fresh consumer group replays the topics from the start into a
// new key prefix (empty), and every report is the same.
TEST_F(ReportingComponentTest, ReplayWithAFreshGroupGivesTheSameFigures) {
  Publish(reporting::testing::HandScenario(kTenant));
  ASSERT_TRUE(Drained(main_));
  const std::vector<std::string> first = AllReports(main_);
  replay_ = Start("reporting-rebuild-" + RandomHex(3), "rp2");
  ASSERT_TRUE(Drained(replay_));
  EXPECT_EQ(AllReports(replay_), first);
  ExpectHandFigures(replay_);
  // The new generation's keys are its own.
  auto keys = client_->Command({"KEYS", "rp2:*"});
  ASSERT_TRUE(keys.ok());
  EXPECT_GT(keys->elements.size(), 0u);
}

// Another tenant's events never reach this tenant's figures, and names of
// another tenant inside a tenant's event are not counted.
TEST_F(ReportingComponentTest, TenantsAreApart) {
  Publish(reporting::testing::HandScenario("globex"));
  auto foreign = reporting::testing::HandScenario(kTenant);
  for (auto& p : foreign) p.event.set_tenant("initech");  // acme's names, initech's envelope
  Publish(foreign);
  ASSERT_TRUE(Drained(main_));
  EXPECT_EQ(Campaign(main_, At(9, 0), At(11, 0)).totals().attempts(), 0);
  EXPECT_EQ(Usage(main_, DayD(), DayD() + absl::Hours(24)).attempts(), 0);
  v1::GetUsageRequest req;
  req.set_tenant("tenants/initech");
  *req.mutable_start_time() = Ts(DayD());
  *req.mutable_end_time() = Ts(DayD() + absl::Hours(24));
  auto initech = main_.manager->GetUsage(req);
  ASSERT_TRUE(initech.ok()) << initech.status();
  EXPECT_EQ(initech->attempts(), 0);
}

// Bad ranges are refused with a reason naming the field.
TEST_F(ReportingComponentTest, BadRangesAreRefused) {
  v1::GetCampaignReportRequest req;
  req.set_campaign("tenants/acme/campaigns/spring");
  auto st = main_.manager->GetCampaignReport(req).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(st), "REPORT_RANGE_INVALID");
  *req.mutable_start_time() = Ts(At(9, 30));  // not a whole hour
  *req.mutable_end_time() = Ts(At(11, 0));
  st = main_.manager->GetCampaignReport(req).status();
  EXPECT_EQ(ReasonOf(st), "REPORT_RANGE_INVALID");
  EXPECT_EQ(FieldOf(st), "start_time");
  *req.mutable_start_time() = Ts(At(11, 0));  // end not after start
  st = main_.manager->GetCampaignReport(req).status();
  EXPECT_EQ(ReasonOf(st), "REPORT_RANGE_INVALID");
  EXPECT_EQ(FieldOf(st), "end_time");
  *req.mutable_start_time() = Ts(DayD() - absl::Hours(24 * 401));
  st = main_.manager->GetCampaignReport(req).status();
  EXPECT_EQ(ReasonOf(st), "REPORT_RANGE_TOO_LONG");
  v1::ExportReportCsvRequest csv;
  csv.set_parent("tenants/acme");
  *csv.mutable_start_time() = Ts(DayD() - absl::Hours(24 * 101));
  *csv.mutable_end_time() = Ts(DayD());
  EXPECT_EQ(ReasonOf(main_.manager->ExportReportCsv(csv).status()), "REPORT_RANGE_TOO_LONG");
  v1::GetAgentReportRequest agent;
  agent.set_agent("tenants/acme/agents/ann");
  agent.set_team("north");
  *agent.mutable_start_time() = Ts(At(9, 0));
  *agent.mutable_end_time() = Ts(At(10, 0));
  EXPECT_EQ(ReasonOf(main_.manager->GetAgentReport(agent).status()), "TEAM_WITH_ONE_AGENT");
}

}  // namespace
}  // namespace dialgrid::reporting
