#include "services/common/kafka/kafka_producer.h"

#include <librdkafka/rdkafkacpp.h>

#include <future>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/core/errors.h"
#include "services/common/core/log.h"
#include "services/common/core/random.h"
#include "services/common/kafka/client_config.h"

namespace dialgrid::kafka {

event::v1::Envelope MakeEnvelope(absl::string_view tenant, absl::string_view subject,
                                 const google::protobuf::Message& payload,
                                 absl::string_view producer, const Clock& clock) {
  event::v1::Envelope e;
  e.set_event_id(RandomHex(16));
  e.set_tenant(std::string(tenant));
  e.set_type(payload.GetDescriptor()->full_name());
  *e.mutable_time() =
      google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(clock.Now()));
  e.set_producer(std::string(producer));
  e.set_subject(std::string(subject));
  e.mutable_payload()->PackFrom(payload);
  return e;
}

std::string RecordKey(const event::v1::Envelope& event) {
  if (event.tenant().empty()) return event.subject();  // vendor scope
  return absl::StrCat(event.tenant(), "/", event.subject());
}

// Completes the promise a Publish waits on.
class KafkaProducer::DeliveryReports final : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& message) override {
    auto* done = static_cast<std::promise<absl::Status>*>(message.msg_opaque());
    if (done == nullptr) return;
    if (message.err() == RdKafka::ERR_NO_ERROR) {
      done->set_value(absl::OkStatus());
    } else {
      done->set_value(Unavailable("KAFKA_DELIVERY_FAILED",
                                  absl::StrCat("kafka: delivery failed: ", message.errstr())));
    }
    delete done;
  }
};

absl::StatusOr<std::unique_ptr<KafkaProducer>> KafkaProducer::Create(
    const ProducerOptions& options) {
  const SecurityOptions security = options.security.value_or(DefaultSecurity());
  absl::Status valid = ValidateSecurity(security);
  if (!valid.ok()) return valid;
  std::unique_ptr<KafkaProducer> p(new KafkaProducer());
  p->options_ = options;
  p->reports_ = std::make_unique<DeliveryReports>();
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  std::map<std::string, std::string> settings = {
      {"bootstrap.servers", options.bootstrap_servers},
      {"client.id", options.client_id},
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"linger.ms", "2"},
      {"message.timeout.ms",
       std::to_string(absl::ToInt64Milliseconds(options.delivery_timeout))},
  };
  for (const auto& [k, v] : SecuritySettings(security)) settings[k] = v;
  for (const auto& [k, v] : options.extra) settings[k] = v;
  for (const auto& [k, v] : settings) {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) {
      // librdkafka's complaint names the property, never its value.
      return absl::InvalidArgumentError(absl::StrCat("kafka producer: ", k, ": ", err));
    }
  }
  if (conf->set("dr_cb", p->reports_.get(), err) != RdKafka::Conf::CONF_OK) {
    return absl::InternalError(absl::StrCat("kafka producer: dr_cb: ", err));
  }
  p->producer_.reset(RdKafka::Producer::create(conf.get(), err));
  if (!p->producer_) return absl::InternalError(absl::StrCat("kafka producer: ", err));
  KafkaProducer* raw = p.get();
  p->poller_ = std::thread([raw] {
    while (!raw->stop_.load()) raw->producer_->poll(100);
  });
  return p;
}

KafkaProducer::~KafkaProducer() {
  if (producer_) {
    absl::Status st = Flush(absl::Seconds(5));
    if (!st.ok()) Log(LogLevel::kWarning, "kafka", "producer flush on shutdown incomplete",
                      {{"error", st.ToString()}});
  }
  stop_ = true;
  if (poller_.joinable()) poller_.join();
  if (producer_) producer_->poll(0);
  producer_.reset();
}

