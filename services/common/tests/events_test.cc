// Component tests of the transactional outbox (services/common/events)
// against a real redis-server: per-tenant outboxes, the dirty set and its
// safety-net scan, the relay's hold per tenant, and retries that do not
// publish again what was delivered. Kafka is replaced by a recording
// publisher (the relay's port); the producer has its own tests.

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "dialgrid/event/v1/envelope.pb.h"
#include "google/protobuf/wrappers.pb.h"
#include "services/common/core/clock.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/events/outbox_record.h"
#include "services/common/core/scheduler.h"
#include "services/common/events/outbox_relay.h"
#include "services/common/events/redis_outbox.h"
#include "services/common/kafka/event_publisher.h"
#include "tests/fixtures/redis_test.h"
#include "tests/fixtures/servers.h"

namespace dialgrid::events {
namespace {


// Records what it is given; fails events whose subject is listed in `refuse`.
class RecordingPublisher final : public kafka::EventPublisher {
 public:
  absl::Status Publish(absl::string_view topic, const event::v1::Envelope& e) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& s : refuse) {
      if (e.subject() == s) return Unavailable("KAFKA_DOWN", "test: refused");
    }
    topics.emplace_back(topic);
    events.push_back(e);
    return absl::OkStatus();
  }
  absl::Status Flush(absl::Duration) override { return absl::OkStatus(); }
  std::vector<std::string> Subjects() const {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e.subject());
    return out;
  }
  std::vector<std::string> refuse;
  std::vector<std::string> topics;
  std::vector<event::v1::Envelope> events;

 private:
  std::mutex mu_;
};

class OutboxTest : public dialgrid::testing::RedisTest {
 protected:
  void SetUp() override {
    RedisTest::SetUp();
    outbox_ = Outbox("test/1");
  }

  std::shared_ptr<RedisOutbox> Outbox(const std::string& instance) {
    RedisOutboxOptions o;
    o.stream = "svc";
    o.instance = instance;
    return std::make_shared<RedisOutbox>(client_, o);
  }

  OutboxRelayOptions RelayOptions() {
    OutboxRelayOptions o;
    o.service = "test";
    o.default_topic = "main";
    o.topic_by_type["google.protobuf.Int64Value"] = "numbers";
    o.clock = &clock_;
    return o;
  }

  static event::v1::Envelope Event(const std::string& tenant, const std::string& subject,
                                   bool number = false) {
    event::v1::Envelope e;
    e.set_event_id(absl::StrCat(tenant, "/", subject));
    e.set_tenant(tenant);
    e.set_subject(subject);
    if (number) {
      google::protobuf::Int64Value v;
      v.set_value(7);
      e.mutable_payload()->PackFrom(v);
      e.set_type("google.protobuf.Int64Value");
    } else {
      google::protobuf::StringValue v;
      v.set_value(subject);
      e.mutable_payload()->PackFrom(v);
      e.set_type("google.protobuf.StringValue");
    }
    return e;
  }

  // A change and its event in one script, as services write them.
  void Write(const std::string& tenant, const event::v1::Envelope& e) {
    static const redis::Script* script = new redis::Script(std::string(RedisOutbox::kLuaAppend) + R"lua(
redis.call('INCR', KEYS[1])
outbox(ARGV[1])
return 1
)lua");
    auto r = outbox_->EvalWithEvents(*script, {TenantHashTag(tenant) + ":changes"},
                                     {EnvelopeRecord(e)}, tenant);
    ASSERT_TRUE(r.ok()) << r.status();
  }

  long long Len(const std::string& key) {
    auto r = client_->Command({"LLEN", key});
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->integer : -1;
  }

  FakeClock clock_{absl::FromUnixSeconds(1800000000)};
  std::shared_ptr<RedisOutbox> outbox_;
};

