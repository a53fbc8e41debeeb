#include "services/wallboard/server/wallboard_metrics.h"

#include "absl/strings/str_cat.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"

namespace dialgrid::wallboard {

WallboardMetrics::WallboardMetrics(prometheus::Registry& registry)
    : requests_(prometheus::BuildCounter()
                    .Name("dialgrid_wallboard_http_requests_total")
                    .Help("HTTP requests by route (page, asset, board, other) and status")
                    .Register(registry)),
      duration_(prometheus::BuildHistogram()
                    .Name("dialgrid_wallboard_http_duration_seconds")
                    .Help("Time to answer an HTTP request, by route")
                    .Register(registry)),
      in_flight_(prometheus::BuildGauge()
                     .Name("dialgrid_wallboard_boards_in_flight")
                     .Help("Boards being built now")
                     .Register(registry)
                     .Add({})),
      shed_(prometheus::BuildCounter()
                .Name("dialgrid_wallboard_boards_shed_total")
                .Help("Board requests refused because too many were being built")
                .Register(registry)
                .Add({})),
      peer_calls_(prometheus::BuildCounter()
                      .Name("dialgrid_wallboard_peer_calls_total")
                      .Help("Calls to the platform's services made for viewers, by peer and code")
                      .Register(registry)) {}

void WallboardMetrics::Request(absl::string_view route, int http_status, absl::Duration latency) {
  requests_.Add({{"route", std::string(route)}, {"status", absl::StrCat(http_status)}}).Increment();
  duration_
      .Add({{"route", std::string(route)}},
           prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
                                                   5})
      .Observe(absl::ToDoubleSeconds(latency));
}

void WallboardMetrics::PeerCall(absl::string_view peer, absl::StatusCode code) {
  peer_calls_.Add({{"peer", std::string(peer)}, {"code", absl::StatusCodeToString(code)}})
      .Increment();
}

}  // namespace dialgrid::wallboard
