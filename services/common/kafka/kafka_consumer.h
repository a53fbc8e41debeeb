#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "dialgrid/event/v1/envelope.pb.h"
#include "services/common/kafka/kafka_security.h"

namespace RdKafka {
class KafkaConsumer;
}

namespace dialgrid::kafka {

// Remembers which event ids were handled, so redelivered events (Kafka is
// at-least-once; rebalances re-deliver) are skipped.
class EventDeduper {
 public:
  virtual ~EventDeduper() = default;
  virtual absl::StatusOr<bool> Seen(const event::v1::Envelope& event) = 0;
  virtual absl::Status MarkHandled(const event::v1::Envelope& event) = 0;
};

// In-process deduper remembering the last `capacity` event ids.
class LruEventDeduper final : public EventDeduper {
 public:
  explicit LruEventDeduper(size_t capacity = 100000) : capacity_(capacity) {}
  absl::StatusOr<bool> Seen(const event::v1::Envelope& event) override;
  absl::Status MarkHandled(const event::v1::Envelope& event) override;

 private:
  std::mutex mu_;
  size_t capacity_;
  std::list<std::string> order_;
  absl::flat_hash_map<std::string, std::list<std::string>::iterator> index_;
};

// The deduper for a handler whose store dedups itself (it marks the event id
// in the same atomic step as its write), so every event is let through.
class StoreDedups final : public EventDeduper {
 public:
  absl::StatusOr<bool> Seen(const event::v1::Envelope&) override { return false; }
  absl::Status MarkHandled(const event::v1::Envelope&) override { return absl::OkStatus(); }
};

struct ConsumerOptions {
  std::string bootstrap_servers;
  std::string group_id;
  std::vector<std::string> topics;
  // "earliest" replays what the group has not committed; "latest" only new.
  std::string auto_offset_reset = "earliest";
  absl::Duration session_timeout = absl::Seconds(6);
  // Backoff between attempts when a handler fails (it is retried, never skipped).
  absl::Duration retry_backoff = absl::Milliseconds(200);
  // How it logs in (ValidateSecurity'd by Create); unset: DefaultSecurity().
  std::optional<SecurityOptions> security;
  // How often the lag (records behind each assigned partition's high
  // watermark) is measured and handed to the lag observer.
  absl::Duration lag_interval = absl::Seconds(5);
};

// The group's lag on one topic: records not yet handled on the partitions
// this consumer holds (high watermark minus position, summed).
using LagObserver =
    std::function<void(const std::string& group, const std::string& topic, int64_t records)>;

// Consumes enveloped events in a consumer group on its own thread. An offset
// is committed only after the handler succeeded (at-least-once); a failing
// handler is retried with backoff so nothing is skipped. Records that are not
// envelopes are logged and committed (they can never succeed).
class KafkaConsumer {
 public:
  using Handler = std::function<absl::Status(const event::v1::Envelope&)>;

  static absl::StatusOr<std::unique_ptr<KafkaConsumer>> Create(
      const ConsumerOptions& options, Handler handler, std::unique_ptr<EventDeduper> deduper);
  ~KafkaConsumer();

  // Before Start(): told the lag of every subscribed topic every
  // lag_interval (from a thread of its own, also while a handler retries).
  void SetLagObserver(LagObserver observer) { lag_observer_ = std::move(observer); }
  void Start();
  // Stops consuming, commits nothing further, leaves the group.
  void Stop();
  // Records behind, per subscribed topic, as last measured (0 before).
  std::map<std::string, int64_t> Lag() const;
  // Events handled successfully so far (for tests and metrics).
  int64_t handled() const { return handled_.load(); }
  int64_t duplicates() const { return duplicates_.load(); }
  // A setting as librdkafka holds it (as KafkaProducer::ConfigValue);
  // FAILED_PRECONDITION after Stop().
  absl::StatusOr<std::string> ConfigValue(absl::string_view name) const;

 private:
  KafkaConsumer() = default;
  void Run();
  void MeasureLag();

  ConsumerOptions options_;
  Handler handler_;
  std::unique_ptr<EventDeduper> deduper_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::atomic<bool> stop_{false};
  // Wakes a handler retry backoff when Stop() is called.
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  std::atomic<int64_t> handled_{0};
  std::atomic<int64_t> duplicates_{0};
  std::thread thread_;
  std::thread lag_thread_;
  LagObserver lag_observer_;
  mutable std::mutex lag_mu_;
  std::map<std::string, int64_t> lag_;
};

}  // namespace dialgrid::kafka