absl::StatusOr<std::future<absl::Status>> KafkaProducer::Enqueue(absl::string_view topic,
                                                                 const event::v1::Envelope& event) {
  std::string payload;
  if (!event.SerializeToString(&payload)) return absl::InternalError("kafka: envelope serialize");
  std::string key = RecordKey(event);
  RdKafka::Headers* headers = RdKafka::Headers::create();
  headers->add("dialgrid-tenant", event.tenant());
  headers->add("dialgrid-event-type", event.type());
  headers->add("dialgrid-event-id", event.event_id());
  auto* done = new std::promise<absl::Status>();
  std::future<absl::Status> result = done->get_future();
  RdKafka::ErrorCode ec = producer_->produce(
      std::string(topic), RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
      payload.data(), payload.size(), key.data(), key.size(), 0, headers, done);
  if (ec != RdKafka::ERR_NO_ERROR) {
    delete headers;
    delete done;
    return Unavailable("KAFKA_PRODUCE_FAILED",
                       absl::StrCat("kafka: produce to ", topic, ": ", RdKafka::err2str(ec)));
  }
  return result;
}

absl::Status KafkaProducer::Await(std::future<absl::Status>& result) {
  // The delivery report fires within message.timeout.ms; wait a little longer.
  if (result.wait_for(absl::ToChronoMilliseconds(options_.delivery_timeout + absl::Seconds(2))) !=
      std::future_status::ready) {
    return Unavailable("KAFKA_DELIVERY_TIMEOUT", "kafka: no delivery report in time");
  }
  return result.get();
}

absl::Status KafkaProducer::Publish(absl::string_view topic, const event::v1::Envelope& event) {
  auto result = Enqueue(topic, event);
  if (!result.ok()) return result.status();
  return Await(*result);
}

absl::Status KafkaProducer::PublishAll(absl::string_view topic,
                                       const std::vector<event::v1::Envelope>& events) {
  std::vector<std::future<absl::Status>> pending;
  absl::Status first = absl::OkStatus();
  for (const auto& e : events) {
    auto result = Enqueue(topic, e);
    if (!result.ok()) {
      first = result.status();
      break;
    }
    pending.push_back(*std::move(result));
  }
  for (auto& p : pending) {
    absl::Status st = Await(p);
    if (first.ok() && !st.ok()) first = st;
  }
  return first;
}

std::vector<absl::Status> KafkaProducer::PublishEach(
    absl::string_view topic, const std::vector<event::v1::Envelope>& events) {
  std::vector<absl::Status> out(events.size());
  std::vector<absl::StatusOr<std::future<absl::Status>>> pending;
  pending.reserve(events.size());
  for (const auto& e : events) pending.push_back(Enqueue(topic, e));
  for (size_t i = 0; i < pending.size(); ++i) {
    out[i] = pending[i].ok() ? Await(*pending[i]) : pending[i].status();
  }
  return out;
}

absl::Status KafkaProducer::Ping(absl::Duration timeout) {
  RdKafka::Metadata* raw = nullptr;
  RdKafka::ErrorCode ec = producer_->metadata(/*all_topics=*/false, nullptr, &raw,
                                              static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  std::unique_ptr<RdKafka::Metadata> md(raw);
  if (ec != RdKafka::ERR_NO_ERROR) {
    return Unavailable("KAFKA_UNAVAILABLE", absl::StrCat("kafka: ", RdKafka::err2str(ec)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> KafkaProducer::ConfigValue(absl::string_view name) const {
  return ConfigValueOf(producer_->c_ptr(), name);
}

absl::Status KafkaProducer::Flush(absl::Duration timeout) {
  RdKafka::ErrorCode ec = producer_->flush(static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (ec != RdKafka::ERR_NO_ERROR) {
    return Unavailable("KAFKA_FLUSH_TIMEOUT", absl::StrCat("kafka: flush: ", RdKafka::err2str(ec)));
  }
  return absl::OkStatus();
}

}  // namespace dialgrid::kafka
