#pragma once

// Moves the events services wrote into their tenants' outboxes (outbox.h) to
// Kafka: take the tenants marked dirty, and for each, peek a batch, publish
// it, wait for every delivery report, then pop it. A crash between publish
// and pop republishes the batch; consumers dedup by event id, so delivery is
// at-least-once and nothing is lost. Events delivered by a pass that failed
// part-way are remembered (by event id) and not sent again by the retry, so
// an outage does not duplicate whole batches.

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/core/clock.h"
#include "services/common/core/scheduler.h"
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

  // Runs passes on `scheduler` (which must outlive Stop): the next pass at
  // once after one that published, after idle_poll after an empty one, after
  // error_backoff after a failure. A pass waits for Kafka's delivery reports,
  // so give the relay a scheduler of its own (ServiceRuntime does) or a
  // ManualScheduler in tests.
  void Start(Scheduler& scheduler);
  // The same on a ThreadScheduler the relay owns.
  void Start();
  // Stops scheduling passes (a pass under way finishes), then publishes what
  // is pending (bounded by `drain`).
  void Stop(absl::Duration drain = absl::Seconds(5));

  // One pass over the dirty tenants (and the rescan when it is due). Returns
  // the events published; the first error if any tenant failed (those
  // tenants stay marked).
  absl::StatusOr<int> RunOnce();

  int64_t published() const { return published_.load(); }
  int64_t malformed() const { return malformed_.load(); }

 private:
  // One scheduled pass; schedules the next unless stopped.
  void Pass();
  const std::string& TopicOf(const event::v1::Envelope& e) const;
  // Publishes up to batches_per_tenant batches of one tenant; `more` is set
  // when the tenant still has events.
  absl::Status DrainTenant(const std::string& tenant, int& published, bool& more);

  std::shared_ptr<EventOutbox> outbox_;
  std::shared_ptr<kafka::EventPublisher> publisher_;
  OutboxRelayOptions options_;
  std::unique_ptr<ThreadScheduler> own_scheduler_;
  std::mutex mu_;  // scheduler_, next_, stop_
  Scheduler* scheduler_ = nullptr;
  Scheduler::TaskId next_ = 0;
  bool stop_ = false;
  std::mutex pass_mu_;
  absl::Time next_rescan_ = absl::InfinitePast();
  // Event ids delivered but not popped yet (a pass failed after them).
  std::set<std::string> delivered_;
  std::atomic<int64_t> published_{0};
  std::atomic<int64_t> malformed_{0};
};

}  // namespace dialgrid::events
