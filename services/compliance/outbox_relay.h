#pragma once

// Moves the events the store wrote with its changes (the outbox) to Kafka:
// peek a batch, publish it, wait for every delivery report, then pop it. A
// crash between publish and pop republishes the batch; consumers dedup by
// event id, so delivery is at-least-once and nothing is lost.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/time/time.h"
#include "services/common/kafka/event_publisher.h"
#include "services/compliance/ports/compliance_store.h"

namespace dialgrid::compliance {

struct OutboxRelayOptions {
  std::string topic = "compliance";
  // RegistryChanged goes to a topic of its own: every replica consumes it,
  // and it must not make each replica read every dial decision.
  std::string registry_topic = "compliance-registries";
  int batch = 500;
  absl::Duration idle_poll = absl::Milliseconds(50);
  absl::Duration error_backoff = absl::Milliseconds(500);
  // Called after each batch moved to Kafka (metrics): events published,
  // records skipped as malformed.
  std::function<void(int published, int malformed)> on_batch;
  // Called when a pass fails (metrics).
  std::function<void()> on_error;
};

class OutboxRelay {
 public:
  OutboxRelay(std::shared_ptr<EventOutbox> outbox, std::shared_ptr<kafka::EventPublisher> publisher,
              OutboxRelayOptions options);
  ~OutboxRelay();

  void Start();
  // Publishes what is pending (bounded by `drain`), then stops the thread.
  void Stop(absl::Duration drain = absl::Seconds(5));

  // One pass: publish up to one batch. Returns the events published.
  absl::StatusOr<int> RunOnce();

  int64_t published() const { return published_.load(); }
  int64_t malformed() const { return malformed_.load(); }

 private:
  void Loop();

  std::shared_ptr<EventOutbox> outbox_;
  std::shared_ptr<kafka::EventPublisher> publisher_;
  OutboxRelayOptions options_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::atomic<int64_t> published_{0};
  std::atomic<int64_t> malformed_{0};
};

}  // namespace dialgrid::compliance
