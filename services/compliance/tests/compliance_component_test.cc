// Component tests: ComplianceManager with the Redis store against a real
// redis-server, an injected clock (calling hours are deterministic) and, for
// the outbox relay, a recording publisher.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "dialgrid/contacts/v1/contacts.pb.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/core/proto_time.h"
#include "services/common/core/clock.h"
#include "services/common/core/errors.h"
#include "services/common/core/files.h"
#include "services/common/kafka/event_publisher.h"
#include "services/compliance/adapters/redis_compliance_store.h"
#include "services/compliance/application/compliance_manager.h"
#include "services/compliance/domain/attempt_caps.h"
#include "services/compliance/domain/registry_manifest.h"
#include "services/common/events/outbox_relay.h"
#include "tests/fixtures/servers.h"

namespace dialgrid::compliance {
namespace {

using dialgrid::testing::RedisServer;
using google::protobuf::util::TimeUtil;

constexpr char kNy[] = "+12122010601";   // New York
constexpr char kCa[] = "+16502530077";   // California
constexpr char kFl[] = "+13052010123";   // Florida (US-FL: 08:00-20:00)

absl::Time Utc(int y, int mo, int d, int h, int mi = 0) {
  return absl::FromCivil(absl::CivilMinute(y, mo, d, h, mi), absl::UTCTimeZone());
}

absl::Time FromUnixMillisForTest(const google::protobuf::Timestamp& t) {
  return absl::FromUnixMillis(TimeUtil::TimestampToMilliseconds(t));
}

// The API's date of "YYYY-MM-DD" (dialgrid.type.v1.Date).
type::v1::Date Day(const std::string& ymd) {
  absl::CivilDay d;
  EXPECT_TRUE(absl::ParseCivilTime(ymd, &d)) << ymd;
  type::v1::Date out;
  out.set_year(static_cast<int32_t>(d.year()));
  out.set_month(d.month());
  out.set_day(d.day());
  return out;
}
type::v1::Date Day(int y, int m, int d) {
  type::v1::Date out;
  out.set_year(y);
  out.set_month(m);
  out.set_day(d);
  return out;
}

google::protobuf::Duration Dur(absl::Duration d) {
  return TimeUtil::SecondsToDuration(absl::ToInt64Seconds(d));
}

class RecordingPublisher final : public kafka::EventPublisher {
 public:
  absl::Status Publish(absl::string_view topic, const event::v1::Envelope& e) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (fail_) return Unavailable("KAFKA_DOWN", "test: kafka is down");
    topics.emplace_back(topic);
    events.push_back(e);
    return absl::OkStatus();
  }
  absl::Status Flush(absl::Duration) override { return absl::OkStatus(); }
  void set_fail(bool f) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = f;
  }
  std::vector<std::string> topics;
  std::vector<event::v1::Envelope> events;

 private:
  std::mutex mu_;
  bool fail_ = false;
};

class ComplianceComponentTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto redis = RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = redis->release();
    auto zones = geo::ZoneResolver::Load(DIALGRID_ZONE_DATA_DIR, "/usr/share/zoneinfo/zone.tab");
    ASSERT_TRUE(zones.ok()) << zones.status();
    zones_ = new std::shared_ptr<const geo::ZoneResolver>(*zones);
    auto table = ReadFileToString(std::string(DIALGRID_COMPLIANCE_DATA_DIR) + "/calling_hours.tsv");
    ASSERT_TRUE(table.ok()) << table.status();
    auto presets = ParseCallingHours(*table);
    ASSERT_TRUE(presets.ok()) << presets.status();
    presets_ = new std::vector<CallingHoursRule>(*presets);
    dir_ = new std::string(dialgrid::testing::MakeTempDir("compliance-component"));
    // A small do-not-call registry and a wireless list, as built for production:
    // data of 2026-01-01, the registry usable for a year (the clock moves weeks
    // in some tests), the wireless list without a limit.
    DatedIndex("us.dncidx", 6502530077, absl::CivilDay(2026, 1, 1), 365);
    DatedIndex("wireless.idx", 2122010601, absl::CivilDay(2026, 1, 1), 0);
  }
  static void TearDownTestSuite() {
    delete redis_;
    delete zones_;
    delete presets_;
    delete dir_;
  }

  void SetUp() override {
    ASSERT_NE(dir_, nullptr);
    redis::Options o;
    o.port = redis_->port();
    auto client = redis::Client::Create(o);
    ASSERT_TRUE(client.ok());
    client_ = std::shared_ptr<redis::Client>(std::move(*client));
    store_ = std::make_shared<RedisComplianceStore>(client_, "test/1");
    clock_.Set(Utc(2026, 1, 5, 15));  // Monday 10:00 in New York, 07:00 in California
    manager_ = NewManager();
    tenant_ = absl::StrCat("tenant-", ++tenant_seq_);
    campaign_ = absl::StrCat("tenants/", tenant_, "/campaigns/spring");
  }

  // An index holding `key`, with a manifest dated `as_of`, at dir/name.
  static std::string DatedIndex(const std::string& name, uint64_t key, absl::CivilDay as_of,
                                int max_age_days) {
    const std::string path = *dir_ + "/" + name;
    DncIndexBuilder b;
    EXPECT_TRUE(b.Add(key).ok());
    auto index = b.Build();
    EXPECT_TRUE(index.ok());
    EXPECT_TRUE(index->WriteTo(path).ok());
    EXPECT_TRUE(WriteRegistryManifest(path, *index, as_of, max_age_days).ok());
    return path;
  }

  // A replica with just these registries ("id:kind:path").
  std::unique_ptr<ComplianceManager> ManagerWith(const std::vector<std::string>& specs) {
    auto regs = LoadRegistries(specs);
    EXPECT_TRUE(regs.ok()) << regs.status();
    return std::make_unique<ComplianceManager>(store_, *zones_, *presets_, *std::move(regs), clock_,
                                               ComplianceOptions{});
  }

  // Around-the-clock rules checked against registry `id`, set through `m`
  // (a replica that has it loaded).
  void SetOpenRulesWithRegistry(const std::string& id, ComplianceManager* m) {
    SetRules(
        [&id](v1::RuleSet& rs) {
          AlwaysOpen(rs);
          rs.add_do_not_call_registries(id);
        },
        true, m);
  }

  // Relays the outbox and hands every event to `m`'s registry consumer, as
  // its Kafka consumer would.
  void DeliverRegistryEvents(ComplianceManager* m) {
    auto publisher = std::make_shared<RecordingPublisher>();
    events::OutboxRelay relay(store_->outbox(), publisher, RelayOptions());
    while (*relay.RunOnce() > 0) {
    }
    for (const auto& e : publisher->events) ASSERT_TRUE(m->HandleRegistryEvent(e).ok());
  }

  std::unique_ptr<ComplianceManager> NewManager() {
    auto regs = LoadRegistries({"us-dnc:dnc:" + *dir_ + "/us.dncidx",
                                "us-wireless:wireless:" + *dir_ + "/wireless.idx"});
    EXPECT_TRUE(regs.ok()) << regs.status();
    ComplianceOptions options;
    options.abandon_cache_ttl = absl::ZeroDuration();
    return std::make_unique<ComplianceManager>(store_, *zones_, *presets_, *std::move(regs), clock_,
                                               options);
  }

  // Creates or replaces the rule set; `edit` fills it in.
  v1::RuleSet SetRules(const std::function<void(v1::RuleSet&)>& edit, bool vendor = true,
                       ComplianceManager* m = nullptr) {
    v1::UpdateRuleSetRequest req;
    req.mutable_rule_set()->set_name(absl::StrCat("tenants/", tenant_, "/ruleSet"));
    edit(*req.mutable_rule_set());
    v1::GetRuleSetRequest get;
    get.set_name(req.rule_set().name());
    auto cur = manager_->GetRuleSet(get);
    req.set_expected_version(cur.ok() ? cur->version() : 0);
    auto out = (m ? m : manager_.get())->UpdateRuleSet(Actor{"tester", vendor}, req);
    EXPECT_TRUE(out.ok()) << out.status();
    return out.ok() ? *out : v1::RuleSet();
  }

  // A rule set whose calling hours are open around the clock (only the
  // custom rule applies: the presets chosen are for another country).
  static void AlwaysOpen(v1::RuleSet& rs) {
    rs.add_calling_hours_presets("KR-ICNA");
    auto* r = rs.add_custom_calling_hours();
    r->set_id("TEST-ALWAYS");
    r->set_jurisdiction("US");
    for (int i = 0; i < 7; ++i) r->add_weekday_windows("00:00-24:00");
    r->set_source("test");
  }

  absl::StatusOr<v1::DialDecision> Check(const std::string& number,
                                         type::v1::DialingMode mode = type::v1::DIALING_MODE_PREVIEW,
                                         const std::string& contact = "",
                                         const std::string& request_id = "",
                                         ComplianceManager* m = nullptr) {
    v1::CheckDialRequest req;
    req.set_campaign(campaign_);
    req.set_contact(contact);
    req.set_phone_number(number);
    req.set_dialing_mode(mode);
    req.set_request_id(request_id);
    return (m ? m : manager_.get())->CheckDial(Actor{"dialer", false}, req);
  }

  static std::vector<std::string> Codes(const v1::DialDecision& d) {
    std::vector<std::string> out;
    for (const auto& r : d.reasons()) out.push_back(r.code() + (r.rule().empty() ? "" : ":" + r.rule()));
    return out;
  }

  absl::Status CallEnded(const std::string& number, dialing::v1::CallOutcome outcome,
                         const std::string& decision_id = "", const std::string& event_id = "",
                         const std::string& contact = "", double amd_false_positive_rate = 0) {
    dialing::v1::CallAttemptEnded call;
    call.set_amd_false_positive_rate(amd_false_positive_rate);
    call.set_campaign(campaign_);
    call.set_contact(contact);
    call.set_phone_number(number);
    call.set_decision_id(decision_id);
    call.set_outcome(outcome);
    *call.mutable_dial_time() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(clock_.Now()));
    *call.mutable_end_time() = call.dial_time();
    event::v1::Envelope e = kafka::MakeEnvelope(tenant_, "call", call, "dialing/test", clock_);
    if (!event_id.empty()) e.set_event_id(event_id);
    return manager_->HandleEvent(e);
  }

  static RedisServer* redis_;
  static std::shared_ptr<const geo::ZoneResolver>* zones_;
  static std::vector<CallingHoursRule>* presets_;
  static std::string* dir_;
  static int tenant_seq_;

  FakeClock clock_;
  std::shared_ptr<redis::Client> client_;
  std::shared_ptr<RedisComplianceStore> store_;
  std::unique_ptr<ComplianceManager> manager_;
  std::string tenant_, campaign_;
};

RedisServer* ComplianceComponentTest::redis_ = nullptr;
std::shared_ptr<const geo::ZoneResolver>* ComplianceComponentTest::zones_ = nullptr;
std::vector<CallingHoursRule>* ComplianceComponentTest::presets_ = nullptr;
std::string* ComplianceComponentTest::dir_ = nullptr;
int ComplianceComponentTest::tenant_seq_ = 0;

TEST_F(ComplianceComponentTest, NoRuleSetFailsClosed) {
  auto d = Check(kNy);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(d.status()), "RULE_SET_MISSING");
}

TEST_F(ComplianceComponentTest, RedisDownFailsClosed) {
  auto own = RedisServer::Start();
  ASSERT_TRUE(own.ok()) << own.status();
  redis::Options o;
  o.port = (*own)->port();
  o.command_timeout = absl::Milliseconds(500);
  auto client = redis::Client::Create(o);
  ASSERT_TRUE(client.ok());
  store_ = std::make_shared<RedisComplianceStore>(std::shared_ptr<redis::Client>(std::move(*client)), "t/2");
  manager_ = NewManager();
  SetRules(AlwaysOpen);
  ASSERT_TRUE(Check(kNy)->allowed());
  ASSERT_TRUE((*own)->Stop().ok());
  auto d = Check(kNy);  // rule set cached: the script cannot run
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kUnavailable);
  v1::AddDoNotCallNumbersRequest add;
  add.set_parent("tenants/" + tenant_);
  add.add_phone_numbers(kNy);
  EXPECT_EQ(manager_->AddDoNotCall(Actor{"a", false}, add).status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(ComplianceComponentTest, ReplicaWithoutTheTenantsRegistryFailsClosed) {
  SetRules([](v1::RuleSet& rs) {
    AlwaysOpen(rs);
    rs.add_do_not_call_registries("us-dnc");
  });
  ASSERT_TRUE(Check(kNy).ok());
  ComplianceManager bare(store_, *zones_, *presets_, {}, clock_, ComplianceOptions{});
  auto d = Check(kNy, type::v1::DIALING_MODE_PREVIEW, "", "", &bare);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(d.status()), "RULE_SET_NOT_APPLICABLE");
}

TEST_F(ComplianceComponentTest, RegistryOlderThanItsLimitFailsClosed) {
  SetRules([](v1::RuleSet& rs) {
    AlwaysOpen(rs);
    rs.add_do_not_call_registries("us-dnc");
  });
  // The same index with a manifest of its own: data of 2025-12-04, 31 days.
  const std::string path = DatedIndex("us-dec.dncidx", 6502530077, absl::CivilDay(2025, 12, 4), 31);
  auto owned = ManagerWith({"us-dnc:dnc:" + path});
  ComplianceManager& replica = *owned;

  // 2026-01-04 is day 31 after the download: still in time, to the last second.
  clock_.Set(absl::FromCivil(absl::CivilSecond(2026, 1, 4, 23, 59, 59), absl::UTCTimeZone()));
  auto in_time = Check(kNy, type::v1::DIALING_MODE_PREVIEW, "", "", &replica);
  ASSERT_TRUE(in_time.ok()) << in_time.status();
  EXPECT_TRUE(in_time->allowed());
  auto listed = Check("+16502530077", type::v1::DIALING_MODE_PREVIEW, "", "", &replica);
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_FALSE(listed->allowed());

  // From 2026-01-05 on, nothing is cleared with it: not even a number it does not list.
  clock_.Set(Utc(2026, 1, 5, 0));
  auto stale = Check(kNy, type::v1::DIALING_MODE_PREVIEW, "", "", &replica);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(stale.status()), "REGISTRY_STALE");
  auto shown = replica.ListRegistries();
  ASSERT_EQ(shown.registries_size(), 1);
  EXPECT_EQ(shown.registries(0).max_age_days(), 31);
  EXPECT_EQ(TimeUtil::TimestampToMilliseconds(shown.registries(0).stale_time()),
            absl::ToUnixMillis(Utc(2026, 1, 5, 0)));

  // An index without its manifest is refused at start, not used undated.
  ASSERT_EQ(std::remove(ManifestPath(path).c_str()), 0);
  auto undated = LoadRegistries({"us-dnc:dnc:" + path});
  ASSERT_FALSE(undated.ok());
  EXPECT_EQ(ReasonOf(undated.status()), "REGISTRY_MANIFEST_MISSING");
}

TEST_F(ComplianceComponentTest, AChangeFileRestartsTheAgeLimitOnEveryReplica) {
  // Downloaded 2025-12-04, 31 days: too old from 2026-01-05 00:00 UTC (now is 15:00).
  const std::string path = DatedIndex("us-old.dncidx", 6502530077, absl::CivilDay(2025, 12, 4), 31);
  auto replica = [&] { return ManagerWith({"us-old:dnc:" + path}); };
  auto a = replica(), b = replica();
  // "allowed" on that replica; "REGISTRY_STALE" (or another reason) when it fails.
  auto verdict = [&](ComplianceManager* m) -> std::string {
    auto d = Check(kNy, type::v1::DIALING_MODE_PREVIEW, "", "", m);
    if (!d.ok()) return ReasonOf(d.status());
    return d->allowed() ? "allowed" : "denied";
  };
  SetOpenRulesWithRegistry("us-old", a.get());
  EXPECT_EQ(verdict(a.get()), "REGISTRY_STALE");

  v1::UpdateRegistryRequest req;
  req.set_name("registries/us-old");
  *req.mutable_as_of() = Day("2026-01-06");  // tomorrow: refused
  EXPECT_EQ(ReasonOf(a->UpdateRegistry(Actor{"vendor", true}, req).status()), "AS_OF_IN_FUTURE");
  *req.mutable_as_of() = Day(2026, 2, 30);  // no such day
  EXPECT_EQ(ReasonOf(a->UpdateRegistry(Actor{"vendor", true}, req).status()), "INVALID_DATE");
  *req.mutable_as_of() = Day("2026-01-04");  // yesterday's change file, no changes in it
  req.set_reason("daily change file 2026-01-04");
  auto resp = a->UpdateRegistry(Actor{"vendor", true}, req);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(TimeUtil::TimestampToMilliseconds(resp->registry().stale_time()),
            absl::ToUnixMillis(Utc(2026, 2, 5, 0)));
  EXPECT_EQ(verdict(a.get()), "allowed");

  // The other replica through the event; a replica started later from Redis.
  EXPECT_EQ(verdict(b.get()), "REGISTRY_STALE");
  DeliverRegistryEvents(b.get());
  EXPECT_EQ(verdict(b.get()), "allowed");
  auto late = replica();
  ASSERT_TRUE(late->LoadRegistryOverlays().ok());
  EXPECT_EQ(verdict(late.get()), "allowed");

  // An older change file does not move the date back.
  *req.mutable_as_of() = Day("2025-12-20");
  ASSERT_TRUE(a->UpdateRegistry(Actor{"vendor", true}, req).ok());
  auto again = replica();
  ASSERT_TRUE(again->LoadRegistryOverlays().ok());
  EXPECT_EQ(verdict(again.get()), "allowed");
}

