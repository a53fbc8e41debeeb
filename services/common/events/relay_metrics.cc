#include "services/common/events/relay_metrics.h"

#include "absl/strings/str_cat.h"
#include "prometheus/counter.h"

namespace dialgrid::events {

void InstrumentRelay(prometheus::Registry& registry, const std::string& service,
                     OutboxRelayOptions& options) {
  auto& events = prometheus::BuildCounter()
                     .Name(absl::StrCat("dialgrid_", service, "_outbox_events_total"))
                     .Help("Events moved from the outbox to Kafka, and records skipped as malformed.")
                     .Register(registry);
  prometheus::Counter* published = &events.Add({{"result", "published"}});
  prometheus::Counter* malformed = &events.Add({{"result", "malformed"}});
  prometheus::Counter* errors =
      &prometheus::BuildCounter()
           .Name(absl::StrCat("dialgrid_", service, "_outbox_relay_errors_total"))
           .Help("Relay passes that failed (Redis or Kafka unavailable); retried.")
           .Register(registry)
           .Add({});
  options.on_batch = [published, malformed](int n, int bad) {
    published->Increment(n);
    malformed->Increment(bad);
  };
  options.on_error = [errors] { errors->Increment(); };
}

}  // namespace dialgrid::events
