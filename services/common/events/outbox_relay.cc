#include "services/common/events/outbox_relay.h"

#include <vector>

#include "services/common/core/errors.h"
#include "services/common/core/log.h"

namespace dialgrid::events {
namespace {

// More ids than this remembered means many tenants failing at once: forget
// them (at worst those events are published twice; consumers dedup).
constexpr size_t kMaxRemembered = 100000;

}  // namespace

OutboxRelay::OutboxRelay(std::shared_ptr<EventOutbox> outbox,
                         std::shared_ptr<kafka::EventPublisher> publisher, OutboxRelayOptions options)
    : outbox_(std::move(outbox)), publisher_(std::move(publisher)), options_(std::move(options)) {}

OutboxRelay::~OutboxRelay() { Stop(absl::ZeroDuration()); }

void OutboxRelay::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (scheduler_ != nullptr) return;
    own_scheduler_ = std::make_unique<ThreadScheduler>();
  }
  Start(*own_scheduler_);
}

void OutboxRelay::Start(Scheduler& scheduler) {
  std::lock_guard<std::mutex> lock(mu_);
  if (scheduler_ != nullptr) return;
  scheduler_ = &scheduler;
  stop_ = false;
  next_ = scheduler.After(absl::ZeroDuration(), [this] { Pass(); });
}

void OutboxRelay::Stop(absl::Duration drain) {
  Scheduler* scheduler;
  Scheduler::TaskId next;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (scheduler_ == nullptr || stop_) return;
    stop_ = true;
    scheduler = scheduler_;
    next = next_;
  }
  // Waits for a pass under way; that pass sees stop_ and schedules nothing.
  scheduler->Cancel(next);
  if (own_scheduler_) own_scheduler_->Stop();
  absl::Time deadline = absl::Now() + drain;
  while (absl::Now() < deadline) {
    auto n = RunOnce();
    if (!n.ok() || *n == 0) break;
  }
}

const std::string& OutboxRelay::TopicOf(const event::v1::Envelope& e) const {
  auto it = options_.topic_by_type.find(e.type());
  return it == options_.topic_by_type.end() ? options_.default_topic : it->second;
}

absl::Status OutboxRelay::DrainTenant(const std::string& tenant, int& published, bool& more) {
  more = false;
  for (int b = 0; b < options_.batches_per_tenant; ++b) {
    auto batch = outbox_->Peek(tenant, options_.batch);
    if (!batch.ok()) return batch.status();
    if (batch->records == 0) return outbox_->Release(tenant);
    if (batch->malformed > 0) {
      malformed_ += batch->malformed;
      Log(LogLevel::kError, options_.service, "outbox records that do not decode were skipped",
          {{"count", batch->malformed}, {"tenant", tenant}});
    }
    // In order, one run of same-topic events at a time; what an earlier,
    // failed pass delivered is not sent again.
    size_t i = 0;
    int sent = 0;
    while (i < batch->events.size()) {
      const std::string& topic = TopicOf(batch->events[i]);
      std::vector<event::v1::Envelope> run;
      while (i < batch->events.size() && TopicOf(batch->events[i]) == topic) {
        if (delivered_.count(batch->events[i].event_id()) == 0) run.push_back(batch->events[i]);
        ++i;
      }
      if (run.empty()) continue;
      std::vector<absl::Status> results = publisher_->PublishEach(topic, run);
      absl::Status first;
      for (size_t k = 0; k < run.size(); ++k) {
        if (results[k].ok()) {
          if (delivered_.size() >= kMaxRemembered) delivered_.clear();
          delivered_.insert(run[k].event_id());
          ++sent;
        } else if (first.ok()) {
          first = results[k];
        }
      }
      if (!first.ok()) return first;
    }
    absl::Status st = outbox_->Pop(tenant, batch->records);
    if (!st.ok()) return st;
    for (const auto& e : batch->events) delivered_.erase(e.event_id());
    published += sent;
    published_ += sent;
    if (options_.on_batch) options_.on_batch(sent, batch->malformed);
    if (batch->records < options_.batch) return outbox_->Release(tenant);
  }
  more = true;
  return absl::OkStatus();
}

absl::StatusOr<int> OutboxRelay::RunOnce() {
  std::lock_guard<std::mutex> pass(pass_mu_);
  absl::Time now = options_.clock->Now();
  if (now >= next_rescan_) {
    auto found = outbox_->MarkAllNonEmpty();
    if (!found.ok()) return found.status();
    next_rescan_ = now + options_.rescan_interval;
  }
  auto tenants = outbox_->TakeDirty(options_.tenants_per_pass);
  if (!tenants.ok()) return tenants.status();
  int published = 0;
  absl::Status first;
  for (const std::string& tenant : *tenants) {
    bool more = false;
    absl::Status st = DrainTenant(tenant, published, more);
    if (!st.ok() || more) {
      // Put it back for the next pass, whatever happened.
      absl::Status mark = outbox_->MarkDirty(tenant);
      if (!st.ok() && ReasonOf(st) != "RELAY_BUSY" && first.ok()) first = st;
      if (!mark.ok() && first.ok()) first = mark;
    }
  }
  if (!first.ok()) return first;
  return published;
}

void OutboxRelay::Pass() {
  absl::Duration wait = options_.idle_poll;
  auto n = RunOnce();
  if (!n.ok()) {
    if (options_.on_error) options_.on_error();
    Log(LogLevel::kWarning, options_.service, "outbox relay failed; retrying",
        {{"error", n.status().ToString()}});
    wait = options_.error_backoff;
  } else if (*n > 0) {
    wait = absl::ZeroDuration();  // there may be more; the next pass finds out
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (stop_) return;
  next_ = scheduler_->After(wait, [this] { Pass(); });
}

}  // namespace dialgrid::events