// Registry grace (rule doc 2.1: US 31 days): a number a change file lists
// on 2026-01-04 binds from 2026-02-03 10:00 UTC (31 days from 00:00 of
// that date at UTC+14); a number of the download binds at once; a registry
// whose manifest names no rules binds every listing at once.
TEST_F(ComplianceComponentTest, RegistryGracePeriodForNewRegistrations) {
  const std::string x = "+16502530077", y = "+13052010777";
  const std::string path = *dir_ + "/us-grace.dncidx";
  {
    DncIndexBuilder b;
    ASSERT_TRUE(b.Add(6502530077).ok());
    auto index = b.Build();
    ASSERT_TRUE(index.ok());
    ASSERT_TRUE(index->WriteTo(path).ok());
    ASSERT_TRUE(WriteRegistryManifest(path, *index, absl::CivilDay(2026, 1, 1), 365,
                                      "US-NATIONAL-DNC")
                    .ok());
  }
  const std::string plain = DatedIndex("us-plain.dncidx", 6502530077, absl::CivilDay(2026, 1, 1), 365);
  auto statutory = LoadStatutoryRules(DIALGRID_COMPLIANCE_DATA_DIR);
  ASSERT_TRUE(statutory.ok()) << statutory.status();
  auto regs = LoadRegistries({"us-grace:dnc:" + path, "us-plain:dnc:" + plain});
  ASSERT_TRUE(regs.ok()) << regs.status();
  ASSERT_TRUE(ApplyRegistryRules(statutory->registries, *regs).ok());
  auto m = std::make_unique<ComplianceManager>(store_, *zones_, *presets_, *std::move(regs), clock_,
                                               ComplianceOptions{});
  SetRules(
      [](v1::RuleSet& rs) {
        AlwaysOpen(rs);
        rs.add_do_not_call_registries("us-grace");
        rs.add_do_not_call_registries("us-plain");
      },
      true, m.get());
  for (const char* id : {"us-grace", "us-plain"}) {
    v1::UpdateRegistryRequest req;
    req.set_name(absl::StrCat("registries/", id));
    *req.mutable_as_of() = Day("2026-01-04");
    req.add_add_numbers(y);
    ASSERT_TRUE(m->UpdateRegistry(Actor{"vendor", true}, req).ok());
  }
  auto codes_at = [&](const std::string& n, absl::Time at) {
    v1::ScrubNumbersRequest req;
    req.set_campaign(campaign_);
    req.set_dialing_mode(type::v1::DIALING_MODE_PREVIEW);
    *req.mutable_dial_time() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(at));
    req.add_entries()->set_phone_number(n);
    auto r = m->ScrubNumbers(Actor{"crm", false}, req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? Codes(r->results(0).decision()) : std::vector<std::string>{"error"};
  };
  // The download's number: both registries, at once.
  EXPECT_EQ(codes_at(x, clock_.Now()),
            (std::vector<std::string>{"DNC_REGISTRY:us-grace", "DNC_REGISTRY:us-plain"}));
  // The new registration: only the registry without a grace, until it binds.
  const absl::Time binds = Utc(2026, 2, 3, 10);
  EXPECT_EQ(codes_at(y, clock_.Now()), std::vector<std::string>{"DNC_REGISTRY:us-plain"});
  EXPECT_EQ(codes_at(y, binds - absl::Milliseconds(1)),
            std::vector<std::string>{"DNC_REGISTRY:us-plain"});
  EXPECT_EQ(codes_at(y, binds),
            (std::vector<std::string>{"DNC_REGISTRY:us-grace", "DNC_REGISTRY:us-plain"}));
  // CheckDial answers as the scrub for now.
  auto d = Check(y, type::v1::DIALING_MODE_PREVIEW, "", "", m.get());
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(Codes(*d), std::vector<std::string>{"DNC_REGISTRY:us-plain"});
  // A change published without a date (by a build that sent dates as
  // strings) always applies, and its listing date is unknown: it binds at
  // once, grace or not (the restrictive reading).
  const std::string z = "+13052010999";
  {
    v1::RegistryChanged undated;
    undated.set_registry("us-grace");
    undated.add_added("3052010999");
    ASSERT_TRUE(m->HandleRegistryEvent(
                     kafka::MakeEnvelope("", "registries/us-grace", undated, "test", clock_))
                    .ok());
  }
  EXPECT_EQ(codes_at(z, clock_.Now()), std::vector<std::string>{"DNC_REGISTRY:us-grace"});
  // The registry says its rules; a manifest naming rules the table lacks
  // is refused at start.
  const v1::ListRegistriesResponse loaded = m->ListRegistries();
  for (const auto& r : loaded.registries()) {
    EXPECT_EQ(r.grace_days(), r.id() == "us-grace" ? 31 : 0) << r.id();
    EXPECT_EQ(r.rules(), r.id() == "us-grace" ? "US-NATIONAL-DNC" : "") << r.id();
  }
  auto unknown = LoadRegistries({"us-grace:dnc:" + path});
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(ReasonOf(ApplyRegistryRules({}, *unknown)), "UNKNOWN_REGISTRY_RULES");
}

TEST_F(ComplianceComponentTest, ANewerIndexWinsOverOlderChangesInTheOverlay) {
  // Index data of 2026-01-01 lists X; change files before and after it.
  const std::string x = "+16502530077", y = "+13052010777", z = "+13052010778";
  const std::string path = DatedIndex("us-dated.dncidx", 6502530077, absl::CivilDay(2026, 1, 1), 365);
  auto a = ManagerWith({"us-dated:dnc:" + path}), b = ManagerWith({"us-dated:dnc:" + path});
  SetOpenRulesWithRegistry("us-dated", a.get());
  auto listed = [&](ComplianceManager* m, const std::string& n) {
    auto d = Check(n, type::v1::DIALING_MODE_PREVIEW, "", "", m);
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() && Codes(*d) == std::vector<std::string>{"DNC_REGISTRY:us-dated"};
  };
  auto update = [&](const std::string& as_of, std::vector<std::string> add, std::vector<std::string> del) {
    v1::UpdateRegistryRequest req;
    req.set_name("registries/us-dated");
    if (!as_of.empty()) *req.mutable_as_of() = Day(as_of);
    for (const auto& n : add) req.add_add_numbers(n);
    for (const auto& n : del) req.add_remove_numbers(n);
    ASSERT_TRUE(a->UpdateRegistry(Actor{"vendor", true}, req).ok());
  };
  // A December change file the January download already reflects: X was
  // re-registered since, Y dropped since. The index wins.
  update("2025-12-20", {y}, {x});
  EXPECT_TRUE(listed(a.get(), x));
  EXPECT_FALSE(listed(a.get(), y));
  // A change file of the index's own day: its addition applies (stricter), its removal does not.
  update("2026-01-01", {z}, {x});
  EXPECT_TRUE(listed(a.get(), z));
  EXPECT_TRUE(listed(a.get(), x));
  // A change after the index (no as_of: dated today, 2026-01-05) applies.
  update("", {}, {x});
  EXPECT_FALSE(listed(a.get(), x));

  // Another replica through the events, one that starts later from Redis: the same.
  DeliverRegistryEvents(b.get());
  EXPECT_FALSE(listed(b.get(), x));
  EXPECT_FALSE(listed(b.get(), y));
  EXPECT_TRUE(listed(b.get(), z));
  auto late = ManagerWith({"us-dated:dnc:" + path});
  ASSERT_TRUE(late->LoadRegistryOverlays().ok());
  EXPECT_FALSE(listed(late.get(), x));
  EXPECT_FALSE(listed(late.get(), y));
  EXPECT_TRUE(listed(late.get(), z));

  // Pruning: only changes older than the index's data, which it reflects.
  v1::PruneRegistryOverlayRequest prune;
  prune.set_name("registries/us-dated");
  *prune.mutable_through() = Day("2026-01-01");  // the index's own day: its additions still apply
  EXPECT_EQ(ReasonOf(a->PruneRegistryOverlay(Actor{"vendor", true}, prune).status()),
            "INDEX_OLDER_THAN_PRUNE_DATE");
  *prune.mutable_through() = Day("2025-12-31");
  auto pruned = a->PruneRegistryOverlay(Actor{"vendor", true}, prune);
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(pruned->pruned(), 1);  // Y's December addition
  EXPECT_EQ(pruned->kept(), 2);    // X's removal of today, Z's addition of the index's day
  auto after = ManagerWith({"us-dated:dnc:" + path});
  ASSERT_TRUE(after->LoadRegistryOverlays().ok());
  EXPECT_FALSE(listed(after.get(), x));
  EXPECT_FALSE(listed(after.get(), y));
  EXPECT_TRUE(listed(after.get(), z));
  *prune.mutable_through() = Day(2025, 13, 31);
  EXPECT_EQ(ReasonOf(a->PruneRegistryOverlay(Actor{"vendor", true}, prune).status()), "INVALID_DATE");
}

TEST_F(ComplianceComponentTest, AChangeFileAppliedLateDoesNotUndoANewerOne) {
  const std::string x = "+16502530077";  // in the index of 2025-12-01
  const std::string path = DatedIndex("us-order.dncidx", 6502530077, absl::CivilDay(2025, 12, 1), 365);
  auto a = ManagerWith({"us-order:dnc:" + path}), b = ManagerWith({"us-order:dnc:" + path});
  SetOpenRulesWithRegistry("us-order", a.get());
  auto listed = [&](ComplianceManager* m) {
    auto d = Check(x, type::v1::DIALING_MODE_PREVIEW, "", "", m);
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() && !d->allowed();
  };
  auto update = [&](const std::string& as_of, bool add) {
    v1::UpdateRegistryRequest req;
    req.set_name("registries/us-order");
    if (!as_of.empty()) *req.mutable_as_of() = Day(as_of);
    (add ? req.add_add_numbers(x) : req.add_remove_numbers(x));
    ASSERT_TRUE(a->UpdateRegistry(Actor{"vendor", true}, req).ok());
  };
  update("2026-01-03", false);  // the newer file first: X deregistered
  update("2025-12-20", true);   // then an older one that still lists X
  EXPECT_FALSE(listed(a.get()));

  DeliverRegistryEvents(b.get());
  EXPECT_FALSE(listed(b.get()));
  auto late = ManagerWith({"us-order:dnc:" + path});
  ASSERT_TRUE(late->LoadRegistryOverlays().ok());
  EXPECT_FALSE(listed(late.get()));
}

TEST_F(ComplianceComponentTest, StaleWirelessListFailsClosedOnlyWhereConsentMatters) {
  SetRules([](v1::RuleSet& rs) {
    AlwaysOpen(rs);
    rs.set_require_consent_for_automated_wireless(true);
  });
  const std::string path = DatedIndex("wireless-old.idx", 2122010601, absl::CivilDay(2025, 11, 1), 31);
  auto owned = ManagerWith({"old-wireless:wireless:" + path});
  ComplianceManager& replica = *owned;

  auto preview = Check(kNy, type::v1::DIALING_MODE_PREVIEW, "", "", &replica);
  ASSERT_TRUE(preview.ok()) << preview.status();  // a person dials: consent rule not involved
  auto predictive = Check(kNy, type::v1::DIALING_MODE_PREDICTIVE, "", "", &replica);
  ASSERT_FALSE(predictive.ok());
  EXPECT_EQ(ReasonOf(predictive.status()), "REGISTRY_STALE");
}

TEST_F(ComplianceComponentTest, WritesWaitForAReplicaWhenAskedAndFailClosedWithoutOne) {
  SetRules(AlwaysOpen);
  // The master would wait 5 s to batch replicas into one transfer.
  ASSERT_TRUE(client_->Command({"CONFIG", "SET", "repl-diskless-sync-delay", "0"}).ok());
  auto replica = RedisServer::Start({"--replicaof", "127.0.0.1", std::to_string(redis_->port())});
  ASSERT_TRUE(replica.ok()) << replica.status();
  // Until the replica has synced and acknowledges writes.
  bool acking = false;
  for (int i = 0; i < 100 && !acking; ++i) {
    auto probe = client_->Pipeline({{"SET", "replica-probe", "1"}, {"WAIT", "1", "50"}});
    acking = probe.ok() && (*probe)[1].integer >= 1;
  }
  ASSERT_TRUE(acking) << "the replica did not come online";
  RedisReplication one;
  one.replicas = 1;
  // Generous: a replica that just synced can take a moment to acknowledge
  // (200 ms failed about one run in ten on a loaded 2-core machine).
  one.timeout = absl::Seconds(1);  // under the client's 2 s command timeout
  auto durable = std::make_shared<RedisComplianceStore>(client_, "test/durable", one);
  auto regs = LoadRegistries({});
  ASSERT_TRUE(regs.ok());
  ComplianceManager m(durable, *zones_, *presets_, *std::move(regs), clock_, ComplianceOptions{});
  auto d = Check(kNy, type::v1::DIALING_MODE_PREVIEW, "", "", &m);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->allowed());
  v1::AddDoNotCallNumbersRequest add;
  add.set_parent("tenants/" + tenant_);
  add.add_phone_numbers(kCa);
  ASSERT_TRUE(m.AddDoNotCall(Actor{"a", false}, add).ok());

  // Without a replica to acknowledge, nothing is acknowledged: no allowed dial.
  ASSERT_TRUE((*replica)->Stop().ok());
  auto lost = Check(kNy, type::v1::DIALING_MODE_PREVIEW, "", "", &m);
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ReasonOf(lost.status()), "NOT_REPLICATED");
  add.set_phone_numbers(0, kFl);
  EXPECT_EQ(ReasonOf(m.AddDoNotCall(Actor{"a", false}, add).status()), "NOT_REPLICATED");
  // The store that does not wait carries on.
  EXPECT_TRUE(Check(kNy)->allowed());
}

TEST_F(ComplianceComponentTest, CallingHoursAreTheCalleesLocalTime) {
  SetRules([](v1::RuleSet&) {});  // every preset
  auto ny = Check(kNy);
  ASSERT_TRUE(ny.ok()) << ny.status();
  EXPECT_TRUE(ny->allowed()) << ny->DebugString();
  EXPECT_EQ(ny->rule_set_version(), 1);
  ASSERT_EQ(ny->time_zones_size(), 1);
  EXPECT_EQ(ny->time_zones(0), "America/New_York");
  EXPECT_EQ(ny->time_zone_source(), type::v1::TIME_ZONE_SOURCE_PHONE_NUMBER);  // the area code

  auto ca = Check(kCa);  // 07:00 in California
  ASSERT_TRUE(ca.ok()) << ca.status();
  EXPECT_FALSE(ca->allowed());
  EXPECT_EQ(Codes(*ca), std::vector<std::string>{"OUTSIDE_CALLING_HOURS:US-FED"});
  EXPECT_EQ(ca->reasons(0).detail(), "America/Los_Angeles");
  EXPECT_EQ(FromUnixMillisForTest(ca->next_allowed_time()), Utc(2026, 1, 5, 16));  // 08:00 PST

  // Florida's stricter law: 20:30 in Miami is legal federally, not in Florida.
  clock_.Set(Utc(2026, 1, 6, 1, 30));
  auto fl = Check(kFl);
  ASSERT_TRUE(fl.ok()) << fl.status();
  EXPECT_FALSE(fl->allowed());
  EXPECT_EQ(Codes(*fl), std::vector<std::string>{"OUTSIDE_CALLING_HOURS:US-FL"});
  auto ny_evening = Check(kNy);
  ASSERT_TRUE(ny_evening.ok());
  EXPECT_TRUE(ny_evening->allowed());

  // Ambiguous zones: the most restrictive wins.
  clock_.Set(Utc(2026, 1, 5, 14));
  v1::CheckDialRequest req;
  req.set_campaign(campaign_);
  req.set_phone_number(kNy);
  req.set_dialing_mode(type::v1::DIALING_MODE_PREVIEW);
  req.mutable_callee()->add_time_zones("America/New_York");
  req.mutable_callee()->add_time_zones("America/Los_Angeles");
  auto amb = manager_->CheckDial(Actor{"dialer", false}, req);
  ASSERT_TRUE(amb.ok()) << amb.status();
  EXPECT_FALSE(amb->allowed());
  EXPECT_EQ(amb->reasons(0).detail(), "America/Los_Angeles");
  EXPECT_EQ(amb->time_zone_source(), type::v1::TIME_ZONE_SOURCE_EXPLICIT);  // given with the request
  req.mutable_callee()->set_time_zone_source(type::v1::TIME_ZONE_SOURCE_POSTAL_CODE);
  EXPECT_EQ(manager_->CheckDial(Actor{"dialer", false}, req)->time_zone_source(),
            type::v1::TIME_ZONE_SOURCE_POSTAL_CODE);  // as the contact record says

  // Derived here from the postal code before the number: a New York number in Los Angeles.
  req.mutable_callee()->Clear();
  req.mutable_callee()->set_postal_code("90012");
  req.mutable_callee()->set_country("US");
  auto la = manager_->CheckDial(Actor{"dialer", false}, req);
  ASSERT_TRUE(la.ok()) << la.status();
  EXPECT_EQ(la->time_zone_source(), type::v1::TIME_ZONE_SOURCE_POSTAL_CODE);
  ASSERT_EQ(la->time_zones_size(), 1);
  EXPECT_EQ(la->time_zones(0), "America/Los_Angeles");
}

TEST_F(ComplianceComponentTest, TenantAndCampaignDoNotCallLists) {
  SetRules(AlwaysOpen);
  v1::AddDoNotCallNumbersRequest add;
  add.set_parent("tenants/" + tenant_);
  add.add_phone_numbers("(212) 201-0601");
  add.set_default_country("US");
  add.set_reason("asked not to be called");
  auto added = manager_->AddDoNotCall(Actor{"agent-7", false}, add);
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_EQ(added->added(), 1);
  auto again = manager_->AddDoNotCall(Actor{"agent-7", false}, add);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->already_listed(), 1);

  auto d = Check(kNy);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_FALSE(d->allowed());
  EXPECT_EQ(Codes(*d), std::vector<std::string>{"DNC_TENANT:tenant"});
  EXPECT_FALSE(d->has_next_allowed_time());  // never, while listed

  // Another replica (a second manager on the same Redis) sees it at once.
  auto other = NewManager();
  auto d2 = Check(kNy, type::v1::DIALING_MODE_PREVIEW, "", "", other.get());
  ASSERT_TRUE(d2.ok());
  EXPECT_FALSE(d2->allowed());

  // Another tenant's checks are not affected.
  std::string mine = tenant_;
  tenant_ = mine + "x";
  campaign_ = absl::StrCat("tenants/", tenant_, "/campaigns/spring");
  SetRules(AlwaysOpen);
  auto theirs = Check(kNy);
  ASSERT_TRUE(theirs.ok());
  EXPECT_TRUE(theirs->allowed());
  tenant_ = mine;
  campaign_ = absl::StrCat("tenants/", tenant_, "/campaigns/spring");

  v1::CheckDoNotCallRequest chk;
  chk.set_parent("tenants/" + tenant_);
  chk.set_phone_number(kNy);
  auto listed = manager_->CheckDoNotCall(chk);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->entries_size(), 1);
  EXPECT_EQ(listed->entries(0).list(), "tenant");
  EXPECT_EQ(listed->entries(0).added_by(), "agent-7");
  EXPECT_EQ(listed->entries(0).reason(), "asked not to be called");

  v1::RemoveDoNotCallNumbersRequest rm;
  rm.set_parent("tenants/" + tenant_);
  rm.add_phone_numbers(kNy);
  auto removed = manager_->RemoveDoNotCall(Actor{"admin", false}, rm);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed->removed(), 1);
  EXPECT_TRUE(Check(kNy)->allowed());

  // A campaign list applies to that campaign only.
  add.set_parent(campaign_);
  ASSERT_TRUE(manager_->AddDoNotCall(Actor{"admin", false}, add).ok());
  auto d3 = Check(kNy);
  ASSERT_TRUE(d3.ok());
  EXPECT_EQ(Codes(*d3), std::vector<std::string>{"DNC_CAMPAIGN:campaign:spring"});
  campaign_ = absl::StrCat("tenants/", tenant_, "/campaigns/autumn");
  EXPECT_TRUE(Check(kNy)->allowed());
}

