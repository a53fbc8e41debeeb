// Component tests of the shared Kafka code (KafkaProducer, KafkaConsumer,
// MakeEnvelope, RecordKey) against a real Kafka-protocol broker
// (dialgrid-broker, librdkafka's mock cluster, started by tests/fixtures).

#include <gtest/gtest.h>

#include <atomic>
#include <librdkafka/rdkafkacpp.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "dialgrid/event/v1/envelope.pb.h"
#include "dialgrid/tenancy/v1/tenancy.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/core/clock.h"
#include "services/common/core/errors.h"
#include "services/common/core/random.h"
#include "services/common/kafka/event_publisher.h"
#include "services/common/kafka/kafka_consumer.h"
#include "services/common/kafka/kafka_producer.h"
#include "tests/fixtures/servers.h"

namespace dialgrid::kafka {
namespace {

using ::dialgrid::testing::KafkaBroker;
using ::google::protobuf::util::MessageDifferencer;

constexpr char kRawTopic[] = "kt.raw";        // 3 partitions
constexpr char kAllTopic[] = "kt.all";        // 3 partitions
constexpr char kRetryTopic[] = "kt.retry";    // 1 partition: total order
constexpr char kCommitTopic[] = "kt.commit";  // 1 partition: total order
constexpr char kDedupTopic[] = "kt.dedup";    // 1 partition: total order
constexpr char kLagTopic[] = "kt.lag";        // 1 partition

// The first join of a new group takes ~3 s on the mock cluster.
constexpr absl::Duration kConsumeTimeout = absl::Seconds(30);

// Polls `done` until it holds or `timeout` passes; the polling interval is not
// a synchronisation, only a bound on busy-waiting.
bool WaitFor(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

std::string UniqueGroup(absl::string_view name) {
  return absl::StrCat("kafka-test-", name, "-", RandomHex(4));
}

tenancy::v1::TenantCreated TenantCreatedFor(absl::string_view tenant, int i) {
  tenancy::v1::TenantCreated created;
  created.mutable_tenant()->set_name(absl::StrCat("tenants/", tenant));
  created.mutable_tenant()->set_display_name(absl::StrCat("Tenant ", tenant, " #", i));
  created.mutable_tenant()->set_time_zone("America/Chicago");
  created.mutable_tenant()->set_state(tenancy::v1::Tenant::STATE_ACTIVE);
  return created;
}

// What a handler saw: calls per event id, and the ids it handled in order.
class Recorder {
 public:
  // Fails the first `failures` calls for `event_id`.
  void FailFirstCalls(const std::string& event_id, int failures) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_[event_id] = failures;
  }
  KafkaConsumer::Handler Handler() {
    return [this](const event::v1::Envelope& e) -> absl::Status {
      std::lock_guard<std::mutex> lock(mu_);
      int n = ++calls_[e.event_id()];
      auto it = fail_.find(e.event_id());
      if (it != fail_.end() && n <= it->second) {
        return absl::UnavailableError(absl::StrCat("induced failure ", n));
      }
      handled_.push_back(e.event_id());
      return absl::OkStatus();
    };
  }
  int Calls(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = calls_.find(id);
    return it == calls_.end() ? 0 : it->second;
  }
  std::map<std::string, int> AllCalls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  std::vector<std::string> Handled() {
    std::lock_guard<std::mutex> lock(mu_);
    return handled_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, int> fail_;
  std::map<std::string, int> calls_;
  std::vector<std::string> handled_;
};

class KafkaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<KafkaBroker>> broker =
        KafkaBroker::Start({kRawTopic, kAllTopic, absl::StrCat(kRetryTopic, ":1"),
                            absl::StrCat(kCommitTopic, ":1"), absl::StrCat(kDedupTopic, ":1"),
                            absl::StrCat(kLagTopic, ":1")},
                           /*partitions=*/3);
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = broker->release();
  }
  static void TearDownTestSuite() {
    delete broker_;
    broker_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(broker_, nullptr) << "dialgrid-broker did not start";
    ProducerOptions options;
    options.bootstrap_servers = broker_->bootstrap();
    options.client_id = "kafka-test";
    absl::StatusOr<std::unique_ptr<KafkaProducer>> producer = KafkaProducer::Create(options);
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = *std::move(producer);
  }

