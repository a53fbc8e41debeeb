// The `calls` consumer against real components: CallUpdated envelopes
// published to the local Kafka-protocol broker (tests/fixtures), consumed by
// the runtime's KafkaConsumer in a consumer group, handled by
// CallEventsHandler over the recording manager with the Redis store (a real
// redis-server), the filesystem store and key files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "dialgrid/dialing/v1/dialing.pb.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/core/random.h"
#include "services/common/kafka/event_publisher.h"
#include "services/common/kafka/kafka_consumer.h"
#include "services/common/kafka/kafka_producer.h"
#include "services/recording/adapters/file_key_ring.h"
#include "services/recording/adapters/fs_blob_store.h"
#include "services/recording/adapters/redis_recording_store.h"
#include "services/recording/application/call_events_handler.h"
#include "services/recording/application/recording_manager.h"
#include "services/recording/domain/call_recording.h"
#include "tests/fixtures/servers.h"

namespace dialgrid::recording {
namespace {

namespace fs = std::filesystem;
using dialgrid::testing::KafkaBroker;
using dialgrid::testing::RedisServer;

// Counts what the handler reports, by action and result.
class CountingProbe final : public RecordingProbe {
 public:
  void CallEvent(CallAction a, CallResult r) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++counts_[{a, r}];
  }
  int Count(CallAction a, CallResult r) {
    std::lock_guard<std::mutex> lock(mu_);
    return counts_[{a, r}];
  }