TEST_F(ComplianceComponentTest, BadNumbersAreRefusedAndNothingIsHalfApplied) {
  SetRules(AlwaysOpen);
  v1::AddDoNotCallNumbersRequest add;
  add.set_parent("tenants/" + tenant_);
  add.add_phone_numbers(kNy);
  add.add_phone_numbers("not a number");
  auto r = manager_->AddDoNotCall(Actor{"a", false}, add);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldOf(r.status()), "phone_numbers[1]");
  EXPECT_TRUE(Check(kNy)->allowed());  // the valid one was not added either

  auto d = Check("12");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldOf(d.status()), "phone_number");

  v1::CheckDialRequest req;
  req.set_campaign(campaign_);
  req.set_phone_number(kNy);
  req.set_dialing_mode(type::v1::DIALING_MODE_PREVIEW);
  req.mutable_callee()->add_time_zones("Mars/Olympus_Mons");
  auto z = manager_->CheckDial(Actor{"d", false}, req);
  ASSERT_FALSE(z.ok());
  EXPECT_EQ(ReasonOf(z.status()), "UNKNOWN_TIME_ZONE");

  req.clear_callee();
  req.set_contact("tenants/someone-else/contactLists/l/contacts/c");
  auto other = manager_->CheckDial(Actor{"d", false}, req);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), absl::StatusCode::kPermissionDenied);

  req.clear_contact();
  req.set_dialing_mode(type::v1::DIALING_MODE_UNSPECIFIED);
  EXPECT_EQ(manager_->CheckDial(Actor{"d", false}, req).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ComplianceComponentTest, RuleSetsAreValidatedVersionedAndVendorControlsRegistries) {
  v1::RuleSet v1rs = SetRules(AlwaysOpen);
  EXPECT_EQ(v1rs.version(), 1);

  v1::UpdateRuleSetRequest bad;
  *bad.mutable_rule_set() = v1rs;
  bad.set_expected_version(1);
  bad.mutable_rule_set()->mutable_custom_calling_hours(0)->set_weekday_windows(2, "21:00-08:00");
  auto r = manager_->UpdateRuleSet(Actor{"admin", false}, bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ReasonOf(r.status()), "WINDOW_ENDS_BEFORE_START");
  EXPECT_EQ(FieldOf(r.status()), "calling_hours");

  *bad.mutable_rule_set() = v1rs;
  bad.mutable_rule_set()->add_calling_hours_presets("XX-NOWHERE");
  EXPECT_EQ(ReasonOf(manager_->UpdateRuleSet(Actor{"admin", false}, bad).status()), "UNKNOWN_PRESET");

  *bad.mutable_rule_set() = v1rs;
  auto* cap = bad.mutable_rule_set()->add_number_caps();
  cap->set_id("zero");
  cap->set_max_attempts(0);
  *cap->mutable_window() = Dur(absl::Hours(24));
  EXPECT_EQ(ReasonOf(manager_->UpdateRuleSet(Actor{"admin", false}, bad).status()), "INVALID_CAP");

  // Only vendor administrators choose registries.
  *bad.mutable_rule_set() = v1rs;
  bad.mutable_rule_set()->add_do_not_call_registries("us-dnc");
  auto denied = manager_->UpdateRuleSet(Actor{"tenant-admin", false}, bad);
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied);
  auto unknown = bad;
  unknown.mutable_rule_set()->set_do_not_call_registries(0, "nope");
  EXPECT_EQ(ReasonOf(manager_->UpdateRuleSet(Actor{"vendor", true}, unknown).status()), "UNKNOWN_REGISTRY");

  // Stale expected_version: ABORTED, nothing stored.
  bad.set_expected_version(0);
  EXPECT_EQ(manager_->UpdateRuleSet(Actor{"vendor", true}, bad).status().code(),
            absl::StatusCode::kAborted);
  v1::GetRuleSetRequest get;
  get.set_name(v1rs.name());
  EXPECT_EQ(manager_->GetRuleSet(get)->version(), 1);

  bad.set_expected_version(1);
  auto v2 = manager_->UpdateRuleSet(Actor{"vendor", true}, bad);
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(v2->version(), 2);
  auto d = Check(kCa);  // in the test registry
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(Codes(*d), std::vector<std::string>{"DNC_REGISTRY:us-dnc"});
  EXPECT_EQ(d->rule_set_version(), 2);
  get.set_version(1);
  EXPECT_EQ(manager_->GetRuleSet(get)->do_not_call_registries_size(), 0);  // old version kept
}

TEST_F(ComplianceComponentTest, AttemptCapsCountAllowedDialsAtOnce) {
  SetRules([](v1::RuleSet& rs) {
    AlwaysOpen(rs);
    auto* c = rs.add_number_caps();
    c->set_id("2-PER-24H");
    c->set_max_attempts(2);
    *c->mutable_window() = Dur(absl::Hours(24));
    auto* k = rs.add_contact_caps();
    k->set_id("3-PER-7D");
    k->set_max_attempts(3);
    *k->mutable_window() = Dur(absl::Hours(24 * 7));
  });
  std::string contact = absl::StrCat("tenants/", tenant_, "/contactLists/l/contacts/c1");
  absl::Time first = clock_.Now();
  EXPECT_TRUE(Check(kNy, type::v1::DIALING_MODE_PREVIEW, contact)->allowed());
  clock_.Advance(absl::Hours(1));
  EXPECT_TRUE(Check(kNy, type::v1::DIALING_MODE_PREVIEW, contact)->allowed());
  clock_.Advance(absl::Hours(1));
  auto third = Check(kNy, type::v1::DIALING_MODE_PREVIEW, contact);
  ASSERT_TRUE(third.ok());
  EXPECT_FALSE(third->allowed());
  EXPECT_EQ(Codes(*third), std::vector<std::string>{"ATTEMPT_CAP_NUMBER:2-PER-24H"});
  // Closed window (issue 21): the first attempt still counts exactly 24 h
  // later and leaves 1 ms after.
  EXPECT_EQ(FromUnixMillisForTest(third->next_allowed_time()),
            first + absl::Hours(24) + absl::Milliseconds(1));

  // The contact's other number counts toward the contact's cap.
  EXPECT_TRUE(Check(kFl, type::v1::DIALING_MODE_PREVIEW, contact)->allowed());
  auto fourth = Check("+13052010124", type::v1::DIALING_MODE_PREVIEW, contact);
  ASSERT_TRUE(fourth.ok());
  EXPECT_EQ(Codes(*fourth), std::vector<std::string>{"ATTEMPT_CAP_CONTACT:3-PER-7D"});

  clock_.Set(first + absl::Hours(24));
  EXPECT_FALSE(Check(kNy)->allowed());  // an attempt exactly 24 h earlier still counts
  clock_.Set(first + absl::Hours(24) + absl::Milliseconds(1));
  EXPECT_TRUE(Check(kNy)->allowed());  // the first attempt left the window
}

// A call event whose outcome this build does not define (a newer dialer's)
// counts as a placed attempt: it must not be dropped (that would under-count
// the caps) nor crash the consumer. It is neither an abandon nor a live answer.
TEST_F(ComplianceComponentTest, AnUndefinedCallOutcomeCountsAsAnAttempt) {
  SetRules([](v1::RuleSet& rs) {
    AlwaysOpen(rs);
    auto* c = rs.add_number_caps();
    c->set_id("1-PER-24H");
    c->set_max_attempts(1);
    *c->mutable_window() = Dur(absl::Hours(24));
  });
  ASSERT_TRUE(CallEnded(kNy, static_cast<dialing::v1::CallOutcome>(99)).ok());
  auto d = Check(kNy, type::v1::DIALING_MODE_PREVIEW);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_FALSE(d->allowed());
  EXPECT_EQ(Codes(*d), std::vector<std::string>{"ATTEMPT_CAP_NUMBER:1-PER-24H"});
}

TEST_F(ComplianceComponentTest, ACapAddedLaterCountsEarlierDials) {
  auto cap = [](v1::RuleSet& rs, const char* id, int n, absl::Duration w) {
    auto* c = rs.add_number_caps();
    c->set_id(id);
    c->set_max_attempts(n);
    *c->mutable_window() = Dur(w);
  };
  SetRules([&](v1::RuleSet& rs) {
    AlwaysOpen(rs);
    cap(rs, "10-PER-1H", 10, absl::Hours(1));
  });
  ASSERT_TRUE(Check(kNy)->allowed());
  clock_.Advance(absl::Hours(2));  // the first dial is out of every current window
  ASSERT_TRUE(Check(kNy)->allowed());
  clock_.Advance(absl::Minutes(1));
  SetRules([&](v1::RuleSet& rs) {
    AlwaysOpen(rs);
    cap(rs, "10-PER-1H", 10, absl::Hours(1));
    cap(rs, "2-PER-24H", 2, absl::Hours(24));
  });
  auto d = Check(kNy);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(Codes(*d), std::vector<std::string>{"ATTEMPT_CAP_NUMBER:2-PER-24H"})
      << "the dial of two hours ago was forgotten";
}

TEST_F(ComplianceComponentTest, TwoReplicasCannotBothSpendTheLastAttempt) {
  SetRules([](v1::RuleSet& rs) {
    AlwaysOpen(rs);
    auto* c = rs.add_number_caps();
    c->set_id("1-PER-DAY");
    c->set_max_attempts(1);
    *c->mutable_window() = Dur(absl::Hours(24));
  });
  auto replica = NewManager();
  for (int round = 0; round < 5; ++round) {
    std::string number = absl::StrCat("+1212201070", round);
    std::atomic<int> allowed{0}, failed{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
      threads.emplace_back([&, i] {
        auto d = Check(number, type::v1::DIALING_MODE_PREVIEW, "", "",
                       i % 2 ? replica.get() : manager_.get());
        if (!d.ok()) ++failed;
        else if (d->allowed()) ++allowed;
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(failed.load(), 0);
    EXPECT_EQ(allowed.load(), 1) << "round " << round;
  }
}

TEST_F(ComplianceComponentTest, RetriedRequestIdReturnsTheSameDecisionAndCountsOnce) {
  SetRules([](v1::RuleSet& rs) {
    AlwaysOpen(rs);
    auto* c = rs.add_number_caps();
    c->set_id("2-PER-DAY");
    c->set_max_attempts(2);
    *c->mutable_window() = Dur(absl::Hours(24));
  });
  auto a = Check(kNy, type::v1::DIALING_MODE_PREVIEW, "", "req-1");
  auto b = Check(kNy, type::v1::DIALING_MODE_PREVIEW, "", "req-1");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->decision_id(), b->decision_id());
  EXPECT_TRUE(b->allowed());
  EXPECT_TRUE(Check(kNy)->allowed());    // second real attempt
  EXPECT_FALSE(Check(kNy)->allowed());   // third: capped
}

TEST_F(ComplianceComponentTest, CallEventsDriveQuietPeriodAbandonRateAndAttempts) {
  SetRules([](v1::RuleSet& rs) {
    AlwaysOpen(rs);
    *rs.mutable_abandon_quiet_period() = Dur(absl::Hours(72));
    rs.set_max_abandon_rate(0.03);
    auto* c = rs.add_number_caps();
    c->set_id("1-PER-DAY");
    c->set_max_attempts(1);
    *c->mutable_window() = Dur(absl::Hours(24));
  });
  // An allowed dial that was never placed gives its attempt back.
  auto d = Check(kNy);
  ASSERT_TRUE(d.ok() && d->allowed());
  ASSERT_TRUE(CallEnded(kNy, dialing::v1::CALL_OUTCOME_NOT_PLACED, d->decision_id()).ok());
  auto d2 = Check(kNy);
  ASSERT_TRUE(d2.ok());
  EXPECT_TRUE(d2->allowed());

  // An abandoned call: 72 h quiet period for the number; the same event
  // delivered twice counts once.
  absl::Time abandoned_at = clock_.Now();
  ASSERT_TRUE(CallEnded(kCa, dialing::v1::CALL_OUTCOME_ABANDONED, "", "ev-1").ok());
  ASSERT_TRUE(CallEnded(kCa, dialing::v1::CALL_OUTCOME_ABANDONED, "", "ev-1").ok());
  for (int i = 0; i < 9; ++i) {
    ASSERT_TRUE(CallEnded(absl::StrCat("+1650253010", i), dialing::v1::CALL_OUTCOME_ANSWERED_CONNECTED).ok());
  }
  clock_.Advance(absl::Hours(30));
  auto quiet = Check(kCa);
  ASSERT_TRUE(quiet.ok());
  EXPECT_EQ(Codes(*quiet), std::vector<std::string>{"ABANDON_QUIET_PERIOD:abandon_quiet_period"});
  EXPECT_EQ(FromUnixMillisForTest(quiet->next_allowed_time()),
            abandoned_at + absl::Hours(72) + absl::Milliseconds(1));  // closed window

  v1::GetAbandonRateRequest rate_req;
  rate_req.set_campaign(campaign_);
  auto rate = manager_->GetAbandonRate(rate_req);
  ASSERT_TRUE(rate.ok()) << rate.status();
  EXPECT_EQ(rate->last_24_hours().abandoned(), 0);  // 30 h ago
  EXPECT_EQ(rate->last_30_days().abandoned(), 1);
  EXPECT_EQ(rate->last_30_days().live_answers(), 10);
  EXPECT_DOUBLE_EQ(rate->last_30_days().rate(), 0.1);
  EXPECT_TRUE(rate->over_cap());

  // Over the cap: predictive dials refused, progressive ones not.
  auto pred = Check(kFl, type::v1::DIALING_MODE_PREDICTIVE);
  ASSERT_TRUE(pred.ok());
  EXPECT_EQ(Codes(*pred), std::vector<std::string>{"ABANDON_RATE_EXCEEDED:max_abandon_rate"});
  EXPECT_TRUE(Check(kFl, type::v1::DIALING_MODE_PROGRESSIVE)->allowed());

  clock_.Advance(absl::Hours(43));
  EXPECT_TRUE(Check(kCa)->allowed());
}

TEST_F(ComplianceComponentTest, AmdHangUpsOnLivePersonsAreCountedByEstimate) {
  SetRules([](v1::RuleSet& rs) {
    AlwaysOpen(rs);
    rs.set_max_abandon_rate(0.03);
  });
  // 100 live answers, none abandoned, of attempts AMD screened with a 2 %
  // false-positive rate: 100 * 0.02 / 0.98 = 2.04 live persons estimated
  // hung up on as machines, abandoned calls the dialer never saw. Machines
  // and AMD-off calls add nothing.
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(CallEnded(absl::StrCat("+165025301", 10 + i % 80),
                          dialing::v1::CALL_OUTCOME_ANSWERED_CONNECTED, "", "", "", 0.02)
                    .ok());
  }
  ASSERT_TRUE(
      CallEnded(kCa, dialing::v1::CALL_OUTCOME_MACHINE, "", "", "", 0.02).ok());
  v1::GetAbandonRateRequest rate_req;
  rate_req.set_campaign(campaign_);
  auto rate = manager_->GetAbandonRate(rate_req);
  ASSERT_TRUE(rate.ok()) << rate.status();
  EXPECT_EQ(rate->last_24_hours().abandoned(), 0);
  EXPECT_EQ(rate->last_24_hours().live_answers(), 100);
  EXPECT_NEAR(rate->last_24_hours().estimated_amd_hangups(), 100 * 0.02 / 0.98, 1e-6);
  EXPECT_NEAR(rate->last_30_days().rate(), (2.0 / 0.98) / (100 + 2.0 / 0.98), 1e-6);
  EXPECT_FALSE(rate->over_cap());  // 2.0 %
  EXPECT_TRUE(Check(kFl, type::v1::DIALING_MODE_PREDICTIVE)->allowed());
  // One seen abandon more: 1 + 2.06 of 101 + 2.06, 2.97 %; a second one
  // takes the estimated rate over 3 % where the seen one is 2 %.
  ASSERT_TRUE(CallEnded(kNy, dialing::v1::CALL_OUTCOME_ABANDONED, "", "", "", 0.02).ok());
  EXPECT_TRUE(Check(kFl, type::v1::DIALING_MODE_PREDICTIVE)->allowed());
  ASSERT_TRUE(CallEnded(kNy, dialing::v1::CALL_OUTCOME_ABANDONED, "", "", "", 0.02).ok());
  rate = manager_->GetAbandonRate(rate_req);
  ASSERT_TRUE(rate.ok());
  EXPECT_GT(rate->last_24_hours().rate(), 0.03);
  EXPECT_TRUE(rate->over_cap());
  auto pred = Check(kFl, type::v1::DIALING_MODE_PREDICTIVE);
  ASSERT_TRUE(pred.ok());
  EXPECT_EQ(Codes(*pred), std::vector<std::string>{"ABANDON_RATE_EXCEEDED:max_abandon_rate"});
  EXPECT_TRUE(absl::StrContains(pred->reasons(0).detail(), "estimated AMD hang-ups"))
      << pred->reasons(0).detail();
}

TEST_F(ComplianceComponentTest, AutomatedCallsToWirelessNumbersNeedConsent) {
  SetRules([](v1::RuleSet& rs) {
    AlwaysOpen(rs);
    rs.set_require_consent_for_automated_wireless(true);
    rs.set_unknown_line_type_policy(v1::UNKNOWN_LINE_TYPE_POLICY_WIRELINE);
  });
  // kNy is on the wireless list; kFl's type is unknown and treated as wireline.
  auto d = Check(kNy, type::v1::DIALING_MODE_PREDICTIVE);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(Codes(*d), std::vector<std::string>{
                           "CONSENT_REQUIRED:rule_set.require_consent_for_automated_wireless"});
  EXPECT_TRUE(Check(kNy, type::v1::DIALING_MODE_PREVIEW)->allowed());  // a person dials
  EXPECT_TRUE(Check(kFl, type::v1::DIALING_MODE_PREDICTIVE)->allowed());

  v1::RecordConsentRequest rec;
  rec.set_parent("tenants/" + tenant_);
  rec.mutable_consent()->set_phone_number(kNy);
  rec.mutable_consent()->set_type(v1::CONSENT_TYPE_PRIOR_EXPRESS_WRITTEN);
  *rec.mutable_consent()->mutable_grant_time() =
      TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(clock_.Now() - absl::Hours(1)));
  *rec.mutable_consent()->mutable_expire_time() =
      TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(clock_.Now() + absl::Hours(48)));
  rec.mutable_consent()->set_source("web form 42");
  auto consent = manager_->RecordConsent(Actor{"crm", false}, rec);
  ASSERT_TRUE(consent.ok()) << consent.status();
  EXPECT_EQ(consent->name(), absl::StrCat("tenants/", tenant_, "/consents/tel-12122010601"));
  EXPECT_TRUE(Check(kNy, type::v1::DIALING_MODE_PREDICTIVE)->allowed());

  v1::RevokeConsentRequest rev;
  rev.set_name(consent->name());
  auto revoked = manager_->RevokeConsent(Actor{"crm", false}, rev);
  ASSERT_TRUE(revoked.ok());
  EXPECT_TRUE(revoked->has_revoke_time());
  EXPECT_FALSE(Check(kNy, type::v1::DIALING_MODE_PREDICTIVE)->allowed());

  // Re-recorded, then lapsed.
  ASSERT_TRUE(manager_->RecordConsent(Actor{"crm", false}, rec).ok());
  EXPECT_TRUE(Check(kNy, type::v1::DIALING_MODE_PREDICTIVE)->allowed());
  clock_.Advance(absl::Hours(49));
  EXPECT_FALSE(Check(kNy, type::v1::DIALING_MODE_PREDICTIVE)->allowed());

  // The safe default: unknown line types count as wireless.
  SetRules([](v1::RuleSet& rs) {
    AlwaysOpen(rs);
    rs.set_require_consent_for_automated_wireless(true);
  });
  EXPECT_FALSE(Check(kFl, type::v1::DIALING_MODE_PREDICTIVE)->allowed());

  // Bad consent records are refused.
  rec.mutable_consent()->clear_grant_time();
  EXPECT_EQ(FieldOf(manager_->RecordConsent(Actor{"crm", false}, rec).status()), "consent.grant_time");
}