TEST_F(OutboxTest, EventsLiveInTheirTenantsSlotAndReachTheirTopics) {
  Write("acme", Event("acme", "a1"));
  Write("acme", Event("acme", "a2", /*number=*/true));
  Write("globex", Event("globex", "g1"));
  Write("", Event("", "v1"));  // vendor scope
  EXPECT_EQ(Len("{t:acme}:outbox:svc"), 2);
  EXPECT_EQ(Len("{t:globex}:outbox:svc"), 1);
  EXPECT_EQ(Len("{vendor}:outbox:svc"), 1);
  auto changes = client_->Command({"GET", "{t:acme}:changes"});
  ASSERT_TRUE(changes.ok());
  EXPECT_EQ(changes->str, "2");  // the change and its event were one step

  auto publisher = std::make_shared<RecordingPublisher>();
  OutboxRelay relay(outbox_, publisher, RelayOptions());
  auto n = relay.RunOnce();
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 4);
  EXPECT_EQ(*relay.RunOnce(), 0);
  EXPECT_EQ(Len("{t:acme}:outbox:svc"), 0);
  EXPECT_EQ(Len("{vendor}:outbox:svc"), 0);
  // A tenant's events in order; routed by type.
  std::vector<std::string> acme;
  for (size_t i = 0; i < publisher->events.size(); ++i) {
    if (publisher->events[i].tenant() != "acme") continue;
    acme.push_back(publisher->events[i].subject() + "@" + publisher->topics[i]);
  }
  EXPECT_EQ(acme, (std::vector<std::string>{"a1@main", "a2@numbers"}));
}

TEST_F(OutboxTest, ARetryDoesNotPublishAgainWhatWasDelivered) {
  for (const char* s : {"e1", "e2", "e3"}) Write("acme", Event("acme", s));
  auto publisher = std::make_shared<RecordingPublisher>();
  publisher->refuse = {"e2"};
  OutboxRelay relay(outbox_, publisher, RelayOptions());
  EXPECT_FALSE(relay.RunOnce().ok());
  EXPECT_EQ(Len("{t:acme}:outbox:svc"), 3);  // nothing popped
  publisher->refuse.clear();
  auto n = relay.RunOnce();
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(Len("{t:acme}:outbox:svc"), 0);
  // e1 and e3 were delivered by the failed pass: only e2 is sent again.
  EXPECT_EQ(publisher->Subjects(), (std::vector<std::string>{"e1", "e3", "e2"}));
}

TEST_F(OutboxTest, PassesRunOnTheSchedulerWithPollAndBackoffInVirtualTime) {
  ManualScheduler scheduler(clock_);
  auto publisher = std::make_shared<RecordingPublisher>();
  OutboxRelayOptions options = RelayOptions();
  options.rescan_interval = absl::Hours(1);  // only the dirty set in this test
  int errors = 0;
  options.on_error = [&errors] { ++errors; };
  OutboxRelay relay(outbox_, publisher, options);
  relay.Start(scheduler);
  EXPECT_EQ(scheduler.RunDue(), 1);  // the first pass, at once: nothing yet

  Write("acme", Event("acme", "a1"));
  // Idle: the next pass is one idle_poll after the empty one, not before.
  EXPECT_EQ(scheduler.AdvanceBy(options.idle_poll - absl::Milliseconds(1)), 0);
  EXPECT_TRUE(publisher->events.empty());
  EXPECT_EQ(scheduler.AdvanceBy(absl::Milliseconds(1)), 2);  // publishes; looks again at once
  EXPECT_EQ(publisher->Subjects(), (std::vector<std::string>{"a1"}));

  // A failing pass waits error_backoff before the retry.
  publisher->refuse = {"a2"};
  Write("acme", Event("acme", "a2"));
  EXPECT_EQ(scheduler.AdvanceBy(options.idle_poll), 1);
  EXPECT_EQ(errors, 1);
  publisher->refuse.clear();
  EXPECT_EQ(scheduler.AdvanceBy(options.error_backoff - absl::Milliseconds(1)), 0);
  EXPECT_EQ(scheduler.AdvanceBy(absl::Milliseconds(1)), 2);
  EXPECT_EQ(publisher->Subjects(), (std::vector<std::string>{"a1", "a2"}));

  // Stopped: no pass is scheduled any more; what is pending is drained by Stop.
  relay.Stop(absl::Seconds(1));
  Write("acme", Event("acme", "a3"));
  EXPECT_EQ(scheduler.AdvanceBy(absl::Seconds(10)), 0);
  EXPECT_EQ(publisher->events.size(), 2u);
}