  // Publishes `n` events for a few tenants and subjects; returns them in order.
  std::vector<event::v1::Envelope> PublishEvents(absl::string_view topic, int n,
                                                 absl::string_view label) {
    std::vector<event::v1::Envelope> events;
    for (int i = 0; i < n; ++i) {
      const std::string tenant = absl::StrCat("tenant", i % 7);
      event::v1::Envelope e =
          MakeEnvelope(tenant, absl::StrCat("tenants/", tenant, "/", label, "/", i),
                       TenantCreatedFor(tenant, i), "kafka-test/1", clock_);
      absl::Status st = producer_->Publish(topic, e);
      EXPECT_TRUE(st.ok()) << st;
      if (!st.ok()) break;
      events.push_back(std::move(e));
      clock_.Advance(absl::Seconds(1));
    }
    return events;
  }

  std::unique_ptr<KafkaConsumer> StartConsumer(
      absl::string_view topic, const std::string& group, KafkaConsumer::Handler handler,
      absl::Duration retry_backoff = absl::Milliseconds(10)) {
    ConsumerOptions options;
    options.bootstrap_servers = broker_->bootstrap();
    options.group_id = group;
    options.topics = {std::string(topic)};
    options.retry_backoff = retry_backoff;
    absl::StatusOr<std::unique_ptr<KafkaConsumer>> consumer =
        KafkaConsumer::Create(options, std::move(handler), std::make_unique<LruEventDeduper>());
    EXPECT_TRUE(consumer.ok()) << consumer.status();
    if (!consumer.ok()) return nullptr;
    (*consumer)->Start();
    return *std::move(consumer);
  }

  static KafkaBroker* broker_;
  FakeClock clock_;
  std::unique_ptr<KafkaProducer> producer_;
};

KafkaBroker* KafkaTest::broker_ = nullptr;

std::string HeaderValue(const RdKafka::Headers* headers, const std::string& key) {
  if (headers == nullptr) return "<no headers>";
  std::vector<RdKafka::Headers::Header> found = headers->get(key);
  if (found.size() != 1) return absl::StrCat("<", found.size(), " headers>");
  return std::string(static_cast<const char*>(found[0].value()), found[0].value_size());
}

TEST_F(KafkaTest, PublishedRecordCarriesKeyHeadersAndTheEnvelope) {
  const tenancy::v1::TenantCreated payload = TenantCreatedFor("acme", 1);
  const event::v1::Envelope sent =
      MakeEnvelope("acme", "tenants/acme", payload, "tenancy/7f3a", clock_);
  EXPECT_EQ(sent.event_id().size(), 32u);
  EXPECT_EQ(sent.tenant(), "acme");
  EXPECT_EQ(sent.subject(), "tenants/acme");
  EXPECT_EQ(sent.producer(), "tenancy/7f3a");
  EXPECT_EQ(sent.type(), "dialgrid.tenancy.v1.TenantCreated");
  EXPECT_EQ(google::protobuf::util::TimeUtil::TimestampToNanoseconds(sent.time()),
            absl::ToUnixNanos(clock_.Now()));
  EXPECT_EQ(RecordKey(sent), "acme/tenants/acme");
  EXPECT_NE(MakeEnvelope("acme", "tenants/acme", payload, "tenancy/7f3a", clock_).event_id(),
            sent.event_id());

  ASSERT_TRUE(producer_->Publish(kRawTopic, sent).ok());

  // Read it back with plain rdkafka++: assigned partitions, no group join.
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  for (const auto& [k, v] :
       std::vector<std::pair<std::string, std::string>>{{"bootstrap.servers", broker_->bootstrap()},
                                                        {"group.id", UniqueGroup("raw")},
                                                        {"enable.auto.commit", "false"}}) {
    ASSERT_EQ(conf->set(k, v, err), RdKafka::Conf::CONF_OK) << k << ": " << err;
  }
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), err));
  ASSERT_NE(consumer, nullptr) << err;
  std::vector<RdKafka::TopicPartition*> partitions;
  for (int p = 0; p < 3; ++p) {
    partitions.push_back(
        RdKafka::TopicPartition::create(kRawTopic, p, RdKafka::Topic::OFFSET_BEGINNING));
  }
  ASSERT_EQ(consumer->assign(partitions), RdKafka::ERR_NO_ERROR);
  RdKafka::TopicPartition::destroy(partitions);

  std::unique_ptr<RdKafka::Message> record;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (record == nullptr && absl::Now() < deadline) {
    std::unique_ptr<RdKafka::Message> m(consumer->consume(200));
    if (m->err() == RdKafka::ERR__TIMED_OUT || m->err() == RdKafka::ERR__PARTITION_EOF) continue;
    ASSERT_EQ(m->err(), RdKafka::ERR_NO_ERROR) << m->errstr();
    record = std::move(m);
  }
  ASSERT_NE(record, nullptr) << "no record within 20 s";
  ASSERT_NE(record->key(), nullptr);
  EXPECT_EQ(*record->key(), "acme/tenants/acme");
  EXPECT_EQ(*record->key(), RecordKey(sent));
  RdKafka::Headers* headers = record->headers();
  EXPECT_EQ(HeaderValue(headers, "dialgrid-tenant"), "acme");
  EXPECT_EQ(HeaderValue(headers, "dialgrid-event-type"), "dialgrid.tenancy.v1.TenantCreated");
  EXPECT_EQ(HeaderValue(headers, "dialgrid-event-id"), sent.event_id());

  event::v1::Envelope received;
  ASSERT_TRUE(received.ParseFromArray(record->payload(), static_cast<int>(record->len())));
  EXPECT_TRUE(MessageDifferencer::Equals(received, sent))
      << received.DebugString() << " vs " << sent.DebugString();
  tenancy::v1::TenantCreated unpacked;
  ASSERT_TRUE(received.payload().UnpackTo(&unpacked));
  EXPECT_TRUE(MessageDifferencer::Equals(unpacked, payload));
  // Only one record was produced.
  std::unique_ptr<RdKafka::Message> none(consumer->consume(200));
  EXPECT_NE(none->err(), RdKafka::ERR_NO_ERROR);
  consumer->close();
}

