#include "services/common/server/metrics.h"

#include "absl/strings/str_cat.h"
#include "prometheus/text_serializer.h"

namespace dialgrid {

std::string SerializeMetrics(prometheus::Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

RpcMetrics::RpcMetrics(prometheus::Registry& registry, absl::string_view service)
    : requests_(prometheus::BuildCounter()
                    .Name(absl::StrCat("dialgrid_", service, "_rpc_requests_total"))
                    .Help("RPCs finished, by method and gRPC status code")
                    .Register(registry)),
      duration_(prometheus::BuildHistogram()
                    .Name(absl::StrCat("dialgrid_", service, "_rpc_duration_seconds"))
                    .Help("RPC latency from arrival to finish, by method")
                    .Register(registry)),
      shed_(prometheus::BuildCounter()
                .Name(absl::StrCat("dialgrid_", service, "_rpc_shed_total"))
                .Help("RPCs refused with UNAVAILABLE because the executor was full")
                .Register(registry)),
      in_flight_(prometheus::BuildGauge()
                     .Name(absl::StrCat("dialgrid_", service, "_rpc_in_flight"))
                     .Help("RPCs being served now")
                     .Register(registry)
                     .Add({})) {}

void RpcMetrics::Started() { in_flight_.Increment(); }

prometheus::Counter& RpcMetrics::RequestCounterLocked(absl::string_view method,
                                                      absl::StatusCode code) {
  std::string code_name = absl::StatusCodeToString(code);
  auto& c = request_counters_[absl::StrCat(method, "|", code_name)];
  if (c == nullptr) c = &requests_.Add({{"method", std::string(method)}, {"code", code_name}});
  return *c;
}

void RpcMetrics::Finished(absl::string_view method, absl::StatusCode code,
                          absl::Duration latency) {
  in_flight_.Decrement();
  prometheus::Counter* counter;
  prometheus::Histogram* hist;
  {
    std::lock_guard<std::mutex> lock(mu_);
    counter = &RequestCounterLocked(method, code);
    auto& h = histograms_[method];
    if (h == nullptr) {
      h = &duration_.Add({{"method", std::string(method)}},
                         prometheus::Histogram::BucketBoundaries{
                             0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                             2.5, 5});
    }
    hist = h;
  }
  counter->Increment();
  hist->Observe(absl::ToDoubleSeconds(latency));
}

void RpcMetrics::Refused(absl::string_view method, absl::StatusCode code) {
  prometheus::Counter* counter;
  {
    std::lock_guard<std::mutex> lock(mu_);
    counter = &RequestCounterLocked(method, code);
  }
  counter->Increment();
}

void RpcMetrics::Shed(absl::string_view method) {
  shed_.Add({{"method", std::string(method)}}).Increment();
}

}  // namespace dialgrid