TEST_F(OutboxTest, AnUnmarkedOutboxIsFoundByTheRescan) {
  // A writer that died between its write and its mark.
  ASSERT_TRUE(client_->Command({"RPUSH", "{t:lost}:outbox:svc", EnvelopeRecord(Event("lost", "x"))}).ok());
  auto publisher = std::make_shared<RecordingPublisher>();
  OutboxRelay relay(outbox_, publisher, RelayOptions());
  EXPECT_EQ(*relay.RunOnce(), 1);  // the first pass scans
  ASSERT_TRUE(client_->Command({"RPUSH", "{t:lost}:outbox:svc", EnvelopeRecord(Event("lost", "y"))}).ok());
  EXPECT_EQ(*relay.RunOnce(), 0);  // not before the rescan is due
  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ(*relay.RunOnce(), 1);
  EXPECT_EQ(publisher->Subjects(), (std::vector<std::string>{"x", "y"}));
}

TEST_F(OutboxTest, OneRelayHoldsATenantAndALapsedHoldPopsNothing) {
  Write("acme", Event("acme", "a1"));
  auto other = Outbox("test/2");
  auto batch = other->Peek("acme", 100);  // replica 2 holds acme
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->records, 1);

  auto publisher = std::make_shared<RecordingPublisher>();
  OutboxRelay relay(outbox_, publisher, RelayOptions());
  EXPECT_EQ(*relay.RunOnce(), 0);  // busy elsewhere: not an error, acme stays marked
  auto marked = client_->Command({"SISMEMBER", "{dg}:outbox:svc:dirty", "acme"});
  ASSERT_TRUE(marked.ok());
  EXPECT_EQ(marked->integer, 1);

  // Replica 2's hold lapses while it publishes; replica 1 takes over, relays and pops.
  ASSERT_TRUE(client_->Command({"DEL", "{t:acme}:outbox:svc:lock"}).ok());
  EXPECT_EQ(*relay.RunOnce(), 1);
  Write("acme", Event("acme", "a2"));
  absl::Status late = other->Pop("acme", batch->records);
  EXPECT_EQ(ReasonOf(late), "RELAY_LOCK_LOST");
  EXPECT_EQ(Len("{t:acme}:outbox:svc"), 1) << "the lapsed relay removed an event it did not publish";
}

TEST_F(OutboxTest, ExecWithEventsWritesChangesAndEventsTogether) {
  auto r = outbox_->ExecWithEvents({{"SET", "{t:acme}:x", "1"}, {"INCR", "{t:acme}:n"}}, "acme",
                                   {Event("acme", "a1"), Event("acme", "a2")});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1].integer, 1);
  EXPECT_EQ(Len("{t:acme}:outbox:svc"), 2);
  auto publisher = std::make_shared<RecordingPublisher>();
  OutboxRelay relay(outbox_, publisher, RelayOptions());
  EXPECT_EQ(*relay.RunOnce(), 2);
}

TEST_F(OutboxTest, RecordsAreFramedStrictly) {
  auto e = Event("acme", "a1");
  auto back = DecodeEnvelopeRecord(EnvelopeRecord(e));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->event_id(), e.event_id());
  EXPECT_FALSE(DecodeEnvelopeRecord("E00000000").ok());
  EXPECT_FALSE(DecodeEnvelopeRecord("E0000000099abc").ok());
  EXPECT_FALSE(DecodeEnvelopeRecord(FrameRecord('D', e.SerializeAsString())).ok());
  EXPECT_FALSE(DecodeEnvelopeRecord(EnvelopeRecord(e) + "tail").ok());
}

}  // namespace
}  // namespace dialgrid::events