TEST_F(KafkaTest, ConsumerHandlesEveryEventExactlyOnce) {
  constexpr int kEvents = 200;
  const std::vector<event::v1::Envelope> events = PublishEvents(kAllTopic, kEvents, "all");
  ASSERT_EQ(events.size(), static_cast<size_t>(kEvents));

  Recorder recorder;
  std::unique_ptr<KafkaConsumer> consumer =
      StartConsumer(kAllTopic, UniqueGroup("all"), recorder.Handler());
  ASSERT_NE(consumer, nullptr);
  EXPECT_TRUE(WaitFor([&] { return consumer->handled() >= kEvents; }, kConsumeTimeout))
      << "handled " << consumer->handled() << " of " << kEvents;
  consumer->Stop();

  EXPECT_EQ(consumer->handled(), kEvents);
  const std::map<std::string, int> calls = recorder.AllCalls();
  EXPECT_EQ(calls.size(), static_cast<size_t>(kEvents));
  for (const event::v1::Envelope& e : events) {
    auto it = calls.find(e.event_id());
    ASSERT_NE(it, calls.end()) << "never handled: " << e.event_id();
    EXPECT_EQ(it->second, 1) << e.event_id();
  }
  EXPECT_EQ(recorder.Handled().size(), static_cast<size_t>(kEvents));
}

TEST_F(KafkaTest, FailingHandlerIsRetriedAndNotSkipped) {
  Recorder recorder;
  const std::vector<event::v1::Envelope> events = PublishEvents(kRetryTopic, 6, "retry");
  ASSERT_EQ(events.size(), 6u);
  const std::string& flaky = events[2].event_id();
  recorder.FailFirstCalls(flaky, 3);

  std::unique_ptr<KafkaConsumer> consumer =
      StartConsumer(kRetryTopic, UniqueGroup("retry"), recorder.Handler(),
                    /*retry_backoff=*/absl::Milliseconds(5));
  ASSERT_NE(consumer, nullptr);
  EXPECT_TRUE(WaitFor([&] { return consumer->handled() >= 6; }, kConsumeTimeout))
      << "handled " << consumer->handled();
  consumer->Stop();

  EXPECT_EQ(consumer->handled(), 6);
  EXPECT_EQ(recorder.Calls(flaky), 4);  // three failures, then success
  std::vector<std::string> expected_order;
  for (const event::v1::Envelope& e : events) {
    expected_order.push_back(e.event_id());
    if (e.event_id() != flaky) {
      EXPECT_EQ(recorder.Calls(e.event_id()), 1);
    }
  }
  // One partition: the failing event held back the ones after it.
  EXPECT_EQ(recorder.Handled(), expected_order);
}

