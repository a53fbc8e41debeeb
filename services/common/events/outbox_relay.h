#pragma once

// Moves the events services wrote into their tenants' outboxes (outbox.h) to
// Kafka: take the tenants marked dirty, and for each, peek a batch, publish
// it, wait for every delivery report, then pop it. A crash between publish
// and pop republishes the batch; consumers dedup by event id, so delivery is
// at-least-once and nothing is lost. Events delivered by a pass that failed
// part-way are remembered (by event id) and not sent again by the retry, so
// an outage does not duplicate whole batches.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/core/clock.h"
#include "services/common/events/outbox.h"
#include "services/common/kafka/event_publisher.h"

namespace dialgrid::events {

struct OutboxRelayOptions {
  // Log component, e.g. "compliance".
  std::string service;
  // Where events go: by their type (Envelope.type), else default_topic.
  std::string default_topic;
  std::map<std::string, std::string> topic_by_type;
  int batch = 500;
  // Tenants taken per pass, and batches per tenant before it is put back
  // (so one busy tenant does not hold the others up).
  int tenants_per_pass = 64;
  int batches_per_tenant = 4;
  absl::Duration idle_poll = absl::Milliseconds(50);
  absl::Duration error_backoff = absl::Milliseconds(500);
  // How often every outbox is scanned for a tenant left unmarked (a writer
  // that died between its write and its mark).
  absl::Duration rescan_interval = absl::Seconds(5);
  const Clock* clock = &SystemClock::Get();
  // After each batch moved to Kafka (metrics): events published, records
  // skipped as malformed.
  std::function<void(int published, int malformed)> on_batch;
  // When a pass fails (metrics).
  std::function<void()> on_error;
};

class OutboxRelay {
 public:
  OutboxRelay(std::shared_ptr<EventOutbox> outbox, std::shared_ptr<kafka::EventPublisher> publisher,
              OutboxRelayOptions options);
  ~OutboxRelay();

  void Start();
  // Stops the thread, then publishes what is pending (bounded by `drain`).
  void Stop(absl::Duration drain = absl::Seconds(5));

  // One pass over the dirty tenants (and the rescan when it is due). Returns
  // the events published; the first error if any tenant failed (those
  // tenants stay marked).
  absl::StatusOr<int> RunOnce();

  int64_t published() const { return published_.load(); }
  int64_t malformed() const { return malformed_.load(); }

 private:
  void Loop();
  const std::string& TopicOf(const event::v1::Envelope& e) const;
  // Publishes up to batches_per_tenant batches of one tenant; `more` is set
  // when the tenant still has events.
  absl::Status DrainTenant(const std::string& tenant, int& published, bool& more);

  std::shared_ptr<EventOutbox> outbox_;
  std::shared_ptr<kafka::EventPublisher> publisher_;
  OutboxRelayOptions options_;
  std::thread thread_;
  std::mutex mu_;  // stop_, and one pass at a time
  std::condition_variable cv_;
  bool stop_ = false;
  std::mutex pass_mu_;
  absl::Time next_rescan_ = absl::InfinitePast();
  // Event ids delivered but not popped yet (a pass failed after them).
  std::set<std::string> delivered_;
  std::atomic<int64_t> published_{0};
  std::atomic<int64_t> malformed_{0};
};

}  // namespace dialgrid::events
