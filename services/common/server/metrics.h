#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace dialgrid {

// Prometheus text exposition of everything in `registry`.
std::string SerializeMetrics(prometheus::Registry& registry);

// The per-RPC metrics every service exports, declared in one block:
//   dialgrid_<service>_rpc_requests_total{method,code}   (also calls refused
//                                                        before a handler: Refused)
//   dialgrid_<service>_rpc_duration_seconds{method}      (histogram)
//   dialgrid_<service>_rpc_in_flight                     (gauge)
//   dialgrid_<service>_rpc_shed_total{method}            (refused: executor full)
class RpcMetrics {
 public:
  RpcMetrics(prometheus::Registry& registry, absl::string_view service);
  void Started();
  void Finished(absl::string_view method, absl::StatusCode code, absl::Duration latency);
  // A call answered before any handler ran (a request whose bytes do not
  // parse: MalformedRequestInterceptorFactory): counted in requests_total
  // only, as it never entered the in-flight gauge and has no handler latency.
  void Refused(absl::string_view method, absl::StatusCode code);
  void Shed(absl::string_view method);

 private:
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& duration_;
  prometheus::Family<prometheus::Counter>& shed_;
  prometheus::Gauge& in_flight_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, prometheus::Counter*> request_counters_;
  absl::flat_hash_map<std::string, prometheus::Histogram*> histograms_;

  // requests_total{method,code}, created on first use; mu_ held.
  prometheus::Counter& RequestCounterLocked(absl::string_view method, absl::StatusCode code);
};

}  // namespace dialgrid