// The lag the runtime exports: records behind the high watermark, measured
// while a handler is stuck on the first one, and zero once all are handled.
TEST_F(KafkaTest, LagCountsTheRecordsNotYetHandled) {
  const std::vector<event::v1::Envelope> events = PublishEvents(kLagTopic, 5, "lag");
  ASSERT_EQ(events.size(), 5u);
  std::atomic<bool> release{false};
  std::mutex mu;
  std::map<std::string, int64_t> observed;
  ConsumerOptions options;
  options.bootstrap_servers = broker_->bootstrap();
  options.group_id = UniqueGroup("lag");
  options.topics = {kLagTopic};
  options.retry_backoff = absl::Milliseconds(20);
  options.lag_interval = absl::Milliseconds(100);
  auto consumer = KafkaConsumer::Create(
      options,
      [&](const event::v1::Envelope&) {
        return release.load() ? absl::OkStatus() : absl::UnavailableError("held");
      },
      nullptr);
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  (*consumer)->SetLagObserver([&](const std::string& group, const std::string& topic, int64_t n) {
    std::lock_guard<std::mutex> lock(mu);
    observed[absl::StrCat(group, "/", topic)] = n;
  });
  (*consumer)->Start();
  // Stuck on the first record: the four after it are behind.
  EXPECT_TRUE(WaitFor([&] { return (*consumer)->Lag()[kLagTopic] == 4; }, kConsumeTimeout))
      << (*consumer)->Lag()[kLagTopic];
  // The observer (the runtime's gauge) is told the same, with the group.
  EXPECT_TRUE(WaitFor(
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        return observed[absl::StrCat(options.group_id, "/", kLagTopic)] == 4;
      },
      kConsumeTimeout));
  release = true;
  EXPECT_TRUE(WaitFor([&] { return (*consumer)->handled() == 5; }, kConsumeTimeout));
  EXPECT_TRUE(WaitFor([&] { return (*consumer)->Lag()[kLagTopic] == 0; }, kConsumeTimeout))
      << (*consumer)->Lag()[kLagTopic];
  (*consumer)->Stop();
}

// Regression: the retry backoff used to be a plain sleep (up to 5 s), so
// Stop() waited it out while a handler kept failing, delaying shutdown.
TEST_F(KafkaTest, StopInterruptsTheRetryBackoff) {
  const std::vector<event::v1::Envelope> events = PublishEvents(kRetryTopic, 1, "stop");
  ASSERT_EQ(events.size(), 1u);
  std::atomic<int> calls{0};
  std::unique_ptr<KafkaConsumer> consumer = StartConsumer(
      kRetryTopic, UniqueGroup("stop"),
      [&](const event::v1::Envelope&) {
        ++calls;
        return absl::UnavailableError("downstream is down");
      },
      /*retry_backoff=*/absl::Seconds(30));
  ASSERT_NE(consumer, nullptr);
  ASSERT_TRUE(WaitFor([&] { return calls.load() >= 1; }, kConsumeTimeout));
  absl::Time start = absl::Now();
  consumer->Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(10)) << "Stop() waited for the 30 s backoff";
  EXPECT_EQ(consumer->handled(), 0);
}

