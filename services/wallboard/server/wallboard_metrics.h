#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace dialgrid::wallboard {

// Every metric of the wallboard, declared in one block (no per-tenant,
// per-agent or per-campaign labels):
//   dialgrid_wallboard_http_requests_total{route,status}  route: page, asset,
//       board, other; status: the HTTP status
//   dialgrid_wallboard_http_duration_seconds{route}        (histogram)
//   dialgrid_wallboard_boards_in_flight                    (gauge)
//   dialgrid_wallboard_boards_shed_total                   (refused: too many at once)
//   dialgrid_wallboard_peer_calls_total{peer,code}         calls made for viewers
class WallboardMetrics {
 public:
  explicit WallboardMetrics(prometheus::Registry& registry);

  void Request(absl::string_view route, int http_status, absl::Duration latency);
  void PeerCall(absl::string_view peer, absl::StatusCode code);
  prometheus::Gauge& boards_in_flight() { return in_flight_; }
  prometheus::Counter& boards_shed() { return shed_; }

 private:
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& duration_;
  prometheus::Gauge& in_flight_;
  prometheus::Counter& shed_;
  prometheus::Family<prometheus::Counter>& peer_calls_;
};

}  // namespace dialgrid::wallboard