 private:
  std::mutex mu_;
  std::map<std::pair<CallAction, CallResult>, int> counts_;
};

class CallEventsComponentTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto redis = RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = redis->release();
  }
  static void TearDownTestSuite() { delete redis_; }

  void SetUp() override {
    ASSERT_NE(redis_, nullptr);
    // A broker of its own: a fresh group reading `calls` from the earliest
    // offset sees this test's events only.
    auto broker = KafkaBroker::Start({"calls"}, 3);
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
    redis::Options o;
    ASSERT_TRUE(redis::ParseAddress(redis_->address(), o).ok());
    o.pool_size = 4;
    auto c = redis::Client::Create(o);
    ASSERT_TRUE(c.ok()) << c.status();
    client_ = std::shared_ptr<redis::Client>(std::move(*c));
    ASSERT_TRUE(client_->Command({"FLUSHALL"}).ok());
    events::RedisOutboxOptions oo;
    oo.stream = "recording";
    oo.instance = "test";
    outbox_ = std::make_shared<events::RedisOutbox>(client_, oo);
    dir_ = fs::temp_directory_path() / ("rec-calls-" + RandomHex(6));
    fs::create_directories(dir_ + "/data");
    fs::create_directories(dir_ + "/keys");
    // "acme" has a key-encryption key; "nokey" has none.
    std::ofstream(dir_ + "/keys/acme.2026-01.key") << RandomHex(32) << "\n";
    auto blobs = FsBlobStore::Create(dir_ + "/data");
    ASSERT_TRUE(blobs.ok()) << blobs.status();
    manager_ = std::make_unique<RecordingManager>(
        std::make_shared<RedisRecordingStore>(client_, outbox_),
        std::shared_ptr<FsBlobStore>(std::move(*blobs)),
        std::make_shared<FileKeyRing>(dir_ + "/keys"), clock_, RecordingOptions());
    probe_ = std::make_shared<CountingProbe>();
    CallEventsOptions co;
    co.probe = probe_;
    handler_ = std::make_unique<CallEventsHandler>(*manager_, co);
    kafka::ProducerOptions po;
    po.bootstrap_servers = broker_->bootstrap();
    auto producer = kafka::KafkaProducer::Create(po);
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = std::move(*producer);
    prefix_ = "c" + RandomHex(4);
    group_ = "recording-" + RandomHex(4);
    consumer_ = Consumer(group_);
  }
  void TearDown() override {
    if (consumer_ != nullptr) consumer_->Stop();
    consumer_.reset();
    producer_.reset();
    handler_.reset();
    manager_.reset();
    broker_.reset();
    fs::remove_all(dir_);
  }

  // A consumer of `calls` in `group` over this test's handler, started.
  std::unique_ptr<kafka::KafkaConsumer> Consumer(const std::string& group) {
    kafka::ConsumerOptions co;
    co.bootstrap_servers = broker_->bootstrap();
    co.group_id = group;
    co.topics = {"calls"};
    co.retry_backoff = absl::Milliseconds(20);
    auto c = kafka::KafkaConsumer::Create(
        co, [this](const event::v1::Envelope& e) { return handler_->Handle(e); },
        std::make_unique<kafka::LruEventDeduper>());
    EXPECT_TRUE(c.ok()) << c.status();
    if (!c.ok()) return nullptr;
    (*c)->Start();
    return *std::move(c);
  }

  // A call of `tenant` as the dialer writes it.
  dialing::v1::Call Call(const std::string& tenant, const std::string& id) {
    dialing::v1::Call c;
    c.set_name(absl::StrCat("tenants/", tenant, "/calls/", prefix_, id));
    c.set_campaign(absl::StrCat("tenants/", tenant, "/campaigns/camp1"));
    c.set_agent(absl::StrCat("tenants/", tenant, "/agents/a1"));
    c.set_contact(absl::StrCat("tenants/", tenant, "/contactLists/l1/contacts/k1"));
    c.set_phone_number("+12025550143");
    c.set_state(dialing::v1::CALL_STATE_CONNECTED);
    c.set_direction(dialing::v1::CALL_DIRECTION_OUTBOUND);
    return c;
  }
  event::v1::Envelope Updated(const dialing::v1::Call& call, const std::string& step,
                              std::string tenant = "") {
    dialing::v1::CallUpdated u;
    *u.mutable_call() = call;
    u.set_step(step);
    if (tenant.empty()) tenant = *TenantOfName("name", call.name());
    return kafka::MakeEnvelope(tenant, call.name(), u, "dialing/test", clock_);
  }
  void Publish(const event::v1::Envelope& e) {
    ASSERT_TRUE(producer_->Publish("calls", e).ok());
    ++published_;
  }
  // Waits until `consumer` took every event published so far (handled or
  // skipped as a duplicate); false after 30 s.
  bool Drained(kafka::KafkaConsumer& consumer, int64_t expected = -1) {
    if (expected < 0) expected = published_;
    const absl::Time limit = absl::Now() + absl::Seconds(30);
    while (absl::Now() < limit) {
      if (consumer.handled() + consumer.duplicates() >= expected) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
  RecordingRef RefOf(const dialing::v1::Call& call) {
    auto c = ParseCallName(call.name());
    return RecordingRef{c->tenant, CallRecordingId(c->tenant, c->call_id)};
  }
  std::string CallId(const dialing::v1::Call& call) { return ParseCallName(call.name())->call_id; }
  int RecordingsOf(const std::string& tenant, const std::string& call_id) {
    v1::ListRecordingsRequest req;
    req.set_call_id(call_id);
    auto l = manager_->List(tenant, req);
    EXPECT_TRUE(l.ok()) << l.status();
    return l.ok() ? l->recordings_size() : -1;
  }
  std::vector<v1::LegalHold> Holds(const std::string& tenant) {
    auto l = manager_->ListHolds(tenant, v1::ListHoldsRequest());
    EXPECT_TRUE(l.ok()) << l.status();
    return l.ok() ? std::vector<v1::LegalHold>(l->holds().begin(), l->holds().end())
                  : std::vector<v1::LegalHold>{};
  }

  static RedisServer* redis_;
  std::unique_ptr<KafkaBroker> broker_;
  std::shared_ptr<redis::Client> client_;
  std::shared_ptr<events::RedisOutbox> outbox_;
  std::string dir_, prefix_, group_;
  FakeClock clock_;
  std::unique_ptr<RecordingManager> manager_;
  std::shared_ptr<CountingProbe> probe_;
  std::unique_ptr<CallEventsHandler> handler_;
  std::unique_ptr<kafka::KafkaProducer> producer_;
  std::unique_ptr<kafka::KafkaConsumer> consumer_;
  int64_t published_ = 0;
};
RedisServer* CallEventsComponentTest::redis_ = nullptr;

// CONNECTED starts the call's recording with what the call says (the
// announcement flag included), ENDED stops it.
TEST_F(CallEventsComponentTest, ConnectedStartsAndEndedStopsTheCallsRecording) {
  dialing::v1::Call call = Call("acme", "1");
  call.set_recording_announcement(true);
  Publish(Updated(call, "DIALED"));
  Publish(Updated(call, "CONNECTED"));
  ASSERT_TRUE(Drained(*consumer_));
  auto r = manager_->Peek(RefOf(call));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->name(), absl::StrCat("tenants/acme/recordings/",
                                    CallRecordingId("acme", CallId(call))));
  EXPECT_EQ(r->call_id(), CallId(call));
  EXPECT_EQ(r->campaign(), "tenants/acme/campaigns/camp1");
  EXPECT_EQ(r->agent(), "tenants/acme/agents/a1");
  EXPECT_EQ(r->contact(), "tenants/acme/contactLists/l1/contacts/k1");
  EXPECT_EQ(r->audio_format(), v1::AUDIO_FORMAT_G711_MULAW);
  EXPECT_TRUE(r->announcement_played());
  EXPECT_EQ(r->state(), v1::STATE_RECORDING);
  EXPECT_FALSE(r->has_stop_time());

  // The media server's audio goes to it.
  auto up = manager_->OpenUpload(RefOf(call), -1, Actor{"media", "m1"});
  ASSERT_TRUE(up.ok()) << up.status();
  ASSERT_TRUE((*up)->Feed(1, std::string(8000, '\xff')).ok());
  ASSERT_TRUE((*up)->Finish(absl::OkStatus()).ok());

  call.set_state(dialing::v1::CALL_STATE_ENDED);
  Publish(Updated(call, "ENDED"));
  ASSERT_TRUE(Drained(*consumer_));
  r = manager_->Peek(RefOf(call));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->state(), v1::STATE_STOPPED);
  EXPECT_TRUE(r->has_stop_time());
  EXPECT_EQ(r->audio_bytes(), 8000);
  EXPECT_EQ(probe_->Count(CallAction::kStart, CallResult::kDone), 1);
  EXPECT_EQ(probe_->Count(CallAction::kStop, CallResult::kDone), 1);
  EXPECT_EQ(probe_->Count(CallAction::kNone, CallResult::kIgnored), 1);  // DIALED
}