TEST_F(KafkaTest, OffsetsAreCommittedOnlyAfterProcessing) {
  const std::string group = UniqueGroup("commit");
  const std::vector<event::v1::Envelope> first = PublishEvents(kCommitTopic, 10, "first");
  ASSERT_EQ(first.size(), 10u);

  // Consumer A handles events 0-4, then keeps failing on event 5 (so 5-9 are
  // fetched but never processed) when it is stopped.
  Recorder a_recorder;
  a_recorder.FailFirstCalls(first[5].event_id(), 1 << 30);
  std::unique_ptr<KafkaConsumer> a =
      StartConsumer(kCommitTopic, group, a_recorder.Handler(), absl::Milliseconds(5));
  ASSERT_NE(a, nullptr);
  // Event 5 is tried only after event 4's offset was committed (same thread).
  EXPECT_TRUE(WaitFor([&] { return a_recorder.Calls(first[5].event_id()) >= 1; }, kConsumeTimeout))
      << "A handled " << a->handled();
  a->Stop();
  EXPECT_EQ(a->handled(), 5);
  std::vector<std::string> a_handled = a_recorder.Handled();
  ASSERT_EQ(a_handled.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(a_handled[i], first[i].event_id());

  const std::vector<event::v1::Envelope> second = PublishEvents(kCommitTopic, 5, "second");
  ASSERT_EQ(second.size(), 5u);

  // Consumer B, same group, fresh deduper: it must start at A's commit.
  Recorder b_recorder;
  std::unique_ptr<KafkaConsumer> b =
      StartConsumer(kCommitTopic, group, b_recorder.Handler(), absl::Milliseconds(5));
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(WaitFor([&] { return b->handled() >= 10; }, kConsumeTimeout))
      << "B handled " << b->handled();
  b->Stop();

  std::vector<std::string> expected;
  for (int i = 5; i < 10; ++i) expected.push_back(first[i].event_id());
  for (const event::v1::Envelope& e : second) expected.push_back(e.event_id());
  // One partition, so a redelivery of 0-4 would have come before these.
  EXPECT_EQ(b_recorder.Handled(), expected);
  EXPECT_EQ(b->handled(), 10);
  EXPECT_EQ(b->duplicates(), 0);
  const std::map<std::string, int> b_calls = b_recorder.AllCalls();
  for (const std::string& id : a_handled) {
    EXPECT_EQ(b_calls.count(id), 0u) << "redelivered after commit: " << id;
  }
}

TEST_F(KafkaTest, DeduperDropsARepublishedEnvelope) {
  const event::v1::Envelope e =
      MakeEnvelope("acme", "tenants/acme", TenantCreatedFor("acme", 1), "kafka-test/1", clock_);
  const event::v1::Envelope sentinel =
      MakeEnvelope("acme", "tenants/acme", TenantCreatedFor("acme", 2), "kafka-test/1", clock_);
  ASSERT_TRUE(producer_->Publish(kDedupTopic, e).ok());
  ASSERT_TRUE(producer_->Publish(kDedupTopic, e).ok());  // same event id
  ASSERT_TRUE(producer_->Publish(kDedupTopic, sentinel).ok());

  Recorder recorder;
  std::unique_ptr<KafkaConsumer> consumer =
      StartConsumer(kDedupTopic, UniqueGroup("dedup"), recorder.Handler());
  ASSERT_NE(consumer, nullptr);
  // One partition: once the sentinel is handled the duplicate was seen.
  EXPECT_TRUE(WaitFor([&] { return recorder.Calls(sentinel.event_id()) >= 1; }, kConsumeTimeout));
  consumer->Stop();
  EXPECT_EQ(recorder.Calls(e.event_id()), 1);
  EXPECT_EQ(consumer->handled(), 2);
  EXPECT_EQ(consumer->duplicates(), 1);
  EXPECT_EQ(recorder.Handled(), (std::vector<std::string>{e.event_id(), sentinel.event_id()}));
}

TEST(KafkaProducerTest, PublishWithoutABrokerIsUnavailableNotAHang) {
  const int port = testing::FreeTcpPort();
  ASSERT_GT(port, 0);
  FakeClock clock;
  const absl::Time start = absl::Now();
  absl::Status st;
  {
    ProducerOptions options;
    options.bootstrap_servers = absl::StrCat("127.0.0.1:", port);
    options.delivery_timeout = absl::Seconds(1);
    absl::StatusOr<std::unique_ptr<KafkaProducer>> producer = KafkaProducer::Create(options);
    ASSERT_TRUE(producer.ok()) << producer.status();
    st = (*producer)->Publish(
        "nowhere", MakeEnvelope("acme", "tenants/acme", TenantCreatedFor("acme", 1), "t", clock));
  }  // includes the producer's shutdown
  const absl::Duration took = absl::Now() - start;
  EXPECT_TRUE(absl::IsUnavailable(st)) << st;
  const std::string reason = ReasonOf(st);
  EXPECT_TRUE(reason == "KAFKA_DELIVERY_FAILED" || reason == "KAFKA_DELIVERY_TIMEOUT") << reason;
  EXPECT_GE(took, absl::Milliseconds(900));  // it did wait for the delivery timeout
  EXPECT_LT(took, absl::Seconds(5));
}

}  // namespace
}  // namespace dialgrid::kafka