TEST_F(ComplianceComponentTest, StaleRuleSetOnAnotherReplicaIsReloaded) {
  auto replica = NewManager();
  SetRules(AlwaysOpen);
  EXPECT_TRUE(Check(kNy, type::v1::DIALING_MODE_PREVIEW, "", "", replica.get())->allowed());
  // Version 2 (through the first replica) adds the number's campaign list.
  SetRules([](v1::RuleSet& rs) {
    AlwaysOpen(rs);
    auto* c = rs.add_number_caps();
    c->set_id("1-PER-DAY");
    c->set_max_attempts(1);
    *c->mutable_window() = Dur(absl::Hours(24));
  });
  auto d = Check(kNy, type::v1::DIALING_MODE_PREVIEW, "", "", replica.get());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->rule_set_version(), 2);
  EXPECT_FALSE(d->allowed());  // version 2's cap, counted with the first dial
}

TEST_F(ComplianceComponentTest, AuditListsDecisionsAndCallsInOrderWithPages) {
  SetRules(AlwaysOpen);
  auto a = Check(kNy);
  clock_.Advance(absl::Minutes(1));
  ASSERT_TRUE(CallEnded(kNy, dialing::v1::CALL_OUTCOME_NO_ANSWER, a->decision_id()).ok());
  clock_.Advance(absl::Minutes(1));
  v1::AddDoNotCallNumbersRequest add;
  add.set_parent("tenants/" + tenant_);
  add.add_phone_numbers(kNy);
  ASSERT_TRUE(manager_->AddDoNotCall(Actor{"a", false}, add).ok());
  auto b = Check(kNy);

  v1::ListDialRecordsRequest req;
  req.set_parent("tenants/" + tenant_);
  req.set_phone_number(kNy);
  req.set_page_size(2);
  auto page1 = manager_->ListDialRecords(req);
  ASSERT_TRUE(page1.ok()) << page1.status();
  ASSERT_EQ(page1->records_size(), 2);
  EXPECT_EQ(page1->records(0).decision().decision_id(), a->decision_id());
  EXPECT_TRUE(page1->records(0).decision().allowed());
  EXPECT_EQ(page1->records(1).call().outcome(), dialing::v1::CALL_OUTCOME_NO_ANSWER);
  ASSERT_FALSE(page1->next_page_token().empty());
  req.set_page_token(page1->next_page_token());
  auto page2 = manager_->ListDialRecords(req);
  ASSERT_TRUE(page2.ok()) << page2.status();
  ASSERT_EQ(page2->records_size(), 1);
  EXPECT_EQ(page2->records(0).decision().decision_id(), b->decision_id());
  EXPECT_FALSE(page2->records(0).decision().allowed());
  EXPECT_EQ(page2->records(0).decision().reasons(0).code(), "DNC_TENANT");
  EXPECT_TRUE(page2->next_page_token().empty());

  req.set_phone_number(kCa);  // a token is bound to its number
  EXPECT_EQ(ReasonOf(manager_->ListDialRecords(req).status()), "INVALID_PAGE_TOKEN");
}

TEST_F(ComplianceComponentTest, AuditReturnsNothingOlderThanTheRetention) {
  SetRules(AlwaysOpen);
  absl::Time first = clock_.Now();
  auto old = Check(kNy);
  ASSERT_TRUE(old.ok()) << old.status();
  // No write to this number since: its record is still in Redis, untrimmed.
  clock_.Set(first + absl::Hours(24 * 90) + absl::Hours(1));
  v1::ListDialRecordsRequest req;
  req.set_parent("tenants/" + tenant_);
  req.set_phone_number(kNy);
  *req.mutable_start_time() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(first - absl::Hours(1)));
  auto records = manager_->ListDialRecords(req);
  ASSERT_TRUE(records.ok()) << records.status();
  EXPECT_EQ(records->records_size(), 0) << "a decision older than the 90-day retention was returned";
}

TEST_F(ComplianceComponentTest, ScrubDecidesWithoutCounting) {
  SetRules([](v1::RuleSet& rs) {
    AlwaysOpen(rs);
    auto* c = rs.add_number_caps();
    c->set_id("1-PER-DAY");
    c->set_max_attempts(1);
    *c->mutable_window() = Dur(absl::Hours(24));
  });
  v1::ScrubNumbersRequest req;
  req.set_campaign(campaign_);
  req.set_dialing_mode(type::v1::DIALING_MODE_PREVIEW);
  req.add_entries()->set_phone_number(kNy);
  req.add_entries()->set_phone_number("garbage");
  req.add_entries()->set_phone_number(kNy);
  auto r = manager_->ScrubNumbers(Actor{"s", false}, req);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->results_size(), 3);
  EXPECT_TRUE(r->results(0).decision().allowed());
  EXPECT_TRUE(r->results(0).decision().scrub());
  EXPECT_FALSE(r->results(1).error().empty());
  EXPECT_TRUE(r->results(2).decision().allowed());  // nothing was counted
  auto real = Check(kNy);
  ASSERT_TRUE(real.ok());
  EXPECT_TRUE(real->allowed());
  EXPECT_FALSE(Check(kNy)->allowed());

  // A scrub for a dial far ahead is audited now and trims no history.
  *req.mutable_dial_time() =
      TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(clock_.Now() + absl::Hours(24 * 200)));
  ASSERT_TRUE(manager_->ScrubNumbers(Actor{"s", false}, req).ok());
  v1::ListDialRecordsRequest list;
  list.set_parent("tenants/" + tenant_);
  list.set_phone_number(kNy);
  list.set_page_size(100);
  auto records = manager_->ListDialRecords(list);
  ASSERT_TRUE(records.ok()) << records.status();
  bool kept = false;
  for (const auto& rec : records->records()) {
    kept = kept || rec.decision().decision_id() == real->decision_id();
    EXPECT_LE(FromUnixMillisForTest(rec.time()), clock_.Now());
  }
  EXPECT_TRUE(kept) << "the real dial's decision was trimmed by a future scrub";
  EXPECT_EQ(records->records_size(), 6);  // 2 + 2 scrub decisions, 2 real checks
}

TEST_F(ComplianceComponentTest, ContactEventsPutNumbersOnTheTenantList) {
  SetRules(AlwaysOpen);
  contacts::v1::ContactErased erased;
  erased.add_contacts("tenants/" + tenant_ + "/contactLists/l/contacts/1");
  erased.add_do_not_call_numbers(kNy);
  auto e = kafka::MakeEnvelope(tenant_, "x", erased, "contacts/test", clock_);
  ASSERT_TRUE(manager_->HandleEvent(e).ok());
  ASSERT_TRUE(manager_->HandleEvent(e).ok());  // redelivered: still one entry
  contacts::v1::ContactOptedOut opted;
  opted.set_contact("tenants/" + tenant_ + "/contactLists/l/contacts/2");
  opted.add_do_not_call_numbers(kFl);
  ASSERT_TRUE(manager_->HandleEvent(kafka::MakeEnvelope(tenant_, "y", opted, "contacts/test", clock_)).ok());
  EXPECT_EQ(Codes(*Check(kNy)), std::vector<std::string>{"DNC_TENANT:tenant"});
  EXPECT_EQ(Codes(*Check(kFl)), std::vector<std::string>{"DNC_TENANT:tenant"});
}

TEST_F(ComplianceComponentTest, OutboxRelayPublishesCompleteDecisionsAndRetries) {
  // Drain what earlier tests left.
  auto publisher = std::make_shared<RecordingPublisher>();
  events::OutboxRelay relay(store_->outbox(), publisher, RelayOptions());
  while (*relay.RunOnce() > 0) {
  }
  publisher->events.clear();
  publisher->topics.clear();  // (kept before: the check below read stale topics when run after others)

  SetRules(AlwaysOpen);
  v1::AddDoNotCallNumbersRequest add;
  add.set_parent("tenants/" + tenant_);
  add.add_phone_numbers(kCa);
  ASSERT_TRUE(manager_->AddDoNotCall(Actor{"a", false}, add).ok());
  auto d = Check(kCa);
  ASSERT_TRUE(d.ok());

  publisher->set_fail(true);
  EXPECT_FALSE(relay.RunOnce().ok());  // nothing popped
  publisher->set_fail(false);
  auto n = relay.RunOnce();
  ASSERT_TRUE(n.ok()) << n.status();
  ASSERT_EQ(*n, 3);  // rule set, DNC change, decision
  EXPECT_EQ(publisher->events[0].type(), "dialgrid.compliance.v1.RuleSetChanged");
  EXPECT_EQ(publisher->events[1].type(), "dialgrid.compliance.v1.DoNotCallChanged");
  ASSERT_EQ(publisher->events[2].type(), "dialgrid.compliance.v1.DialDecision");
  // Changes on a topic of their own (the audit log reads them), decisions
  // on `compliance`; the admin's change names its actor, a decision none.
  EXPECT_EQ(publisher->topics[0], "compliance-changes");
  EXPECT_EQ(publisher->topics[1], "compliance-changes");
  EXPECT_EQ(publisher->topics[2], "compliance");
  EXPECT_EQ(publisher->events[1].actor(), "a");
  EXPECT_EQ(publisher->events[2].actor(), "");
  v1::DialDecision published;
  ASSERT_TRUE(publisher->events[2].payload().UnpackTo(&published));
  EXPECT_EQ(published.decision_id(), d->decision_id());
  EXPECT_FALSE(published.allowed());
  ASSERT_EQ(published.reasons_size(), 1);
  EXPECT_EQ(published.reasons(0).code(), "DNC_TENANT");
  EXPECT_EQ(publisher->events[2].tenant(), tenant_);
  EXPECT_EQ(*relay.RunOnce(), 0);
  // The events went through this tenant's own outbox.
  auto len = client_->Command({"LLEN", absl::StrCat("{t:", tenant_, "}:outbox:compliance")});
  ASSERT_TRUE(len.ok());
  EXPECT_EQ(len->integer, 0);
}

TEST_F(ComplianceComponentTest, RegistryChangesBetweenRebuildsReachEveryReplica) {
  SetRules([](v1::RuleSet& rs) {
    AlwaysOpen(rs);
    rs.add_do_not_call_registries("us-dnc");
  });
  auto replica = NewManager();
  const std::string fresh = "+13052010555";
  EXPECT_TRUE(Check(fresh)->allowed());

  v1::UpdateRegistryRequest req;
  req.set_name("registries/us-dnc");
  req.add_add_numbers("305-201-0555");
  req.add_remove_numbers(kCa);  // was in the index
  req.set_reason("daily change file");
  auto resp = manager_->UpdateRegistry(Actor{"vendor", true}, req);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->registry().overlay_additions(), 1);
  EXPECT_EQ(resp->registry().overlay_removals(), 1);
  EXPECT_EQ(Codes(*Check(fresh)), std::vector<std::string>{"DNC_REGISTRY:us-dnc"});
  EXPECT_TRUE(Check(kCa)->allowed());

  // The other replica: not yet, then through the event, as its consumer delivers it.
  EXPECT_TRUE(Check(fresh, type::v1::DIALING_MODE_PREVIEW, "", "", replica.get())->allowed());
  auto publisher = std::make_shared<RecordingPublisher>();
  events::OutboxRelay relay(store_->outbox(), publisher, RelayOptions());
  while (*relay.RunOnce() > 0) {
  }
  int applied = 0;
  for (size_t i = 0; i < publisher->events.size(); ++i) {
    const auto& e = publisher->events[i];
    if (e.type() == "dialgrid.compliance.v1.RegistryChanged") {
      EXPECT_EQ(publisher->topics[i], "compliance-registries");
      ASSERT_TRUE(replica->HandleRegistryEvent(e).ok());
      ++applied;
    }
  }
  EXPECT_GE(applied, 1);
  EXPECT_FALSE(Check(fresh, type::v1::DIALING_MODE_PREVIEW, "", "", replica.get())->allowed());

  // A replica that starts later replays the stored overlay.
  auto late = NewManager();
  ASSERT_TRUE(late->LoadRegistryOverlays().ok());
  EXPECT_FALSE(Check(fresh, type::v1::DIALING_MODE_PREVIEW, "", "", late.get())->allowed());
  EXPECT_TRUE(Check(kCa, type::v1::DIALING_MODE_PREVIEW, "", "", late.get())->allowed());

  // Garbage is refused, nothing applied.
  v1::UpdateRegistryRequest bad;
  bad.set_name("registries/us-dnc");
  bad.add_add_numbers("+13052010556");
  bad.add_add_numbers("12345");
  EXPECT_EQ(FieldOf(manager_->UpdateRegistry(Actor{"vendor", true}, bad).status()), "add_numbers[1]");
  EXPECT_TRUE(Check("+13052010556")->allowed());
  bad.set_name("registries/nope");
  EXPECT_EQ(manager_->UpdateRegistry(Actor{"vendor", true}, bad).status().code(), absl::StatusCode::kNotFound);
}

// The caps in the Lua script agree with the domain model (CheckAttemptCaps)
// on random attempt histories.
TEST_F(ComplianceComponentTest, ScriptCapsAgreeWithTheDomainModel) {
  std::vector<AttemptCap> caps = {{"3-PER-24H", 3, absl::Hours(24)}, {"5-PER-7D", 5, absl::Hours(24 * 7)}};
  SetRules([&](v1::RuleSet& rs) {
    AlwaysOpen(rs);
    for (const auto& c : caps) {
      auto* p = rs.add_number_caps();
      p->set_id(c.id);
      p->set_max_attempts(c.max_attempts);
      *p->mutable_window() = Dur(c.window);
    }
  });
  std::mt19937 rng(7);
  absl::Time start = clock_.Now();
  for (int round = 0; round < 30; ++round) {
    std::string number = absl::StrCat("+1212202", 1000 + round);
    std::vector<absl::Time> attempts;
    int n = static_cast<int>(rng() % 8);
    for (int i = 0; i < n; ++i) {
      clock_.Set(start + absl::Minutes(static_cast<int64_t>(rng() % (60 * 24 * 8))));
      attempts.push_back(clock_.Now());
      ASSERT_TRUE(CallEnded(number, dialing::v1::CALL_OUTCOME_NO_ANSWER).ok());
    }
    absl::Time now = start + absl::Hours(24 * 8) + absl::Minutes(static_cast<int64_t>(rng() % 600));
    clock_.Set(now);
    CapDecision want = CheckAttemptCaps(caps, attempts, now);
    auto got = Check(number);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got->allowed(), want.allowed) << "round " << round;
    if (!want.allowed) {
      EXPECT_EQ(FromUnixMillisForTest(got->next_allowed_time()), want.next_allowed) << "round " << round;
    }
  }
}

// Request ids of do-not-call and consent changes: kept in Redis with the
// change (same script), at least 24 h; a retry answers as the first call and
// applies nothing; another request under the same id is refused.
TEST_F(ComplianceComponentTest, ChangeRequestIdsAnswerRetriesAndAreKeptADay) {
  SetRules(AlwaysOpen);
  v1::AddDoNotCallNumbersRequest add;
  add.set_parent("tenants/" + tenant_);
  add.add_phone_numbers(kNy);
  add.add_phone_numbers(kCa);
  add.set_request_id("opt-out-77");
  auto first = manager_->AddDoNotCall(Actor{"agent", false}, add);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->added(), 2);
  auto ttl = client_->Command({"PTTL", absl::StrCat("{t:", tenant_, "}:mreq:opt-out-77")});
  ASSERT_TRUE(ttl.ok());
  EXPECT_GT(ttl->integer, absl::ToInt64Milliseconds(absl::Hours(24) - absl::Minutes(1)));
  auto outbox_len = [&] {
    return client_->Command({"LLEN", absl::StrCat("{t:", tenant_, "}:outbox:compliance")})->integer;
  };
  const int64_t events = outbox_len();

  v1::RemoveDoNotCallNumbersRequest rm;
  rm.set_parent("tenants/" + tenant_);
  rm.add_phone_numbers(kCa);
  ASSERT_TRUE(manager_->RemoveDoNotCall(Actor{"admin", false}, rm).ok());
  auto retry = manager_->AddDoNotCall(Actor{"agent", false}, add);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->added(), 2);
  EXPECT_EQ(retry->already_listed(), 0);
  EXPECT_EQ(outbox_len(), events + 1) << "the retry wrote an event";
  EXPECT_TRUE(Check(kCa)->allowed()) << "the retry listed a removed number again";

  add.add_phone_numbers(kFl);
  auto reused = manager_->AddDoNotCall(Actor{"agent", false}, add);
  EXPECT_EQ(reused.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ReasonOf(reused.status()), "REQUEST_ID_REUSED");
  EXPECT_TRUE(Check(kFl)->allowed());

  // Consent: a retried record after a revocation returns the first record
  // and the consent stays revoked.
  v1::RecordConsentRequest rec;
  rec.set_parent("tenants/" + tenant_);
  rec.mutable_consent()->set_phone_number(kFl);
  rec.mutable_consent()->set_type(v1::CONSENT_TYPE_PRIOR_EXPRESS);
  *rec.mutable_consent()->mutable_grant_time() =
      TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(clock_.Now()));
  rec.set_request_id("consent-1");
  auto recorded = manager_->RecordConsent(Actor{"agent", false}, rec);
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  v1::RevokeConsentRequest revoke;
  revoke.set_name(recorded->name());
  revoke.set_request_id("revoke-1");
  ASSERT_TRUE(manager_->RevokeConsent(Actor{"agent", false}, revoke).ok());
  auto again = manager_->RecordConsent(Actor{"agent", false}, rec);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->has_revoke_time());
  v1::GetConsentRequest get;
  get.set_name(recorded->name());
  EXPECT_TRUE(manager_->GetConsent(get)->has_revoke_time());
  rec.mutable_consent()->set_source("another form");
  EXPECT_EQ(ReasonOf(manager_->RecordConsent(Actor{"agent", false}, rec).status()), "REQUEST_ID_REUSED");
}

