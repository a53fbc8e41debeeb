#include "services/common/kafka/kafka_consumer.h"

#include <librdkafka/rdkafkacpp.h>

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "services/common/core/log.h"
#include "services/common/kafka/client_config.h"

namespace dialgrid::kafka {

absl::StatusOr<bool> LruEventDeduper::Seen(const event::v1::Envelope& event) {
  std::lock_guard<std::mutex> lock(mu_);
  return index_.contains(event.event_id());
}

absl::Status LruEventDeduper::MarkHandled(const event::v1::Envelope& event) {
  std::lock_guard<std::mutex> lock(mu_);
  if (index_.contains(event.event_id())) return absl::OkStatus();
  order_.push_front(event.event_id());
  index_[event.event_id()] = order_.begin();
  while (order_.size() > capacity_) {
    index_.erase(order_.back());
    order_.pop_back();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<KafkaConsumer>> KafkaConsumer::Create(
    const ConsumerOptions& options, Handler handler, std::unique_ptr<EventDeduper> deduper) {
  const SecurityOptions security = options.security.value_or(DefaultSecurity());
  absl::Status valid = ValidateSecurity(security);
  if (!valid.ok()) return valid;
  std::unique_ptr<KafkaConsumer> c(new KafkaConsumer());
  c->options_ = options;
  c->handler_ = std::move(handler);
  c->deduper_ = deduper ? std::move(deduper) : std::make_unique<LruEventDeduper>();
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  std::map<std::string, std::string> settings = {
      {"bootstrap.servers", options.bootstrap_servers},
      {"group.id", options.group_id},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", options.auto_offset_reset},
      {"session.timeout.ms", std::to_string(absl::ToInt64Milliseconds(options.session_timeout))},
      {"partition.assignment.strategy", "range,roundrobin"},
  };
  for (const auto& [k, v] : SecuritySettings(security)) settings[k] = v;
  for (const auto& [k, v] : settings) {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) {
      return absl::InvalidArgumentError(absl::StrCat("kafka consumer: ", k, ": ", err));
    }
  }
  c->consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!c->consumer_) return absl::InternalError(absl::StrCat("kafka consumer: ", err));
  RdKafka::ErrorCode ec = c->consumer_->subscribe(options.topics);
  if (ec != RdKafka::ERR_NO_ERROR) {
    return absl::InternalError(absl::StrCat("kafka consumer: subscribe ",
                                            absl::StrJoin(options.topics, ","), ": ",
                                            RdKafka::err2str(ec)));
  }
  return c;
}

KafkaConsumer::~KafkaConsumer() { Stop(); }

absl::StatusOr<std::string> KafkaConsumer::ConfigValue(absl::string_view name) const {
  if (!consumer_) return absl::FailedPreconditionError("kafka consumer: stopped");
  return ConfigValueOf(consumer_->c_ptr(), name);
}

void KafkaConsumer::Start() {
  {
    std::lock_guard<std::mutex> lock(lag_mu_);
    for (const auto& t : options_.topics) lag_[t] = 0;
  }
  thread_ = std::thread([this] { Run(); });
  lag_thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(stop_mu_);
    while (!stop_cv_.wait_for(lock, absl::ToChronoMilliseconds(options_.lag_interval),
                              [this] { return stop_.load(); })) {
      lock.unlock();
      MeasureLag();
      lock.lock();
    }
  });
}

std::map<std::string, int64_t> KafkaConsumer::Lag() const {
  std::lock_guard<std::mutex> lock(lag_mu_);
  return lag_;
}

void KafkaConsumer::MeasureLag() {
  std::vector<RdKafka::TopicPartition*> parts;
  if (consumer_->assignment(parts) != RdKafka::ERR_NO_ERROR) return;
  std::map<std::string, int64_t> lag;
  for (const auto& t : options_.topics) lag[t] = 0;
  if (!parts.empty() && consumer_->position(parts) == RdKafka::ERR_NO_ERROR) {
    for (RdKafka::TopicPartition* p : parts) {
      int64_t low = 0, high = 0;
      // The watermarks the fetches brought (no broker round trip).
      if (consumer_->get_watermark_offsets(p->topic(), p->partition(), &low, &high) !=
              RdKafka::ERR_NO_ERROR ||
          high < 0) {
        continue;
      }
      // No position yet: nothing of the partition handled since the
      // assignment, so all that is there is behind.
      const int64_t at = p->offset() >= 0 ? p->offset() : std::max<int64_t>(low, 0);
      lag[p->topic()] += std::max<int64_t>(0, high - at);
    }
  }
  RdKafka::TopicPartition::destroy(parts);
  {
    std::lock_guard<std::mutex> lock(lag_mu_);
    lag_ = lag;
  }
  if (lag_observer_) {
    for (const auto& [topic, records] : lag) lag_observer_(options_.group_id, topic, records);
  }
}

void KafkaConsumer::Stop() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (lag_thread_.joinable()) lag_thread_.join();
  if (consumer_) {
    consumer_->close();
    consumer_.reset();
  }
}

void KafkaConsumer::Run() {
  while (!stop_.load()) {
    std::unique_ptr<RdKafka::Message> msg(consumer_->consume(100));
    if (!msg) continue;
    if (msg->err() == RdKafka::ERR__TIMED_OUT || msg->err() == RdKafka::ERR__PARTITION_EOF) {
      continue;
    }
    if (msg->err() != RdKafka::ERR_NO_ERROR) {
      Log(LogLevel::kWarning, "kafka", "consume error", {{"error", msg->errstr()}});
      continue;
    }
    event::v1::Envelope event;
    if (!event.ParseFromArray(msg->payload(), static_cast<int>(msg->len()))) {
      Log(LogLevel::kError, "kafka", "record is not an event envelope; skipped",
          {{"topic", msg->topic_name()}, {"offset", static_cast<long long>(msg->offset())}});
      consumer_->commitSync(msg.get());
      continue;
    }
    absl::Duration backoff = options_.retry_backoff;
    bool done = false;
    while (!done && !stop_.load()) {
      absl::StatusOr<bool> seen = deduper_->Seen(event);
      absl::Status st = seen.status();
      if (seen.ok() && *seen) {
        duplicates_.fetch_add(1);
        done = true;
        break;
      }
      if (st.ok()) st = handler_(event);
      if (st.ok()) st = deduper_->MarkHandled(event);
      if (st.ok()) {
        handled_.fetch_add(1);
        done = true;
        break;
      }
      Log(LogLevel::kWarning, "kafka", "event handler failed; retrying",
          {{"event_id", event.event_id()}, {"type", event.type()}, {"error", st.ToString()}});
      {
        // Interruptible: Stop() must not wait out a long backoff.
        std::unique_lock<std::mutex> lock(stop_mu_);
        stop_cv_.wait_for(lock, absl::ToChronoMilliseconds(backoff), [this] { return stop_.load(); });
      }
      backoff = std::min(backoff * 2, absl::Seconds(5));
    }
    if (!done) break;  // stopping before success: not committed, redelivered later
    RdKafka::ErrorCode ec = consumer_->commitSync(msg.get());
    if (ec != RdKafka::ERR_NO_ERROR) {
      Log(LogLevel::kWarning, "kafka", "offset commit failed (event may be redelivered)",
          {{"error", RdKafka::err2str(ec)}});
    }
  }
}

}  // namespace dialgrid::kafka
