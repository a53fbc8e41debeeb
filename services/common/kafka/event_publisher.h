#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "dialgrid/event/v1/envelope.pb.h"
#include "google/protobuf/message.h"
#include "services/common/core/clock.h"

namespace dialgrid::kafka {

// Publishes facts as enveloped events. Publish returns only once the event is
// durable in Kafka (acks=all), so a caller may acknowledge its own client.
class EventPublisher {
 public:
  virtual ~EventPublisher() = default;
  virtual absl::Status Publish(absl::string_view topic, const event::v1::Envelope& event) = 0;
  // Publishes several events; OK only when every one is durable. The default
  // publishes them one at a time.
  virtual absl::Status PublishAll(absl::string_view topic,
                                  const std::vector<event::v1::Envelope>& events) {
    for (const auto& e : events) {
      absl::Status st = Publish(topic, e);
      if (!st.ok()) return st;
    }
    return absl::OkStatus();
  }
  // Publishes several events and reports each one's fate (in order), so a
  // caller can retry only those not durable. The default publishes them one
  // at a time.
  virtual std::vector<absl::Status> PublishEach(absl::string_view topic,
                                                const std::vector<event::v1::Envelope>& events) {
    std::vector<absl::Status> out;
    out.reserve(events.size());
    for (const auto& e : events) out.push_back(Publish(topic, e));
    return out;
  }
  // Waits for every event under way; used when draining.
  virtual absl::Status Flush(absl::Duration timeout) = 0;
};

// Builds an envelope with a fresh event id, the clock's time and the
// payload's full type name.
event::v1::Envelope MakeEnvelope(absl::string_view tenant, absl::string_view subject,
                                 const google::protobuf::Message& payload,
                                 absl::string_view producer, const Clock& clock);

// Record key for an envelope: "<tenant>/<subject>" (tenant first, so a
// tenant's events group together and partition by tenant+subject); vendor-scope
// events (no tenant) are keyed by their subject alone.
std::string RecordKey(const event::v1::Envelope& event);

}  // namespace dialgrid::kafka