// Without the announcement the flag is false; RECONCILED stops like ENDED.
TEST_F(CallEventsComponentTest, NoAnnouncementAndReconciledStops) {
  dialing::v1::Call call = Call("acme", "2");
  Publish(Updated(call, "CONNECTED"));
  call.set_state(dialing::v1::CALL_STATE_ENDED);
  Publish(Updated(call, "RECONCILED"));
  ASSERT_TRUE(Drained(*consumer_));
  auto r = manager_->Peek(RefOf(call));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->announcement_played());
  EXPECT_EQ(r->state(), v1::STATE_STOPPED);
}

// The same event delivered twice, a second CONNECTED for the call (another
// event id, another agent), and the whole topic replayed by a fresh group
// (a rebalance, a restarted replica with a cold deduper): one recording,
// one stop.
TEST_F(CallEventsComponentTest, RedeliveriesFindTheSameRecording) {
  dialing::v1::Call call = Call("acme", "3");
  call.set_recording_announcement(true);
  const event::v1::Envelope connected = Updated(call, "CONNECTED");
  Publish(connected);
  Publish(connected);  // redelivered as it was (same event id)
  dialing::v1::Call again = call;
  again.set_agent("tenants/acme/agents/a2");
  Publish(Updated(again, "CONNECTED"));  // a second event for the same call
  ASSERT_TRUE(Drained(*consumer_));
  EXPECT_EQ(consumer_->duplicates(), 1);
  EXPECT_EQ(RecordingsOf("acme", CallId(call)), 1);
  auto first = manager_->Peek(RefOf(call));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->agent(), "tenants/acme/agents/a1");  // the first one's
  EXPECT_EQ(probe_->Count(CallAction::kStart, CallResult::kDone), 1);
  EXPECT_EQ(probe_->Count(CallAction::kStart, CallResult::kRepeat), 1);

  call.set_state(dialing::v1::CALL_STATE_ENDED);
  Publish(Updated(call, "ENDED"));
  ASSERT_TRUE(Drained(*consumer_));

  // Everything again, from the earliest offset, in a group of its own.
  auto replay = Consumer("recording-replay-" + RandomHex(4));
  ASSERT_NE(replay, nullptr);
  ASSERT_TRUE(Drained(*replay));
  replay->Stop();
  EXPECT_EQ(RecordingsOf("acme", CallId(call)), 1);
  EXPECT_EQ(probe_->Count(CallAction::kStart, CallResult::kDone), 1);
  EXPECT_EQ(probe_->Count(CallAction::kStart, CallResult::kRepeat), 3);
  EXPECT_EQ(probe_->Count(CallAction::kStop, CallResult::kDone), 1);
  EXPECT_EQ(probe_->Count(CallAction::kStop, CallResult::kRepeat), 1);
  auto r = manager_->Peek(RefOf(call));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->state(), v1::STATE_STOPPED);
  EXPECT_TRUE(r->announcement_played());
  auto started = manager_->Usage("acme", v1::GetRecordingUsageRequest());
  ASSERT_TRUE(started.ok()) << started.status();
  EXPECT_EQ(started->recordings_started(), 1);
}