TEST_F(ComplianceComponentTest, ListsAndConsentsPageInNumberOrderAndIndexOldData) {
  v1::AddDoNotCallNumbersRequest add;
  add.set_parent("tenants/" + tenant_);
  std::vector<std::string> numbers;
  for (int i = 0; i < 25; ++i) numbers.push_back(absl::StrCat("+1212201", 1000 + (i * 37) % 1000));
  for (const auto& n : numbers) add.add_phone_numbers(n);
  ASSERT_TRUE(manager_->AddDoNotCall(Actor{"agent", false}, add).ok());
  // A list stored before the listing index existed: drop the index.
  ASSERT_TRUE(client_->Command({"DEL", absl::StrCat("{t:", tenant_, "}:dncx")}).ok());
  std::sort(numbers.begin(), numbers.end());

  auto all = [&](v1::ListDoNotCallEntriesRequest req) {
    std::vector<std::string> seen;
    for (int page = 0; page < 100; ++page) {
      auto resp = manager_->ListDoNotCallEntries(req);
      EXPECT_TRUE(resp.ok()) << resp.status();
      if (!resp.ok()) break;
      for (const auto& e : resp->entries()) seen.push_back(e.phone_number());
      if (resp->next_page_token().empty()) break;
      req.set_page_token(resp->next_page_token());
    }
    return seen;
  };
  v1::ListDoNotCallEntriesRequest req;
  req.set_parent("tenants/" + tenant_);
  req.set_page_size(10);
  EXPECT_EQ(all(req), numbers);

  // Removed numbers leave the listing; other tenants see nothing of it.
  v1::RemoveDoNotCallNumbersRequest rm;
  rm.set_parent("tenants/" + tenant_);
  rm.add_phone_numbers(numbers[3]);
  ASSERT_TRUE(manager_->RemoveDoNotCall(Actor{"admin", false}, rm).ok());
  numbers.erase(numbers.begin() + 3);
  EXPECT_EQ(all(req), numbers);
  v1::ListDoNotCallEntriesRequest other;
  other.set_parent("tenants/" + tenant_ + "x");
  EXPECT_TRUE(all(other).empty());

  // Consents, also indexed on first listing.
  for (int i = 0; i < 3; ++i) {
    v1::RecordConsentRequest rec;
    rec.set_parent("tenants/" + tenant_);
    rec.mutable_consent()->set_phone_number(numbers[static_cast<size_t>(2 - i)]);
    rec.mutable_consent()->set_type(v1::CONSENT_TYPE_PRIOR_EXPRESS);
    *rec.mutable_consent()->mutable_grant_time() =
        TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(clock_.Now()));
    ASSERT_TRUE(manager_->RecordConsent(Actor{"agent", false}, rec).ok());
  }
  ASSERT_TRUE(client_->Command({"DEL", absl::StrCat("{t:", tenant_, "}:consx")}).ok());
  v1::ListConsentsRequest lc;
  lc.set_parent("tenants/" + tenant_);
  lc.set_page_size(2);
  auto p1 = manager_->ListConsents(lc);
  ASSERT_TRUE(p1.ok()) << p1.status();
  ASSERT_EQ(p1->consents_size(), 2);
  EXPECT_EQ(p1->consents(0).phone_number(), numbers[0]);
  EXPECT_EQ(p1->consents(1).phone_number(), numbers[1]);
  lc.set_page_token(p1->next_page_token());
  auto p2 = manager_->ListConsents(lc);
  ASSERT_TRUE(p2.ok()) << p2.status();
  ASSERT_EQ(p2->consents_size(), 1);
  EXPECT_EQ(p2->consents(0).phone_number(), numbers[2]);
  EXPECT_TRUE(p2->next_page_token().empty());
  lc.set_parent("tenants/" + tenant_ + "x");
  EXPECT_EQ(ReasonOf(manager_->ListConsents(lc).status()), "INVALID_PAGE_TOKEN");
}

TEST_F(ComplianceComponentTest, RegistryOverlaysLiveUnderTheVendorTagAndOldKeysAreTakenOver) {
  // An overlay written by an earlier build under untagged keys.
  const std::string fresh = "+13052010557";
  ASSERT_TRUE(client_->Command({"SADD", "dg:registry:us-dnc:add", "3052010557"}).ok());
  ASSERT_TRUE(client_->Command({"HSET", "dg:registry:us-dnc:dates", "3052010557", "2026-01-03"}).ok());
  ASSERT_TRUE(client_->Command({"SET", "dg:registry:us-dnc:asof", "2026-01-03"}).ok());
  SetOpenRulesWithRegistry("us-dnc", manager_.get());
  auto replica = NewManager();
  ASSERT_TRUE(replica->LoadRegistryOverlays().ok());
  auto d = Check(fresh, type::v1::DIALING_MODE_PREVIEW, "", "", replica.get());
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_FALSE(d->allowed()) << "the old overlay was not taken over";
  EXPECT_EQ(client_->Command({"EXISTS", "dg:registry:us-dnc:add"})->integer, 0);
  EXPECT_EQ(client_->Command({"SISMEMBER", "{vendor}:registry:us-dnc:add", "3052010557"})->integer, 1);
  EXPECT_EQ(client_->Command({"HGET", "{vendor}:registry:us-dnc:dates", "3052010557"})->str, "2026-01-03");
}

// Every script against a Redis in cluster mode (one node holding every
// slot): Redis refuses a script that touches keys of two slots, so this
// fails if any script of the store spans slots.
TEST_F(ComplianceComponentTest, NoScriptSpansTwoHashSlots) {
  auto server = RedisServer::Start({"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"});
  ASSERT_TRUE(server.ok()) << server.status();
  redis::Options o;
  o.port = (*server)->port();
  auto made = redis::Client::Create(o);
  ASSERT_TRUE(made.ok());
  std::shared_ptr<redis::Client> cluster(std::move(*made));
  ASSERT_TRUE(cluster->Command({"CLUSTER", "ADDSLOTSRANGE", "0", "16383"}).ok());
  bool up = false;
  for (int i = 0; i < 200 && !up; ++i) {  // the node takes its slots within moments
    auto info = cluster->Command({"CLUSTER", "INFO"});
    up = info.ok() && absl::StrContains(info->str, "cluster_state:ok");
    if (!up) absl::SleepFor(absl::Milliseconds(25));
  }
  ASSERT_TRUE(up) << "single-node cluster did not come up";
  store_ = std::make_shared<RedisComplianceStore>(cluster, "test/cluster");
  manager_ = NewManager();
  SetRules([](v1::RuleSet& rs) {
    AlwaysOpen(rs);
    rs.set_require_consent_for_automated_wireless(true);
    *rs.mutable_abandon_quiet_period() = Dur(absl::Hours(1));
    auto* cap = rs.add_contact_caps();
    cap->set_id("C");
    cap->set_max_attempts(3);
    *cap->mutable_window() = Dur(absl::Hours(24));
    rs.add_do_not_call_registries("us-dnc");
  });
  const std::string contact = absl::StrCat("tenants/", tenant_, "/contactLists/l/contacts/c1");
  auto d = Check(kNy, type::v1::DIALING_MODE_PREDICTIVE, contact, "req-1");
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_TRUE(Check(kNy, type::v1::DIALING_MODE_PREDICTIVE, contact, "req-1").ok());
  ASSERT_TRUE(CallEnded(kNy, dialing::v1::CALL_OUTCOME_ABANDONED, d->decision_id(), "ev-1", contact).ok());
  v1::AddDoNotCallNumbersRequest add;
  add.set_parent(campaign_);
  add.add_phone_numbers(kCa);
  add.set_request_id("add-1");
  ASSERT_TRUE(manager_->AddDoNotCall(Actor{"a", false}, add).ok());
  v1::RemoveDoNotCallNumbersRequest rm;
  rm.set_parent(campaign_);
  rm.add_phone_numbers(kCa);
  ASSERT_TRUE(manager_->RemoveDoNotCall(Actor{"a", false}, rm).ok());
  v1::ListDoNotCallEntriesRequest list;
  list.set_parent(campaign_);
  ASSERT_TRUE(manager_->ListDoNotCallEntries(list).ok());
  v1::RecordConsentRequest rec;
  rec.set_parent("tenants/" + tenant_);
  rec.mutable_consent()->set_phone_number(kNy);
  rec.mutable_consent()->set_type(v1::CONSENT_TYPE_PRIOR_EXPRESS);
  *rec.mutable_consent()->mutable_grant_time() =
      TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(clock_.Now()));
  rec.set_request_id("c-1");
  ASSERT_TRUE(manager_->RecordConsent(Actor{"a", false}, rec).ok());
  v1::ListConsentsRequest lc;
  lc.set_parent("tenants/" + tenant_);
  ASSERT_TRUE(manager_->ListConsents(lc).ok());
  ASSERT_TRUE(cluster->Command({"SADD", "dg:registry:us-dnc:del", "6502530077"}).ok());
  ASSERT_TRUE(manager_->LoadRegistryOverlays().ok());  // takes the old key over
  v1::UpdateRegistryRequest reg;
  reg.set_name("registries/us-dnc");
  reg.add_add_numbers(kFl);
  *reg.mutable_as_of() = Day("2026-01-04");
  ASSERT_TRUE(manager_->UpdateRegistry(Actor{"vendor", true}, reg).ok());
  v1::PruneRegistryOverlayRequest prune;
  prune.set_name("registries/us-dnc");
  *prune.mutable_through() = Day("2025-12-31");
  ASSERT_TRUE(manager_->PruneRegistryOverlay(Actor{"vendor", true}, prune).ok());
  v1::GetAbandonRateRequest rate;
  rate.set_campaign(campaign_);
  ASSERT_TRUE(manager_->GetAbandonRate(rate).ok());

  // Every key but the shared dirty sets carries the tenant's or the vendor's tag.
  auto keys = cluster->Command({"KEYS", "*"});
  ASSERT_TRUE(keys.ok());
  for (const auto& k : keys->elements) {
    EXPECT_TRUE(absl::StartsWith(k.str, absl::StrCat("{t:", tenant_, "}:")) ||
                absl::StartsWith(k.str, "{vendor}:") || absl::StartsWith(k.str, "{dg}:"))
        << k.str;
  }
}

// The law's rows (data/consent_rules.tsv, attempt_caps.tsv, lockouts.tsv)
// through check_dial.lua and call_event.lua on a real Redis (issue 21): the
// same answers as compliance.application.StatutoryApplicationTest.
class StatutoryComponentTest : public ComplianceComponentTest {
 protected:
  void SetUp() override {
    ComplianceComponentTest::SetUp();
    auto statutory = LoadStatutoryRules(DIALGRID_COMPLIANCE_DATA_DIR);
    ASSERT_TRUE(statutory.ok()) << statutory.status();
    ComplianceOptions options;
    options.statutory = *std::move(statutory);
    manager_ = std::make_unique<ComplianceManager>(
        store_, *zones_, *presets_, std::vector<std::unique_ptr<Registry>>{}, clock_, options);
    SetRules([](v1::RuleSet&) {});  // every preset, no tenant caps
  }

  absl::StatusOr<v1::DialDecision> Dial(const std::string& number, type::v1::DialingMode mode,
                                        type::v1::CallPurpose purpose, const std::string& debt = "",
                                        const std::string& contact = "") {
    v1::CheckDialRequest req;
    req.set_campaign(campaign_);
    req.set_contact(contact);
    req.set_phone_number(number);
    req.set_dialing_mode(mode);
    req.set_purpose(purpose);
    req.set_debt(debt);
    return manager_->CheckDial(Actor{"dialer", false}, req);
  }

  void Consent(const std::string& number, v1::ConsentType type) {
    v1::RecordConsentRequest rec;
    rec.set_parent("tenants/" + tenant_);
    rec.mutable_consent()->set_phone_number(number);
    rec.mutable_consent()->set_type(type);
    *rec.mutable_consent()->mutable_grant_time() =
        TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(clock_.Now() - absl::Hours(1)));
    ASSERT_TRUE(manager_->RecordConsent(Actor{"crm", false}, rec).ok());
  }
};

TEST_F(StatutoryComponentTest, WrittenConsentRuleIsNotMetByOralConsent) {
  auto none = Dial(kNy, type::v1::DIALING_MODE_PREDICTIVE, type::v1::CALL_PURPOSE_TELEMARKETING);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(Codes(*none), std::vector<std::string>{"CONSENT_REQUIRED:US-TCPA-AUTODIALED-WIRELESS"});
  EXPECT_EQ(none->required_consent(), v1::CONSENT_TYPE_PRIOR_EXPRESS_WRITTEN);
  Consent(kNy, v1::CONSENT_TYPE_PRIOR_EXPRESS);
  EXPECT_FALSE(Dial(kNy, type::v1::DIALING_MODE_PREDICTIVE, type::v1::CALL_PURPOSE_TELEMARKETING)->allowed());
  Consent(kNy, v1::CONSENT_TYPE_PRIOR_EXPRESS_WRITTEN);
  auto ok = Dial(kNy, type::v1::DIALING_MODE_PREDICTIVE, type::v1::CALL_PURPOSE_TELEMARKETING);
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->allowed()) << ok->DebugString();
  // A consent record of an earlier build (no type in its compact form)
  // meets nothing: fail closed until it is recorded again with its type.
  ASSERT_TRUE(client_
                  ->Command({"HSET", absl::StrCat("{t:", tenant_, "}:cons"), kNy,
                             absl::StrCat(absl::ToUnixMillis(clock_.Now()) - 1000, "||")})
                  .ok());
  EXPECT_FALSE(Dial(kNy, type::v1::DIALING_MODE_PREDICTIVE, type::v1::CALL_PURPOSE_TELEMARKETING)->allowed());
}

TEST_F(StatutoryComponentTest, RegFCountsPerDebtWithAClosedWindow) {
  const absl::Time start = clock_.Now();
  for (int i = 0; i < 7; ++i) {
    auto d = Dial(i % 2 ? "+12122010611" : "+12122010612", type::v1::DIALING_MODE_MANUAL,
                  type::v1::CALL_PURPOSE_DEBT_COLLECTION, "loan-42");
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_TRUE(d->allowed()) << i << d->DebugString();
    clock_.Advance(absl::Minutes(10));
  }
  auto eighth = Dial("+12122010613", type::v1::DIALING_MODE_MANUAL,
                     type::v1::CALL_PURPOSE_DEBT_COLLECTION, "loan-42");
  ASSERT_TRUE(eighth.ok());
  EXPECT_EQ(Codes(*eighth), std::vector<std::string>{"ATTEMPT_CAP_DEBT:US-REGF-7-IN-7D"});
  EXPECT_EQ(TimeUtil::TimestampToMilliseconds(eighth->next_allowed_time()),
            absl::ToUnixMillis(start + absl::Hours(24 * 7)) + 1);
  EXPECT_TRUE(Dial("+12122010613", type::v1::DIALING_MODE_MANUAL,
                   type::v1::CALL_PURPOSE_DEBT_COLLECTION, "card-7")
                  ->allowed());
  clock_.Set(start + absl::Hours(24 * 7));
  EXPECT_FALSE(Dial("+12122010613", type::v1::DIALING_MODE_MANUAL,
                    type::v1::CALL_PURPOSE_DEBT_COLLECTION, "loan-42")
                   ->allowed());
  clock_.Set(start + absl::Hours(24 * 7) + absl::Milliseconds(1));
  EXPECT_TRUE(Dial("+12122010613", type::v1::DIALING_MODE_MANUAL,
                   type::v1::CALL_PURPOSE_DEBT_COLLECTION, "loan-42")
                  ->allowed());
}

TEST_F(StatutoryComponentTest, FloridaCapPerPersonAndUkMachineLockout) {
  const std::string person = absl::StrCat("tenants/", tenant_, "/contactLists/l/contacts/c1");
  const absl::Time first = clock_.Now();
  for (int i = 0; i < 3; ++i) {
    auto d = Dial(i == 1 ? "+13052010124" : kFl, type::v1::DIALING_MODE_MANUAL,
                  type::v1::CALL_PURPOSE_TELEMARKETING, "", person);
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_TRUE(d->allowed()) << i << d->DebugString();
    clock_.Advance(absl::Hours(1));
  }
  // Exactly 24 h after the first: still counted (closed window).
  clock_.Set(first + absl::Hours(24));
  auto fourth = Dial("+13052010124", type::v1::DIALING_MODE_MANUAL,
                     type::v1::CALL_PURPOSE_TELEMARKETING, "", person);
  ASSERT_TRUE(fourth.ok());
  EXPECT_EQ(Codes(*fourth), std::vector<std::string>{"ATTEMPT_CAP_CONTACT:US-FL-FTSA-3-PER-24H"});
  clock_.Set(first + absl::Hours(24) + absl::Milliseconds(1));
  EXPECT_TRUE(Dial("+13052010124", type::v1::DIALING_MODE_MANUAL, type::v1::CALL_PURPOSE_TELEMARKETING,
                   "", person)
                  ->allowed());

  const char* gb = "+442079460000";
  ASSERT_TRUE(Dial(gb, type::v1::DIALING_MODE_PROGRESSIVE, type::v1::CALL_PURPOSE_TELEMARKETING)->allowed());
  const absl::Time machine = clock_.Now();
  ASSERT_TRUE(CallEnded(gb, dialing::v1::CALL_OUTCOME_MACHINE).ok());
  clock_.Set(machine + absl::Hours(24));
  auto locked = Dial(gb, type::v1::DIALING_MODE_PROGRESSIVE, type::v1::CALL_PURPOSE_TELEMARKETING);
  ASSERT_TRUE(locked.ok());
  EXPECT_EQ(Codes(*locked), std::vector<std::string>{"MACHINE_LOCKOUT:GB-OFCOM-AMD-24H"});
  EXPECT_EQ(TimeUtil::TimestampToMilliseconds(locked->next_allowed_time()),
            absl::ToUnixMillis(machine + absl::Hours(24)) + 1);
  EXPECT_TRUE(Dial(gb, type::v1::DIALING_MODE_MANUAL, type::v1::CALL_PURPOSE_TELEMARKETING)->allowed());
  clock_.Set(machine + absl::Hours(24) + absl::Milliseconds(1));
  EXPECT_TRUE(Dial(gb, type::v1::DIALING_MODE_PREDICTIVE, type::v1::CALL_PURPOSE_TELEMARKETING)->allowed());
}

TEST_F(StatutoryComponentTest, DayBanHasItsOwnReason) {
  // Sunday 2026-01-11 12:00 in Chicago; a Mississippi area code (601).
  clock_.Set(Utc(2026, 1, 11, 18));
  auto d = Dial("+16012010123", type::v1::DIALING_MODE_MANUAL, type::v1::CALL_PURPOSE_TELEMARKETING);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(Codes(*d), std::vector<std::string>{"DAY_BANNED:US-MS"});
  EXPECT_EQ(FromUnixMillisForTest(d->next_allowed_time()), Utc(2026, 1, 12, 14));  // Mon 08:00 CST
}

