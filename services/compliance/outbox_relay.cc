#include "services/compliance/outbox_relay.h"

#include "services/common/core/log.h"

namespace dialgrid::compliance {

OutboxRelay::OutboxRelay(std::shared_ptr<EventOutbox> outbox,
                         std::shared_ptr<kafka::EventPublisher> publisher, OutboxRelayOptions options)
    : outbox_(std::move(outbox)), publisher_(std::move(publisher)), options_(std::move(options)) {}

OutboxRelay::~OutboxRelay() { Stop(absl::ZeroDuration()); }

void OutboxRelay::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void OutboxRelay::Stop(absl::Duration drain) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!thread_.joinable()) return;
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  absl::Time deadline = absl::Now() + drain;
  while (absl::Now() < deadline) {
    auto n = RunOnce();
    if (!n.ok() || *n == 0) break;
  }
}

absl::StatusOr<int> OutboxRelay::RunOnce() {
  auto batch = outbox_->Peek(options_.batch);
  if (!batch.ok()) return batch.status();
  if (batch->records == 0) return 0;
  if (batch->malformed > 0) {
    malformed_ += batch->malformed;
    Log(LogLevel::kError, "compliance", "outbox records that do not decode were skipped",
        {{"count", batch->malformed}});
  }
  // In order, one run of same-topic events at a time.
  size_t i = 0;
  while (i < batch->events.size()) {
    auto topic_of = [this](const event::v1::Envelope& e) -> const std::string& {
      return e.type() == "dialgrid.compliance.v1.RegistryChanged" ? options_.registry_topic
                                                                  : options_.topic;
    };
    const std::string& topic = topic_of(batch->events[i]);
    std::vector<event::v1::Envelope> run;
    while (i < batch->events.size() && topic_of(batch->events[i]) == topic) {
      run.push_back(std::move(batch->events[i++]));
    }
    absl::Status st = publisher_->PublishAll(topic, run);
    if (!st.ok()) return st;
  }
  absl::Status st = outbox_->Pop(batch->records);
  if (!st.ok()) return st;
  published_ += static_cast<int64_t>(batch->events.size());
  if (options_.on_batch) options_.on_batch(static_cast<int>(batch->events.size()), batch->malformed);
  return static_cast<int>(batch->events.size());
}

void OutboxRelay::Loop() {
  for (;;) {
    absl::Duration wait = options_.idle_poll;
    auto n = RunOnce();
    if (!n.ok()) {
      if (options_.on_error) options_.on_error();
      Log(LogLevel::kWarning, "compliance", "outbox relay failed; retrying",
          {{"error", n.status().ToString()}});
      wait = options_.error_backoff;
    } else if (*n >= options_.batch) {
      wait = absl::ZeroDuration();
    }
    std::unique_lock<std::mutex> lock(mu_);
    if (stop_) return;
    if (wait > absl::ZeroDuration()) {
      cv_.wait_for(lock, absl::ToChronoMilliseconds(wait), [this] { return stop_; });
      if (stop_) return;
    }
  }
}

}  // namespace dialgrid::compliance