// An inbound call (the caller may be no contact) is recorded the same way.
TEST_F(CallEventsComponentTest, InboundCallIsRecordedWithoutContact) {
  dialing::v1::Call call = Call("acme", "4");
  call.set_direction(dialing::v1::CALL_DIRECTION_INBOUND);
  call.clear_contact();
  call.set_called_number("+12025550100");
  call.set_recording_announcement(true);
  Publish(Updated(call, "OFFERED"));
  Publish(Updated(call, "QUEUED"));
  Publish(Updated(call, "CONNECTED"));
  ASSERT_TRUE(Drained(*consumer_));
  auto r = manager_->Peek(RefOf(call));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->contact(), "");
  EXPECT_EQ(r->agent(), "tenants/acme/agents/a1");
  EXPECT_TRUE(r->announcement_played());
  EXPECT_EQ(r->state(), v1::STATE_RECORDING);
  EXPECT_EQ(probe_->Count(CallAction::kNone, CallResult::kIgnored), 2);
}

// A tenant without a key-encryption key: counted, skipped, and the events
// after it (on any partition) are handled; its ENDED finds no recording.
TEST_F(CallEventsComponentTest, TenantWithoutKeyIsSkippedNotBlocked) {
  dialing::v1::Call lost = Call("nokey", "5");
  Publish(Updated(lost, "CONNECTED"));
  dialing::v1::Call fine = Call("acme", "6");
  Publish(Updated(fine, "CONNECTED"));
  lost.set_state(dialing::v1::CALL_STATE_ENDED);
  Publish(Updated(lost, "ENDED"));
  ASSERT_TRUE(Drained(*consumer_));
  EXPECT_EQ(probe_->Count(CallAction::kStart, CallResult::kNoKey), 1);
  EXPECT_EQ(probe_->Count(CallAction::kStop, CallResult::kNotRecorded), 1);
  EXPECT_EQ(probe_->Count(CallAction::kStart, CallResult::kDone), 1);
  auto none = manager_->Peek(RefOf(lost));
  EXPECT_EQ(ReasonOf(none.status()), "RECORDING_NOT_FOUND");
  EXPECT_TRUE(manager_->Peek(RefOf(fine)).ok());
}