// Reg F's conversation lockout through check_dial.lua and call_event.lua:
// a conversation about a debt from the dialing topic or from a tenant's own
// dialer (RecordCallOutcome) refuses calls about that debt until day 8 in
// the callee's zone, for CheckDial and scrubs alike.
TEST_F(StatutoryComponentTest, RegFConversationLockoutPerDebt) {
  // Monday 2026-01-05 10:00 in New York: day 1.
  const absl::Time day8 = Utc(2026, 1, 12, 5);  // Monday 2026-01-12 00:00 EST
  dialing::v1::CallAttemptEnded call;
  call.set_campaign(campaign_);
  call.set_phone_number("+12122010611");
  call.set_outcome(dialing::v1::CALL_OUTCOME_ANSWERED_CONNECTED);
  call.set_debt("loan-42");
  *call.mutable_dial_time() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(clock_.Now()));
  *call.mutable_end_time() = call.dial_time();
  event::v1::Envelope e = kafka::MakeEnvelope(tenant_, "call", call, "dialing/test", clock_);
  ASSERT_TRUE(manager_->HandleEvent(e).ok());
  auto d = Dial("+12122010612", type::v1::DIALING_MODE_MANUAL, type::v1::CALL_PURPOSE_DEBT_COLLECTION,
                "loan-42");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(Codes(*d), std::vector<std::string>{"REG_F_CONVERSATION_LOCKOUT:US-REGF-CONVERSATION-7D"});
  EXPECT_EQ(FromUnixMillisForTest(d->next_allowed_time()), day8);
  EXPECT_TRUE(Dial("+12122010612", type::v1::DIALING_MODE_MANUAL, type::v1::CALL_PURPOSE_DEBT_COLLECTION,
                   "card-7")
                  ->allowed());
  // Every call event with a debt counts in that debt's 7 calls in 7 days:
  // 7 unanswered calls about fee-3 (no conversation) refuse the 8th.
  for (int i = 0; i < 7; ++i) {
    dialing::v1::CallAttemptEnded unanswered = call;
    unanswered.set_outcome(dialing::v1::CALL_OUTCOME_NO_ANSWER);
    unanswered.set_debt("fee-3");
    event::v1::Envelope ev =
        kafka::MakeEnvelope(tenant_, "call", unanswered, "dialing/test", clock_);
    ASSERT_TRUE(manager_->HandleEvent(ev).ok());
    ASSERT_TRUE(manager_->HandleEvent(ev).ok());  // a replay counts once
  }
  EXPECT_EQ(Codes(*Dial("+12122010613", type::v1::DIALING_MODE_MANUAL,
                        type::v1::CALL_PURPOSE_DEBT_COLLECTION, "fee-3")),
            std::vector<std::string>{"ATTEMPT_CAP_DEBT:US-REGF-7-IN-7D"});

  auto scrub = [&](absl::Time at) {
    v1::ScrubNumbersRequest req;
    req.set_campaign(campaign_);
    req.set_dialing_mode(type::v1::DIALING_MODE_MANUAL);
    req.set_purpose(type::v1::CALL_PURPOSE_DEBT_COLLECTION);
    *req.mutable_dial_time() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(at));
    v1::ScrubEntry* entry = req.add_entries();
    entry->set_phone_number("+12122010612");
    entry->set_debt("loan-42");
    auto r = manager_->ScrubNumbers(Actor{"crm", false}, req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r->results(0).decision();
  };
  // Sunday 20:59 (day 7, within calling hours): the lockout alone.
  EXPECT_EQ(Codes(scrub(Utc(2026, 1, 12, 1, 59))),
            std::vector<std::string>{"REG_F_CONVERSATION_LOCKOUT:US-REGF-CONVERSATION-7D"});
  EXPECT_TRUE(scrub(Utc(2026, 1, 12, 13)).allowed());  // Monday 08:00, day 8

  // A tenant's own dialer reports a conversation about another debt.
  v1::RecordCallOutcomeRequest rep;
  rep.set_parent("tenants/" + tenant_);
  rep.set_request_id("own-dialer-1");
  *rep.mutable_call() = call;
  rep.mutable_call()->set_debt("car-9");
  rep.mutable_call()->set_phone_number("2122010614");
  rep.set_default_country("US");
  auto rec = manager_->RecordCallOutcome(Actor{"crm-dialer", false}, rep);
  ASSERT_TRUE(rec.ok()) << rec.status();
  EXPECT_TRUE(rec->conversation());
  EXPECT_EQ(rec->call().phone_number(), "+12122010614");
  auto locked = Dial("+12122010615", type::v1::DIALING_MODE_PREVIEW,
                     type::v1::CALL_PURPOSE_DEBT_COLLECTION, "car-9");
  ASSERT_TRUE(locked.ok());
  EXPECT_EQ(Codes(*locked),
            std::vector<std::string>{"REG_F_CONVERSATION_LOCKOUT:US-REGF-CONVERSATION-7D"});
  // Retry: the first record; another request under the id: refused.
  clock_.Advance(absl::Seconds(2));
  auto retry = manager_->RecordCallOutcome(Actor{"crm-dialer", false}, rep);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->SerializeAsString(), rec->SerializeAsString());
  rep.mutable_call()->set_outcome(dialing::v1::CALL_OUTCOME_BUSY);
  EXPECT_EQ(ReasonOf(manager_->RecordCallOutcome(Actor{"crm-dialer", false}, rep).status()),
            "REQUEST_ID_REUSED");
  // Audited once, with who reported it.
  v1::ListDialRecordsRequest list;
  list.set_parent("tenants/" + tenant_);
  list.set_phone_number("+12122010614");
  auto records = manager_->ListDialRecords(list);
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->records_size(), 1);
  EXPECT_EQ(records->records(0).reported_by(), "crm-dialer");
  EXPECT_EQ(records->records(0).call().debt(), "car-9");
}

// Consent valid from its grant until a revocation at the time the client
// states (issue 21), through put_consent.lua and check_dial.lua.
TEST_F(StatutoryComponentTest, ConsentRevokedAtAStatedTime) {
  const char* number = "+12122010620";
  const absl::Time now = clock_.Now();
  v1::RecordConsentRequest rec;
  rec.set_parent("tenants/" + tenant_);
  rec.mutable_consent()->set_phone_number(number);
  rec.mutable_consent()->set_type(v1::CONSENT_TYPE_PRIOR_EXPRESS_WRITTEN);
  *rec.mutable_consent()->mutable_grant_time() =
      TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(now - absl::Hours(72)));
  auto granted = manager_->RecordConsent(Actor{"crm", false}, rec);
  ASSERT_TRUE(granted.ok()) << granted.status();
  v1::RevokeConsentRequest revoke;
  revoke.set_name(granted->name());
  revoke.set_request_id("rv-1");
  const absl::Time stated = now - absl::Hours(24);
  *revoke.mutable_revoke_time() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(stated));
  auto revoked = manager_->RevokeConsent(Actor{"clerk", false}, revoke);
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  EXPECT_EQ(FromUnixMillisForTest(revoked->revoke_time()), stated);
  EXPECT_EQ(revoked->revoked_by(), "clerk");
  auto scrub = [&](absl::Time at) {
    v1::ScrubNumbersRequest req;
    req.set_campaign(campaign_);
    req.set_dialing_mode(type::v1::DIALING_MODE_PREDICTIVE);
    *req.mutable_dial_time() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(at));
    req.add_entries()->set_phone_number(number);
    auto r = manager_->ScrubNumbers(Actor{"crm", false}, req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r->results(0).decision();
  };
  EXPECT_TRUE(scrub(stated - absl::Milliseconds(1)).allowed());
  EXPECT_EQ(Codes(scrub(stated)),
            std::vector<std::string>{"CONSENT_REQUIRED:US-TCPA-AUTODIALED-WIRELESS"});
  EXPECT_FALSE(Dial(number, type::v1::DIALING_MODE_PREDICTIVE, type::v1::CALL_PURPOSE_TELEMARKETING)
                   ->allowed());
  auto got = manager_->GetConsent([&] {
    v1::GetConsentRequest g;
    g.set_name(granted->name());
    return g;
  }());
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->recorded_by(), "crm");
  EXPECT_EQ(FromUnixMillisForTest(got->record_time()), now);
  EXPECT_EQ(FromUnixMillisForTest(got->revoke_record_time()), now);
}

// Established business relationships (ebr_rules.tsv), Korea's separate
// night consent (hours_waivers.tsv) and Japan's Art. 17 refusals, through
// the Redis scripts.
class RelationshipComponentTest : public StatutoryComponentTest {
 protected:
  void SetUp() override {
    StatutoryComponentTest::SetUp();
    // A registry under the US rules row (EBR rows US-TSR-EBR-*) listing a
    // Californian number from its download (binds at once).
    const std::string path = *dir_ + "/us-ebr.dncidx";
    DncIndexBuilder b;
    ASSERT_TRUE(b.Add(6502530077).ok());
    auto index = b.Build();
    ASSERT_TRUE(index.ok());
    ASSERT_TRUE(index->WriteTo(path).ok());
    ASSERT_TRUE(
        WriteRegistryManifest(path, *index, absl::CivilDay(2026, 1, 1), 365, "US-NATIONAL-DNC").ok());
    auto statutory = LoadStatutoryRules(DIALGRID_COMPLIANCE_DATA_DIR);
    ASSERT_TRUE(statutory.ok()) << statutory.status();
    auto regs = LoadRegistries({"us-ebr:dnc:" + path});
    ASSERT_TRUE(regs.ok()) << regs.status();
    ASSERT_TRUE(ApplyRegistryRules(statutory->registries, *regs).ok());
    ComplianceOptions options;
    options.statutory = *std::move(statutory);
    manager_ = std::make_unique<ComplianceManager>(store_, *zones_, *presets_, *std::move(regs),
                                                   clock_, options);
    SetRules([](v1::RuleSet& rs) {
      rs.add_calling_hours_presets("KR-ICNA");
      rs.add_calling_hours_presets("JP-NONE");
      auto* r = rs.add_custom_calling_hours();
      r->set_id("TEST-ALWAYS");
      r->set_jurisdiction("US");
      for (int i = 0; i < 7; ++i) r->add_weekday_windows("00:00-24:00");
      r->set_source("test");
      rs.add_do_not_call_registries("us-ebr");
    });
  }

  absl::StatusOr<v1::EstablishedRelationship> Relationship(const std::string& number,
                                                           v1::RelationshipKind kind,
                                                           absl::CivilDay date) {
    v1::RecordEstablishedRelationshipRequest req;
    req.set_parent("tenants/" + tenant_);
    req.mutable_relationship()->set_phone_number(number);
    req.mutable_relationship()->set_kind(kind);
    *req.mutable_relationship()->mutable_date() = DateOf(date);
    req.mutable_relationship()->set_source("order 17");
    return manager_->RecordEstablishedRelationship(Actor{"crm", false}, req);
  }

  // The scrub's decision for `number` at `at` (California's local time in
  // the tests below), with its codes.
  v1::DialDecision ScrubAt(const std::string& number, absl::Time at,
                           const std::string& product = "",
                           const std::string& campaign = "") {
    v1::ScrubNumbersRequest req;
    req.set_campaign(campaign.empty() ? campaign_ : campaign);
    req.set_dialing_mode(type::v1::DIALING_MODE_PREVIEW);
    *req.mutable_dial_time() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(at));
    auto* e = req.add_entries();
    e->set_phone_number(number);
    e->set_product(product);
    auto r = manager_->ScrubNumbers(Actor{"crm", false}, req);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok() || r->results_size() != 1) return v1::DialDecision();
    EXPECT_EQ(r->results(0).error(), "");
    return r->results(0).decision();
  }
};

absl::Time La(int y, int mo, int d, int h, int mi = 0, int s = 0) {
  absl::TimeZone la;
  EXPECT_TRUE(absl::LoadTimeZone("America/Los_Angeles", &la));
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), la);
}

// Rule doc 2.1: an EBR lifts the National DNC listing for 18 months after
// the last transaction and 3 months after an inquiry, on the callee's local
// dates: the last day in and the first day out, a short month's end included.
TEST_F(RelationshipComponentTest, EbrLiftsTheRegistryWithinItsWindow) {
  const std::string ca = "+16502530077";  // listed; America/Los_Angeles
  const std::vector<std::string> listed = {"DNC_REGISTRY:us-ebr"};
  EXPECT_EQ(Codes(ScrubAt(ca, La(2026, 1, 5, 10))), listed);
  // A transaction on 2024-08-31: from that local day through 18 months
  // later, 2026-02-28 (February has no 31st: the earlier day, restrictive).
  auto t = Relationship(ca, v1::RELATIONSHIP_KIND_TRANSACTION, absl::CivilDay(2024, 8, 31));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->recorded_by(), "crm");
  EXPECT_EQ(Codes(ScrubAt(ca, La(2024, 8, 30, 23, 59, 59))), listed);
  EXPECT_TRUE(ScrubAt(ca, La(2024, 8, 31, 0)).allowed());
  const v1::DialDecision in = ScrubAt(ca, La(2026, 2, 28, 23, 59, 59));
  EXPECT_TRUE(in.allowed()) << in.DebugString();
  EXPECT_EQ(std::vector<std::string>(in.exemptions().begin(), in.exemptions().end()),
            std::vector<std::string>{"us-ebr:US-TSR-EBR-TRANSACTION"});
  const v1::DialDecision out = ScrubAt(ca, La(2026, 3, 1, 0));
  EXPECT_EQ(Codes(out), listed);
  EXPECT_EQ(out.exemptions_size(), 0);
  // An inquiry on 2025-12-05 lifts it through 2026-03-05.
  ASSERT_TRUE(Relationship(ca, v1::RELATIONSHIP_KIND_INQUIRY, absl::CivilDay(2025, 12, 5)).ok());
  const v1::DialDecision inquiry = ScrubAt(ca, La(2026, 3, 1, 0));
  EXPECT_TRUE(inquiry.allowed());
  ASSERT_EQ(inquiry.exemptions_size(), 1);
  EXPECT_EQ(inquiry.exemptions(0), "us-ebr:US-TSR-EBR-INQUIRY");
  EXPECT_TRUE(ScrubAt(ca, La(2026, 3, 5, 23, 59, 59)).allowed());
  EXPECT_EQ(Codes(ScrubAt(ca, La(2026, 3, 6, 0))), listed);
  // CheckDial answers as the scrub, and is audited with the exemption.
  auto d = Check(ca);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->allowed()) << d->DebugString();
  EXPECT_EQ(d->exemptions(0), "us-ebr:US-TSR-EBR-TRANSACTION");
  // A relationship never lifts the tenant's own list (and the request ends it).
  v1::AddDoNotCallNumbersRequest add;
  add.set_parent("tenants/" + tenant_);
  add.add_phone_numbers(ca);
  ASSERT_TRUE(manager_->AddDoNotCall(Actor{"agent", false}, add).ok());
  EXPECT_EQ(Codes(ScrubAt(ca, La(2026, 1, 5, 10))),
            (std::vector<std::string>{"DNC_TENANT:tenant", "DNC_REGISTRY:us-ebr"}));
}

// A do-not-call request to the tenant ends the relationships dated up to
// it (void once the person asked this seller not to call): a campaign list
// entry ends them for every campaign, taking it off again does not restore
// them; a relationship dated after the request counts.
TEST_F(RelationshipComponentTest, DoNotCallRequestEndsTheRelationship) {
  const std::string ca = "+16502530077";
  ASSERT_TRUE(Relationship(ca, v1::RELATIONSHIP_KIND_INQUIRY, absl::CivilDay(2026, 1, 2)).ok());
  EXPECT_TRUE(ScrubAt(ca, La(2026, 1, 5, 10)).allowed());
  v1::AddDoNotCallNumbersRequest add;
  add.set_parent(campaign_);
  add.add_phone_numbers(ca);
  ASSERT_TRUE(manager_->AddDoNotCall(Actor{"agent", false}, add).ok());  // 2026-01-05 15:00 UTC
  const std::string other = absl::StrCat("tenants/", tenant_, "/campaigns/other");
  EXPECT_EQ(Codes(ScrubAt(ca, La(2026, 1, 5, 10))),
            (std::vector<std::string>{"DNC_CAMPAIGN:campaign:spring", "DNC_REGISTRY:us-ebr"}));
  EXPECT_EQ(Codes(ScrubAt(ca, La(2026, 1, 5, 10), "", other)),
            std::vector<std::string>{"DNC_REGISTRY:us-ebr"});
  v1::RemoveDoNotCallNumbersRequest rm;
  rm.set_parent(campaign_);
  rm.add_phone_numbers(ca);
  ASSERT_TRUE(manager_->RemoveDoNotCall(Actor{"admin", false}, rm).ok());
  EXPECT_EQ(Codes(ScrubAt(ca, La(2026, 1, 6, 10))), std::vector<std::string>{"DNC_REGISTRY:us-ebr"});
  // The request's date at UTC+14 is 2026-01-06: a relationship of that day
  // is ended too, one of the 7th is not.
  clock_.Set(Utc(2026, 1, 8, 20));
  ASSERT_TRUE(Relationship(ca, v1::RELATIONSHIP_KIND_INQUIRY, absl::CivilDay(2026, 1, 6)).ok());
  EXPECT_EQ(Codes(ScrubAt(ca, La(2026, 1, 8, 10))), std::vector<std::string>{"DNC_REGISTRY:us-ebr"});
  ASSERT_TRUE(Relationship(ca, v1::RELATIONSHIP_KIND_INQUIRY, absl::CivilDay(2026, 1, 7)).ok());
  EXPECT_TRUE(ScrubAt(ca, La(2026, 1, 8, 10)).allowed());
  // Listing, paged: the transaction-less number has its one inquiry record,
  // with no end (dated after the request).
  ASSERT_TRUE(Relationship("+12122010601", v1::RELATIONSHIP_KIND_TRANSACTION,
                           absl::CivilDay(2025, 6, 1))
                  .ok());
  v1::ListEstablishedRelationshipsRequest list;
  list.set_parent("tenants/" + tenant_);
  list.set_page_size(1);
  auto p1 = manager_->ListEstablishedRelationships(list);
  ASSERT_TRUE(p1.ok()) << p1.status();
  ASSERT_EQ(p1->relationships_size(), 1);
  EXPECT_EQ(p1->relationships(0).phone_number(), "+12122010601");
  EXPECT_FALSE(p1->relationships(0).has_end_time());
  list.set_page_token(p1->next_page_token());
  auto p2 = manager_->ListEstablishedRelationships(list);
  ASSERT_TRUE(p2.ok()) << p2.status();
  ASSERT_EQ(p2->relationships_size(), 1);
  EXPECT_EQ(p2->relationships(0).phone_number(), ca);
  EXPECT_EQ(p2->relationships(0).kind(), v1::RELATIONSHIP_KIND_INQUIRY);
  EXPECT_FALSE(p2->relationships(0).has_end_time());
  EXPECT_EQ(p2->next_page_token(), "");
  // Re-recorded with the ended date: listed as ended.
  ASSERT_TRUE(Relationship(ca, v1::RELATIONSHIP_KIND_INQUIRY, absl::CivilDay(2026, 1, 6)).ok());
  auto p3 = manager_->ListEstablishedRelationships(list);
  ASSERT_TRUE(p3.ok());
  ASSERT_EQ(p3->relationships_size(), 1);
  EXPECT_EQ(FromUnixMillisForTest(p3->relationships(0).end_time()), Utc(2026, 1, 5, 15));
}

