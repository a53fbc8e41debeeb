#pragma once

#include <atomic>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/common/kafka/event_publisher.h"
#include "services/common/kafka/kafka_security.h"

namespace RdKafka {
class Producer;
}

namespace dialgrid::kafka {

struct ProducerOptions {
  std::string bootstrap_servers;
  std::string client_id = "dialgrid";
  // How long Publish waits for the broker's acknowledgement.
  absl::Duration delivery_timeout = absl::Seconds(10);
  // How it logs in (ValidateSecurity'd by Create); unset: DefaultSecurity().
  std::optional<SecurityOptions> security;
  // Extra librdkafka settings, applied last.
  std::map<std::string, std::string> extra;
};

// Idempotent producer (enable.idempotence, acks=all) with a thread serving
// delivery reports. Thread-safe.
class KafkaProducer final : public EventPublisher {
 public:
  static absl::StatusOr<std::unique_ptr<KafkaProducer>> Create(const ProducerOptions& options);
  ~KafkaProducer() override;  // flushes (bounded) then destroys

  absl::Status Publish(absl::string_view topic, const event::v1::Envelope& event) override;
  // Publishes every event (in order, pipelined) and waits for all delivery
  // reports: OK only when all are durable.
  absl::Status PublishAll(absl::string_view topic,
                          const std::vector<event::v1::Envelope>& events) override;
  // Pipelined like PublishAll; each event's own delivery result.
  std::vector<absl::Status> PublishEach(absl::string_view topic,
                                        const std::vector<event::v1::Envelope>& events) override;
  absl::Status Flush(absl::Duration timeout) override;
  // Asks the cluster for its brokers: UNAVAILABLE when none answers in time.
  // Readiness checks call it; the first call also warms the connection.
  absl::Status Ping(absl::Duration timeout);
  // A setting as librdkafka holds it (rd_kafka_conf_get on the live client),
  // e.g. "security.protocol"; NOT_FOUND for an unknown name. For tests and
  // diagnostics: never log sasl.password.
  absl::StatusOr<std::string> ConfigValue(absl::string_view name) const;

 private:
  class DeliveryReports;
  KafkaProducer() = default;
  absl::StatusOr<std::future<absl::Status>> Enqueue(absl::string_view topic,
                                                    const event::v1::Envelope& event);
  absl::Status Await(std::future<absl::Status>& result);

  ProducerOptions options_;
  std::unique_ptr<DeliveryReports> reports_;
  std::unique_ptr<RdKafka::Producer> producer_;
  std::atomic<bool> stop_{false};
  std::thread poller_;
};

}  // namespace dialgrid::kafka