// ABUSIVE_FLAGGED holds every recording of the call (scope CALL) with a
// reason naming the flag, once however often it comes; the flag's event
// says the call is over, so the recording is stopped too. The hold keeps
// the recording from the purge.
TEST_F(CallEventsComponentTest, AbusiveFlagHoldsTheCallOnce) {
  dialing::v1::Call call = Call("acme", "7");
  Publish(Updated(call, "CONNECTED"));
  call.set_state(dialing::v1::CALL_STATE_ENDED);
  call.mutable_abusive()->set_flagged_by("tenants/acme/agents/a1");
  call.mutable_abusive()->set_reason("threats against the agent");
  Publish(Updated(call, "ABUSIVE_FLAGGED"));
  Publish(Updated(call, "ABUSIVE_FLAGGED"));  // another event for the same flag
  Publish(Updated(call, "ENDED"));
  ASSERT_TRUE(Drained(*consumer_));

  std::vector<v1::LegalHold> holds = Holds("acme");
  ASSERT_EQ(holds.size(), 1u);
  EXPECT_EQ(holds[0].name(), RecordingManager::HoldName("acme", AbusiveHoldId("acme", CallId(call))));
  EXPECT_EQ(holds[0].scope(), v1::HOLD_SCOPE_CALL);
  EXPECT_EQ(holds[0].target(), CallId(call));
  EXPECT_EQ(holds[0].state(), v1::HOLD_STATE_ACTIVE);
  EXPECT_EQ(holds[0].reason(),
            "ABUSIVE_CALLER: caller flagged as abusive by tenants/acme/agents/a1: threats "
            "against the agent");
  EXPECT_EQ(holds[0].placed_by(), "system:calls");
  auto r = manager_->Peek(RefOf(call));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->legal_hold());
  EXPECT_EQ(r->state(), v1::STATE_STOPPED);
  EXPECT_EQ(probe_->Count(CallAction::kHold, CallResult::kDone), 1);
  EXPECT_EQ(probe_->Count(CallAction::kHold, CallResult::kRepeat), 1);
  EXPECT_EQ(probe_->Count(CallAction::kStop, CallResult::kDone), 1);
  EXPECT_EQ(probe_->Count(CallAction::kStop, CallResult::kRepeat), 2);

  // Past its retention the recording is kept (held), not purged.
  clock_.Advance(absl::Hours(24 * 366));
  auto purged = manager_->Purge("acme");
  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_EQ(purged->deleted, 0);
  EXPECT_EQ(purged->kept, 1);
  EXPECT_TRUE(manager_->Peek(RefOf(call)).ok());
}

// Other steps, other payloads on the topic, unknown steps: nothing. A call
// named in another tenant than its envelope's: refused, nothing.
TEST_F(CallEventsComponentTest, OtherStepsAndMismatchedTenantsDoNothing) {
  dialing::v1::Call call = Call("acme", "8");
  Publish(Updated(call, "RINGING"));
  Publish(Updated(call, "SOMETHING_NEW"));
  dialing::v1::Campaign campaign;
  campaign.set_name("tenants/acme/campaigns/camp1");
  Publish(kafka::MakeEnvelope("acme", campaign.name(), campaign, "dialing/test", clock_));
  Publish(Updated(call, "CONNECTED", /*tenant=*/"globex"));
  ASSERT_TRUE(Drained(*consumer_));
  EXPECT_EQ(probe_->Count(CallAction::kNone, CallResult::kIgnored), 3);
  EXPECT_EQ(probe_->Count(CallAction::kNone, CallResult::kRefused), 1);
  EXPECT_EQ(ReasonOf(manager_->Peek(RefOf(call)).status()), "RECORDING_NOT_FOUND");
  EXPECT_EQ(RecordingsOf("acme", CallId(call)), 0);
}

}  // namespace
}  // namespace dialgrid::recording