// Korea Art. 50(3): 21:00-08:00 only with a separate consent
// (CONSENT_SCOPE_NIGHT_HOURS on a valid consent record); without it the
// hours refuse the dial with their next allowed time.
TEST_F(RelationshipComponentTest, KoreaNightNeedsTheSeparateConsent) {
  const std::string kr = "+82212345678";  // Seoul
  absl::TimeZone seoul;
  ASSERT_TRUE(absl::LoadTimeZone("Asia/Seoul", &seoul));
  const absl::Time night = absl::FromCivil(absl::CivilMinute(2026, 1, 6, 21, 0), seoul);
  v1::RecordConsentRequest rec;
  rec.set_parent("tenants/" + tenant_);
  rec.mutable_consent()->set_phone_number(kr);
  rec.mutable_consent()->set_type(v1::CONSENT_TYPE_PRIOR_EXPRESS);
  *rec.mutable_consent()->mutable_grant_time() =
      TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(clock_.Now() - absl::Hours(1)));
  ASSERT_TRUE(manager_->RecordConsent(Actor{"crm", false}, rec).ok());
  EXPECT_TRUE(ScrubAt(kr, night - absl::Seconds(1)).allowed());
  const v1::DialDecision refused = ScrubAt(kr, night);
  EXPECT_EQ(Codes(refused), std::vector<std::string>{"OUTSIDE_CALLING_HOURS:KR-ICNA"});
  EXPECT_EQ(FromUnixMillisForTest(refused.next_allowed_time()),
            absl::FromCivil(absl::CivilMinute(2026, 1, 7, 8, 0), seoul));
  rec.mutable_consent()->add_scopes(v1::CONSENT_SCOPE_NIGHT_HOURS);
  ASSERT_TRUE(manager_->RecordConsent(Actor{"crm", false}, rec).ok());
  const v1::DialDecision waived = ScrubAt(kr, night);
  EXPECT_TRUE(waived.allowed()) << waived.DebugString();
  EXPECT_EQ(std::vector<std::string>(waived.hour_waivers().begin(), waived.hour_waivers().end()),
            std::vector<std::string>{"KR-ICNA-NIGHT"});
  // Revoked: the night is refused again (and the advertising consent is gone).
  v1::RevokeConsentRequest revoke;
  revoke.set_name(absl::StrCat("tenants/", tenant_, "/consents/tel-", kr.substr(1)));
  ASSERT_TRUE(manager_->RevokeConsent(Actor{"crm", false}, revoke).ok());
  EXPECT_EQ(Codes(ScrubAt(kr, night)),
            (std::vector<std::string>{"CONSENT_REQUIRED:KR-ICNA-ADVERTISING",
                                      "OUTSIDE_CALLING_HOURS:KR-ICNA"}));
}

// Japan Art. 17: after a refusal, no solicitation of that product (or of any
// product when the refusal names none, or when the dial names none).
TEST_F(RelationshipComponentTest, JapanRefusalRecordRefusesReSolicitation) {
  const std::string jp = "+81312345678";
  const absl::Time refused_at = clock_.Now() - absl::Hours(2);
  v1::RecordSolicitationRefusalRequest req;
  req.set_parent("tenants/" + tenant_);
  req.mutable_refusal()->set_phone_number(jp);
  req.mutable_refusal()->set_product("fiber-plan");
  *req.mutable_refusal()->mutable_refuse_time() =
      TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(refused_at));
  auto r = manager_->RecordSolicitationRefusal(Actor{"agent", false}, req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->recorded_by(), "agent");
  // Before the refusal: allowed; from its instant on: refused for that product.
  EXPECT_TRUE(ScrubAt(jp, refused_at - absl::Milliseconds(1), "fiber-plan").allowed());
  EXPECT_EQ(Codes(ScrubAt(jp, refused_at, "fiber-plan")),
            std::vector<std::string>{"SOLICITATION_REFUSED:JP-SCTA-ART17-REFUSAL"});
  EXPECT_TRUE(ScrubAt(jp, refused_at, "mobile-plan").allowed());
  EXPECT_FALSE(ScrubAt(jp, refused_at, "").allowed());  // no product named: restrictive
  // A later refusal of the same product keeps the earlier one.
  *req.mutable_refusal()->mutable_refuse_time() =
      TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(clock_.Now()));
  auto again = manager_->RecordSolicitationRefusal(Actor{"agent", false}, req);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(FromUnixMillisForTest(again->refuse_time()), refused_at);
  // A refusal of every product.
  req.mutable_refusal()->set_product("");
  ASSERT_TRUE(manager_->RecordSolicitationRefusal(Actor{"agent", false}, req).ok());
  EXPECT_FALSE(ScrubAt(jp, clock_.Now(), "mobile-plan").allowed());
  v1::ListSolicitationRefusalsRequest list;
  list.set_parent("tenants/" + tenant_);
  auto page = manager_->ListSolicitationRefusals(list);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->refusals_size(), 2);
  EXPECT_EQ(page->refusals(0).product(), "");
  EXPECT_EQ(page->refusals(1).product(), "fiber-plan");
  // The rule applies in Japan only: a US number with a refusal is not refused by it.
  req.mutable_refusal()->set_phone_number("+12122010601");
  ASSERT_TRUE(manager_->RecordSolicitationRefusal(Actor{"agent", false}, req).ok());
  EXPECT_TRUE(ScrubAt("+12122010601", clock_.Now(), "x").allowed());
}

// Japan Art. 17, a person's refusal ("once a person indicates they will not
// contract"), through put_refusal.lua and check_dial.lua: a refusal recorded
// for a contact refuses every number dialed for that contact, for that
// product (every product when it names none), stored with its event; other
// contacts on the number and dials naming no contact are not refused by it.
TEST_F(RelationshipComponentTest, JapanRefusalOfAPersonCoversAllTheirNumbers) {
  const std::string home = "+81312345678", mobile = "+819012345678";
  const std::string contact = "tenants/" + tenant_ + "/contactLists/l/contacts/c1";
  const std::string other = "tenants/" + tenant_ + "/contactLists/l/contacts/c2";
  auto scrub = [&](const std::string& number, const std::string& who, absl::Time at,
                   const std::string& product) {
    v1::ScrubNumbersRequest req;
    req.set_campaign(campaign_);
    req.set_dialing_mode(type::v1::DIALING_MODE_PREVIEW);
    *req.mutable_dial_time() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(at));
    auto* e = req.add_entries();
    e->set_phone_number(number);
    e->set_contact(who);
    e->set_product(product);
    auto r = manager_->ScrubNumbers(Actor{"crm", false}, req);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok() || r->results_size() != 1) return v1::DialDecision();
    EXPECT_EQ(r->results(0).error(), "");
    return r->results(0).decision();
  };
  const absl::Time at = clock_.Now() - absl::Hours(2);
  auto outbox_len = [&] {
    return client_->Command({"LLEN", absl::StrCat("{t:", tenant_, "}:outbox:compliance")})->integer;
  };
  const auto events_before = outbox_len();
  v1::RecordSolicitationRefusalRequest req;
  req.set_parent("tenants/" + tenant_);
  req.set_request_id("refuse-person-1");
  req.mutable_refusal()->set_contact(contact);
  req.mutable_refusal()->set_product("fiber-plan");
  *req.mutable_refusal()->mutable_refuse_time() =
      TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(at));
  auto r = manager_->RecordSolicitationRefusal(Actor{"agent", false}, req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->contact(), contact);
  EXPECT_EQ(outbox_len(), events_before + 1);
  // A retry under the request id: the same record, no second event.
  auto retry = manager_->RecordSolicitationRefusal(Actor{"agent", false}, req);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->name(), r->name());
  EXPECT_EQ(outbox_len(), events_before + 1);
  req.clear_request_id();
  for (const std::string& n : {home, mobile}) {
    EXPECT_TRUE(scrub(n, contact, at - absl::Milliseconds(1), "fiber-plan").allowed()) << n;
    EXPECT_EQ(Codes(scrub(n, contact, at, "fiber-plan")),
              std::vector<std::string>{"SOLICITATION_REFUSED:JP-SCTA-ART17-REFUSAL"})
        << n;
    EXPECT_FALSE(scrub(n, contact, at, "").allowed()) << n;  // no product named: restrictive
    EXPECT_TRUE(scrub(n, contact, at, "mobile-plan").allowed()) << n;
  }
  EXPECT_TRUE(scrub(mobile, other, at, "fiber-plan").allowed());
  EXPECT_TRUE(scrub(mobile, "", at, "fiber-plan").allowed());
  // A later refusal of the same person and product keeps the earlier one.
  *req.mutable_refusal()->mutable_refuse_time() =
      TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(clock_.Now()));
  auto again = manager_->RecordSolicitationRefusal(Actor{"agent", false}, req);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(FromUnixMillisForTest(again->refuse_time()), at);
  // Every product.
  req.mutable_refusal()->set_product("");
  ASSERT_TRUE(manager_->RecordSolicitationRefusal(Actor{"agent", false}, req).ok());
  EXPECT_FALSE(scrub(mobile, contact, clock_.Now(), "mobile-plan").allowed());
  EXPECT_TRUE(scrub(mobile, other, clock_.Now(), "mobile-plan").allowed());
  // The number's own refusal is kept apart and still binds everyone on it.
  v1::RecordSolicitationRefusalRequest by_number = req;
  by_number.mutable_refusal()->clear_contact();
  by_number.mutable_refusal()->set_phone_number(home);
  ASSERT_TRUE(manager_->RecordSolicitationRefusal(Actor{"agent", false}, by_number).ok());
  EXPECT_FALSE(scrub(home, other, clock_.Now(), "mobile-plan").allowed());
  EXPECT_TRUE(scrub(mobile, other, clock_.Now(), "mobile-plan").allowed());
  v1::ListSolicitationRefusalsRequest list;
  list.set_parent("tenants/" + tenant_);
  list.set_page_size(2);
  auto page = manager_->ListSolicitationRefusals(list);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->refusals_size(), 2);
  EXPECT_EQ(page->refusals(0).phone_number(), home);
  EXPECT_EQ(page->refusals(1).contact(), contact);
  list.set_page_token(page->next_page_token());
  page = manager_->ListSolicitationRefusals(list);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->refusals_size(), 1);
  EXPECT_EQ(page->refusals(0).product(), "fiber-plan");
}

// Consent lifting a registry listing (registry_consent_rules.tsv): UK TPS
// ("unless the subscriber has told you they don't object") and Canada's
// DNCL ("express consent"), through check_dial.lua. The consent record is
// valid from its grant until its expiry (exclusive); it never lifts the
// tenant's own list; research calls are not bound by registries at all.
class RegistryConsentComponentTest : public StatutoryComponentTest {
 protected:
  void SetUp() override {
    StatutoryComponentTest::SetUp();
    const std::string tps = *dir_ + "/gb-tps.dncidx";
    DncIndexBuilder gb(NumberPlan::kE164);
    ASSERT_TRUE(gb.Add(442079460000).ok());
    auto gb_index = gb.Build();
    ASSERT_TRUE(gb_index.ok());
    ASSERT_TRUE(gb_index->WriteTo(tps).ok());
    ASSERT_TRUE(WriteRegistryManifest(tps, *gb_index, absl::CivilDay(2026, 1, 1), 365, "GB-TPS").ok());
    const std::string dncl = *dir_ + "/ca-dncl.dncidx";
    DncIndexBuilder ca;
    ASSERT_TRUE(ca.Add(4162010123).ok());
    auto ca_index = ca.Build();
    ASSERT_TRUE(ca_index.ok());
    ASSERT_TRUE(ca_index->WriteTo(dncl).ok());
    ASSERT_TRUE(WriteRegistryManifest(dncl, *ca_index, absl::CivilDay(2026, 1, 1), 365, "CA-DNCL").ok());
    auto statutory = LoadStatutoryRules(DIALGRID_COMPLIANCE_DATA_DIR);
    ASSERT_TRUE(statutory.ok()) << statutory.status();
    auto regs = LoadRegistries({"gb-tps:dnc:" + tps, "ca-dncl:dnc:" + dncl});
    ASSERT_TRUE(regs.ok()) << regs.status();
    ASSERT_TRUE(ApplyRegistryRules(statutory->registries, *regs).ok());
    ComplianceOptions options;
    options.statutory = *std::move(statutory);
    manager_ = std::make_unique<ComplianceManager>(store_, *zones_, *presets_, *std::move(regs),
                                                   clock_, options);
    SetRules([](v1::RuleSet& rs) {
      rs.add_do_not_call_registries("gb-tps");
      rs.add_do_not_call_registries("ca-dncl");
    });
  }

  // A consent granted at `grant`, lapsing at `expire` (InfiniteFuture: never).
  void ConsentAt(const std::string& number, absl::Time grant, absl::Time expire) {
    v1::RecordConsentRequest rec;
    rec.set_parent("tenants/" + tenant_);
    rec.mutable_consent()->set_phone_number(number);
    rec.mutable_consent()->set_type(v1::CONSENT_TYPE_PRIOR_EXPRESS);
    *rec.mutable_consent()->mutable_grant_time() =
        TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(grant));
    if (expire != absl::InfiniteFuture()) {
      *rec.mutable_consent()->mutable_expire_time() =
          TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(expire));
    }
    auto c = manager_->RecordConsent(Actor{"crm", false}, rec);
    ASSERT_TRUE(c.ok()) << c.status();
  }

  v1::DialDecision ScrubAt(const std::string& number, absl::Time at,
                           type::v1::CallPurpose purpose = type::v1::CALL_PURPOSE_TELEMARKETING) {
    v1::ScrubNumbersRequest req;
    req.set_campaign(campaign_);
    req.set_dialing_mode(type::v1::DIALING_MODE_PREVIEW);
    req.set_purpose(purpose);
    *req.mutable_dial_time() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(at));
    req.add_entries()->set_phone_number(number);
    auto r = manager_->ScrubNumbers(Actor{"crm", false}, req);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok() || r->results_size() != 1) return v1::DialDecision();
    EXPECT_EQ(r->results(0).error(), "");
    return r->results(0).decision();
  }

  static std::vector<std::string> Exemptions(const v1::DialDecision& d) {
    return std::vector<std::string>(d.exemptions().begin(), d.exemptions().end());
  }
};

TEST_F(RegistryConsentComponentTest, ConsentLiftsTpsAndDnclListings) {
  const std::string gb = "+442079460000";  // London, on the TPS
  const std::string ca = "+14162010123";   // Toronto, on the DNCL
  // Monday 2026-01-05 15:00 UTC: 15:00 in London, 10:00 in Toronto.
  const absl::Time now = clock_.Now();
  EXPECT_EQ(Codes(ScrubAt(gb, now)), std::vector<std::string>{"DNC_REGISTRY:gb-tps"});
  EXPECT_EQ(Codes(ScrubAt(ca, now)), std::vector<std::string>{"DNC_REGISTRY:ca-dncl"});
  // Research calls: registries restrict telemarketing only.
  EXPECT_TRUE(ScrubAt(gb, now, type::v1::CALL_PURPOSE_RESEARCH).allowed());
  // A consent given at 12:00, lapsing the next day at 12:00.
  const absl::Time grant = now - absl::Hours(3);
  ConsentAt(gb, grant, grant + absl::Hours(24));
  EXPECT_EQ(Codes(ScrubAt(gb, grant - absl::Milliseconds(1))),
            std::vector<std::string>{"DNC_REGISTRY:gb-tps"});
  const v1::DialDecision lifted = ScrubAt(gb, grant);
  EXPECT_TRUE(lifted.allowed()) << lifted.DebugString();
  EXPECT_EQ(Exemptions(lifted), std::vector<std::string>{"gb-tps:GB-TPS-CONSENT"});
  EXPECT_TRUE(ScrubAt(gb, grant + absl::Hours(24) - absl::Milliseconds(1)).allowed());
  EXPECT_EQ(Codes(ScrubAt(gb, grant + absl::Hours(24))),
            std::vector<std::string>{"DNC_REGISTRY:gb-tps"});
  // Canada: express consent lifts the DNCL listing; CheckDial is audited
  // with the exemption.
  ConsentAt(ca, now - absl::Hours(1), absl::InfiniteFuture());
  auto d = Dial(ca, type::v1::DIALING_MODE_PREVIEW, type::v1::CALL_PURPOSE_TELEMARKETING);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->allowed()) << d->DebugString();
  EXPECT_EQ(Exemptions(*d), std::vector<std::string>{"ca-dncl:CA-DNCL-EXPRESS-CONSENT"});
  // Consent never lifts the tenant's own do-not-call list.
  v1::AddDoNotCallNumbersRequest add;
  add.set_parent("tenants/" + tenant_);
  add.add_phone_numbers(ca);
  ASSERT_TRUE(manager_->AddDoNotCall(Actor{"agent", false}, add).ok());
  EXPECT_EQ(Codes(ScrubAt(ca, now)), std::vector<std::string>{"DNC_TENANT:tenant"});
}

// Registries and suppression lists created and loaded over the API (issue
// 21): defined on every replica (at once, by event, on start), uploaded as a
// stream with a report, and applied as their kind says.
class CreatedRegistryComponentTest : public ComplianceComponentTest {
 protected:
  void SetUp() override {
    ComplianceComponentTest::SetUp();
    auto statutory = LoadStatutoryRules(DIALGRID_COMPLIANCE_DATA_DIR);
    ASSERT_TRUE(statutory.ok()) << statutory.status();
    // Only the registry rules rows (grace, exemptions): the rest of the
    // law's tables would add reasons these tests are not about.
    options_.statutory.registries = statutory->registries;
    options_.abandon_cache_ttl = absl::ZeroDuration();
    manager_ = Replica();
    ASSERT_TRUE(manager_->LoadRegistryOverlays().ok());
  }
  // A replica started now: the index registries of NewManager, then the
  // created ones and every overlay from Redis.
  std::unique_ptr<ComplianceManager> Replica() {
    auto regs = LoadRegistries({"us-dnc:dnc:" + *dir_ + "/us.dncidx"});
    EXPECT_TRUE(regs.ok()) << regs.status();
    auto m = std::make_unique<ComplianceManager>(store_, *zones_, *presets_, *std::move(regs),
                                                 clock_, options_);
    EXPECT_TRUE(m->LoadRegistryOverlays().ok());
    return m;
  }
  // Relays the outbox once and hands the events to every replica given.
  void Deliver(const std::vector<ComplianceManager*>& replicas) {
    auto publisher = std::make_shared<RecordingPublisher>();
    events::OutboxRelay relay(store_->outbox(), publisher, RelayOptions());
    while (*relay.RunOnce() > 0) {
    }
    for (size_t i = 0; i < publisher->events.size(); ++i) {
      if (publisher->topics[i] != kRegistryTopic) continue;
      for (ComplianceManager* m : replicas) {
        ASSERT_TRUE(m->HandleRegistryEvent(publisher->events[i]).ok());
      }
    }
  }
  absl::StatusOr<v1::Registry> Create(const std::string& id, v1::RegistryKind kind,
                                      v1::RegistryNumberPlan plan,
                                      const std::vector<std::string>& tenants = {},
                                      const std::string& rules = "", int max_age_days = 0) {
    v1::CreateRegistryRequest req;
    req.set_registry_id(id);
    req.mutable_registry()->set_kind(kind);
    req.mutable_registry()->set_number_plan(plan);
    req.mutable_registry()->set_rules(rules);
    req.mutable_registry()->set_max_age_days(max_age_days);
    req.mutable_registry()->set_description("test list");
    for (const auto& t : tenants) req.mutable_registry()->add_tenants(t);
    return manager_->CreateRegistry(Actor{"vendor-admin", true}, req);
  }
  // Uploads `messages` as one stream would; the report.
  absl::StatusOr<v1::UploadRegistryNumbersResponse> Upload(
      const std::string& id, v1::RegistryUploadAction action,
      const std::vector<std::vector<std::string>>& messages,
      std::optional<absl::CivilDay> as_of = std::nullopt, bool dated = false) {
    v1::UploadRegistryNumbersRequest first;
    first.set_name("registries/" + id);
    first.set_action(action);
    first.set_reason("test upload");
    first.set_registrations_dated(dated);
    if (as_of) *first.mutable_as_of() = DateOf(*as_of);
    const Actor actor{"vendor-admin", true};
    auto up = manager_->BeginRegistryUpload(actor, first);
    if (!up.ok()) return up.status();
    int64_t received = 0;
    for (size_t i = 0; i < messages.size(); ++i) {
      v1::UploadRegistryNumbersRequest msg = i == 0 ? first : v1::UploadRegistryNumbersRequest();
      for (const auto& n : messages[i]) msg.add_numbers(n);
      if (absl::Status st = manager_->UploadRegistryNumbers(actor, *up, msg); !st.ok()) return st;
      received += static_cast<int64_t>(messages[i].size());
      EXPECT_EQ(up->progress.received(), received);  // progress after every message
      EXPECT_FALSE(up->progress.complete());
    }
    if (absl::Status st = manager_->FinishRegistryUpload(actor, *up); !st.ok()) return st;
    return up->progress;
  }
  std::vector<std::string> CodesFor(ComplianceManager* m, const std::string& tenant,
                                    const std::string& number, absl::Time at,
                                    type::v1::CallPurpose purpose =
                                        type::v1::CALL_PURPOSE_TELEMARKETING) {
    v1::ScrubNumbersRequest req;
    req.set_campaign(absl::StrCat("tenants/", tenant, "/campaigns/spring"));
    req.set_dialing_mode(type::v1::DIALING_MODE_PREVIEW);
    req.set_purpose(purpose);
    *req.mutable_dial_time() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(at));
    req.add_entries()->set_phone_number(number);
    auto r = m->ScrubNumbers(Actor{"crm", false}, req);
    if (!r.ok()) return {std::string(ReasonOf(r.status()))};
    return Codes(r->results(0).decision());
  }
  void Delete(const std::string& id) {
    v1::DeleteRegistryRequest del;
    del.set_name("registries/" + id);
    del.set_reason("test done");
    ASSERT_TRUE(manager_->DeleteRegistry(Actor{"vendor-admin", true}, del).ok());
  }
  ComplianceOptions options_;
};

TEST_F(CreatedRegistryComponentTest, SuppressionListAppliesToItsChosenTenantsOnEveryReplica) {
  const std::string a = tenant_;
  const std::string b = absl::StrCat("tenant-", ++tenant_seq_);
  SetRules(AlwaysOpen);
  tenant_ = b;
  SetRules(AlwaysOpen);
  tenant_ = a;
  auto before = Replica();  // running before the list exists: learns it by event
  const std::string id = absl::StrCat("litigators-", tenant_seq_);
  auto created = Create(id, v1::REGISTRY_KIND_SUPPRESSION, v1::REGISTRY_NUMBER_PLAN_E164, {a});
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(created->created());
  EXPECT_EQ(created->name(), "registries/" + id);
  EXPECT_EQ(created->tenants_size(), 1);

  // Two messages, one line of each not a number: reported, not applied,
  // and the rest applied.
  auto report = Upload(id, v1::REGISTRY_UPLOAD_ACTION_ADD,
                       {{kNy, "not-a-number"}, {kCa, kNy, "+1"}});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->complete());
  EXPECT_EQ(report->received(), 5);
  EXPECT_EQ(report->applied(), 2);
  EXPECT_EQ(report->unchanged(), 1);  // kNy twice
  EXPECT_EQ(report->rejected(), 2);
  ASSERT_EQ(report->rejected_numbers_size(), 2);
  EXPECT_EQ(report->rejected_numbers(0).index(), 1);
  EXPECT_EQ(report->rejected_numbers(0).value(), "not-a-number");
  EXPECT_EQ(report->rejected_numbers(0).reason(), "INVALID_NUMBER");
  EXPECT_EQ(report->rejected_numbers(1).index(), 4);
  EXPECT_EQ(report->registry().overlay_additions(), 2);

  const absl::Time now = clock_.Now();
  const std::vector<std::string> suppressed = {"VENDOR_SUPPRESSION:" + id};
  // Tenant a, every purpose; tenant b not (not in the list's scope).
  EXPECT_EQ(CodesFor(manager_.get(), a, kNy, now), suppressed);
  EXPECT_EQ(CodesFor(manager_.get(), a, kCa, now, type::v1::CALL_PURPOSE_INFORMATIONAL), suppressed);
  EXPECT_TRUE(CodesFor(manager_.get(), b, kNy, now).empty());
  auto dial = Check(kCa);
  ASSERT_TRUE(dial.ok()) << dial.status();
  EXPECT_FALSE(dial->allowed());
  EXPECT_EQ(Codes(*dial), suppressed);
  // The tenant sees where the number is listed.
  v1::CheckDoNotCallRequest where;
  where.set_parent("tenants/" + a);
  where.set_phone_number(kNy);
  auto listed = manager_->CheckDoNotCall(where);
  ASSERT_TRUE(listed.ok()) << listed.status();
  bool shown = false;
  for (const auto& e : listed->entries()) shown |= e.list() == "suppression:" + id;
  EXPECT_TRUE(shown);
  // A tenant lists the lists that apply to it, without their tenants; the
  // vendor every list with its scope.
  auto find = [&](const v1::ListRegistriesResponse& l) -> const v1::Registry* {
    for (const auto& r : l.registries())
      if (r.id() == id) return &r;
    return nullptr;
  };
  const auto for_a = manager_->ListRegistries("tenants/" + a);
  ASSERT_NE(find(for_a), nullptr);
  EXPECT_EQ(find(for_a)->tenants_size(), 0);
  EXPECT_EQ(find(manager_->ListRegistries("tenants/" + b)), nullptr);
  const auto for_vendor = manager_->ListRegistries("vendor");
  ASSERT_NE(find(for_vendor), nullptr);
  EXPECT_EQ(find(for_vendor)->tenants(0), a);

  // A replica started now loads it from Redis; one running learns it by event.
  auto after = Replica();
  EXPECT_EQ(CodesFor(after.get(), a, kNy, now), suppressed);
  EXPECT_TRUE(CodesFor(before.get(), a, kNy, now).empty());
  Deliver({before.get()});
  EXPECT_EQ(CodesFor(before.get(), a, kNy, now), suppressed);

  // Every tenant from now on, on every replica.
  v1::UpdateRegistryScopeRequest scope;
  scope.set_name("registries/" + id);
  scope.set_all_tenants(true);
  scope.set_reason("counsel's advice");
  ASSERT_TRUE(manager_->UpdateRegistryScope(Actor{"vendor-admin", true}, scope).ok());
  EXPECT_EQ(CodesFor(manager_.get(), b, kNy, now), suppressed);
  Deliver({before.get(), after.get()});
  EXPECT_EQ(CodesFor(before.get(), b, kNy, now), suppressed);
  EXPECT_EQ(CodesFor(after.get(), b, kNy, now), suppressed);

  // Taken off the list.
  auto removed = Upload(id, v1::REGISTRY_UPLOAD_ACTION_REMOVE, {{kNy, "+12122010699"}});
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(removed->applied(), 1);
  EXPECT_EQ(removed->unchanged(), 1);
  EXPECT_TRUE(CodesFor(manager_.get(), a, kNy, now).empty());
  Deliver({before.get()});
  EXPECT_TRUE(CodesFor(before.get(), a, kNy, now).empty());
  EXPECT_EQ(CodesFor(before.get(), a, kCa, now), suppressed);

  // Deleted: gone everywhere, and from Redis; a replica that missed the
  // event drops it at its next resync.
  auto missed = Replica();
  EXPECT_EQ(CodesFor(missed.get(), a, kCa, now), suppressed);
  // A resync with nothing new reads only the change count; a change it
  // missed (stored, event lost) it reads.
  ASSERT_TRUE(missed->LoadRegistryOverlays().ok());
  EXPECT_TRUE(CodesFor(missed.get(), a, kFl, now).empty());
  {
    ComplianceStore::RegistryChange change;
    change.add = {13052010123};
    change.dated = absl::CivilDay(2026, 1, 5);
    change.at_once = true;
    ASSERT_TRUE(store_->UpdateRegistry(id, change, event::v1::Envelope()).ok());
  }
  ASSERT_TRUE(missed->LoadRegistryOverlays().ok());
  EXPECT_EQ(CodesFor(missed.get(), a, kFl, now), suppressed);
  Delete(id);
  ASSERT_TRUE(missed->LoadRegistryOverlays().ok());
  EXPECT_TRUE(CodesFor(missed.get(), a, kCa, now).empty());
  EXPECT_TRUE(CodesFor(manager_.get(), a, kCa, now).empty());
  Deliver({before.get(), after.get()});
  EXPECT_TRUE(CodesFor(before.get(), a, kCa, now).empty());
  EXPECT_TRUE(CodesFor(after.get(), b, kCa, now).empty());
  EXPECT_EQ(find(Replica()->ListRegistries("vendor")), nullptr);
  auto overlay = store_->GetRegistryOverlay(id);
  ASSERT_TRUE(overlay.ok());
  EXPECT_TRUE(overlay->added.empty());
}

TEST_F(CreatedRegistryComponentTest, BadDefinitionsAndUploadsAreRefusedWithNothingStored) {
  const Actor vendor{"vendor-admin", true};
  SetRules(AlwaysOpen);
  EXPECT_EQ(ReasonOf(Create("us-dnc", v1::REGISTRY_KIND_DO_NOT_CALL,
                            v1::REGISTRY_NUMBER_PLAN_NANP).status()),
            "REGISTRY_EXISTS");  // loaded from an index here
  EXPECT_EQ(ReasonOf(Create("x1", v1::REGISTRY_KIND_UNSPECIFIED, v1::REGISTRY_NUMBER_PLAN_NANP)
                         .status()),
            "INVALID_REGISTRY_KIND");
  EXPECT_EQ(ReasonOf(Create("x1", static_cast<v1::RegistryKind>(99),
                            v1::REGISTRY_NUMBER_PLAN_NANP).status()),
            "INVALID_REGISTRY_KIND");
  EXPECT_EQ(ReasonOf(Create("x1", v1::REGISTRY_KIND_SUPPRESSION,
                            static_cast<v1::RegistryNumberPlan>(7)).status()),
            "INVALID_NUMBER_PLAN");
  EXPECT_EQ(ReasonOf(Create("x1", v1::REGISTRY_KIND_DO_NOT_CALL, v1::REGISTRY_NUMBER_PLAN_NANP,
                            {tenant_}).status()),
            "SCOPE_ONLY_FOR_SUPPRESSION");
  EXPECT_EQ(ReasonOf(Create("x1", v1::REGISTRY_KIND_SUPPRESSION, v1::REGISTRY_NUMBER_PLAN_E164,
                            {"Not A Tenant"}).status()),
            "INVALID_TENANT_ID");
  EXPECT_EQ(ReasonOf(Create("x1", v1::REGISTRY_KIND_DO_NOT_CALL, v1::REGISTRY_NUMBER_PLAN_NANP, {},
                            "NO-SUCH-ROW").status()),
            "UNKNOWN_REGISTRY_RULES");
  EXPECT_EQ(ReasonOf(Create("Bad Id", v1::REGISTRY_KIND_SUPPRESSION,
                            v1::REGISTRY_NUMBER_PLAN_E164).status()),
            "INVALID_ID");
  auto defs = store_->RegistryDefinitions();
  ASSERT_TRUE(defs.ok());
  for (const auto& d : *defs) EXPECT_NE(d.id(), "x1");

  const std::string id = absl::StrCat("small-", tenant_seq_);
  auto other = Replica();  // does not know the list yet
  ASSERT_TRUE(Create(id, v1::REGISTRY_KIND_SUPPRESSION, v1::REGISTRY_NUMBER_PLAN_E164, {tenant_})
                  .ok());
  EXPECT_EQ(ReasonOf(Create(id, v1::REGISTRY_KIND_SUPPRESSION, v1::REGISTRY_NUMBER_PLAN_E164)
                         .status()),
            "REGISTRY_EXISTS");
  // Another replica that has not heard of it yet: the store refuses it.
  std::swap(other, manager_);
  EXPECT_EQ(ReasonOf(Create(id, v1::REGISTRY_KIND_WIRELESS, v1::REGISTRY_NUMBER_PLAN_E164)
                         .status()),
            "REGISTRY_EXISTS");
  std::swap(other, manager_);
  v1::DeleteRegistryRequest del;
  del.set_name("registries/us-dnc");
  EXPECT_EQ(ReasonOf(manager_->DeleteRegistry(vendor, del).status()), "REGISTRY_FROM_INDEX");
  EXPECT_EQ(ReasonOf(Upload(id, v1::REGISTRY_UPLOAD_ACTION_UNSPECIFIED, {{kNy}}).status()),
            "INVALID_ACTION");
  EXPECT_EQ(ReasonOf(Upload(id, v1::REGISTRY_UPLOAD_ACTION_REMOVE, {{kNy}}, std::nullopt, true)
                         .status()),
            "NOT_FOR_REMOVAL");
  EXPECT_EQ(ReasonOf(Upload(id, v1::REGISTRY_UPLOAD_ACTION_ADD, {{kNy}},
                            absl::ToCivilDay(clock_.Now(), absl::UTCTimeZone()) + 1)
                         .status()),
            "AS_OF_IN_FUTURE");
  EXPECT_EQ(ReasonOf(Upload("nope", v1::REGISTRY_UPLOAD_ACTION_ADD, {{kNy}}).status()),
            "REGISTRY_NOT_FOUND");
  std::vector<std::string> too_many(10001, kNy);
  EXPECT_EQ(ReasonOf(Upload(id, v1::REGISTRY_UPLOAD_ACTION_ADD, {too_many}).status()),
            "INVALID_BATCH_SIZE");
  // The list's size is bounded: the message that would pass it is refused
  // whole, the ones before it stay applied.
  options_.max_created_registry_numbers = 2;
  auto small = Replica();
  std::swap(small, manager_);
  auto full = Upload(id, v1::REGISTRY_UPLOAD_ACTION_ADD, {{kNy, kCa}, {kFl}});
  EXPECT_EQ(full.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ReasonOf(full.status()), "REGISTRY_FULL");
  EXPECT_EQ(CodesFor(manager_.get(), tenant_, kCa, clock_.Now()),
            std::vector<std::string>{"VENDOR_SUPPRESSION:" + id});
  std::swap(small, manager_);
  auto overlay = store_->GetRegistryOverlay(id);
  ASSERT_TRUE(overlay.ok());
  EXPECT_EQ(overlay->added.size(), 2u);
  Delete(id);
}

TEST_F(CreatedRegistryComponentTest, CreatedRegistryBindsDownloadsAtOnceAndDatedChangesAfterGrace) {
  const std::string id = absl::StrCat("us-api-", tenant_seq_);
  auto created = Create(id, v1::REGISTRY_KIND_DO_NOT_CALL, v1::REGISTRY_NUMBER_PLAN_NANP, {},
                        "US-NATIONAL-DNC", 31);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->grace_days(), 31);
  EXPECT_FALSE(created->has_as_of_time());  // no data yet
  SetRules([&id](v1::RuleSet& rs) {
    AlwaysOpen(rs);
    rs.add_do_not_call_registries(id);
  });
  const absl::Time now = clock_.Now();  // 2026-01-05 15:00 UTC
  // An age limit and no dated data yet: it cannot clear a dial.
  EXPECT_EQ(CodesFor(manager_.get(), tenant_, kCa, now),
            std::vector<std::string>{"REGISTRY_STALE"});
  // The download (registration dates unknown) binds at once...
  auto download = Upload(id, v1::REGISTRY_UPLOAD_ACTION_ADD, {{"6502530077"}},
                         absl::CivilDay(2026, 1, 4));
  ASSERT_TRUE(download.ok()) << download.status();
  EXPECT_EQ(download->registry().as_of_time().seconds(),
            absl::ToUnixSeconds(Utc(2026, 1, 4, 0)));
  const std::vector<std::string> listed = {"DNC_REGISTRY:" + id};
  EXPECT_EQ(CodesFor(manager_.get(), tenant_, kCa, now), listed);
  // ... a change file's new registration after the 31-day grace.
  auto change = Upload(id, v1::REGISTRY_UPLOAD_ACTION_ADD, {{kFl}}, absl::CivilDay(2026, 1, 4),
                       true);
  ASSERT_TRUE(change.ok()) << change.status();
  const absl::Time binds = Utc(2026, 2, 3, 10);
  EXPECT_TRUE(CodesFor(manager_.get(), tenant_, kFl, binds - absl::Milliseconds(1)).empty());
  EXPECT_EQ(CodesFor(manager_.get(), tenant_, kFl, binds), listed);
  // Replicas from Redis and by event agree.
  auto started = Replica();
  EXPECT_EQ(CodesFor(started.get(), tenant_, kCa, now), listed);
  EXPECT_TRUE(CodesFor(started.get(), tenant_, kFl, now).empty());
  EXPECT_EQ(CodesFor(started.get(), tenant_, kFl, binds), listed);
  // Stale 31 days after the data's date, until newer data comes.
  clock_.Set(Utc(2026, 2, 5, 0) + absl::Minutes(1));
  EXPECT_EQ(CodesFor(manager_.get(), tenant_, kNy, clock_.Now()),
            std::vector<std::string>{"REGISTRY_STALE"});
  ASSERT_TRUE(Upload(id, v1::REGISTRY_UPLOAD_ACTION_ADD, {}, absl::CivilDay(2026, 2, 5)).ok());
  EXPECT_TRUE(CodesFor(manager_.get(), tenant_, kNy, clock_.Now()).empty());
  // Taking the registry away while a rule set names it fails closed.
  Delete(id);
  EXPECT_EQ(CodesFor(manager_.get(), tenant_, kNy, clock_.Now()),
            std::vector<std::string>{"RULE_SET_NOT_APPLICABLE"});
}

}  // namespace
}  // namespace dialgrid::compliance
