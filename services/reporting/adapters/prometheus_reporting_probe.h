#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "prometheus/counter.h"
#include "prometheus/registry.h"
#include "services/reporting/ports/reporting_probe.h"

namespace dialgrid::reporting {

// The reporting service's metrics, declared in one block (README
// "Metrics"). Labels are tenant and campaign at most: no per-call or
// per-agent label.
//   dialgrid_reporting_events_total{result="applied|duplicate|repeat|ignored|failed"}
//   dialgrid_reporting_attempts_total{tenant,campaign}
//   dialgrid_reporting_connects_total{tenant,campaign}
//   dialgrid_reporting_abandoned_total{tenant,campaign}
//   dialgrid_reporting_talk_seconds_total{tenant,campaign}
// Each counts what this replica applied (sum the replicas). The registry
// must outlive the probe.
class PrometheusReportingProbe final : public ReportingProbe {
 public:
  explicit PrometheusReportingProbe(prometheus::Registry& registry);

  void Applied(const EventPlan& plan, ApplyResult result) override;
  void Ignored(const EventPlan& plan) override;
  void Failed() override;

 private:
  struct CampaignSeries {
    prometheus::Counter* attempts;
    prometheus::Counter* connects;
    prometheus::Counter* abandoned;
    prometheus::Counter* talk_seconds;
  };
  CampaignSeries& Series(const std::string& tenant, const std::string& campaign);

  prometheus::Family<prometheus::Counter>& events_;
  prometheus::Counter& applied_;
  prometheus::Counter& duplicate_;
  prometheus::Counter& repeat_;
  prometheus::Counter& ignored_;
  prometheus::Counter& failed_;
  prometheus::Family<prometheus::Counter>& attempts_;
  prometheus::Family<prometheus::Counter>& connects_;
  prometheus::Family<prometheus::Counter>& abandoned_;
  prometheus::Family<prometheus::Counter>& talk_;
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, CampaignSeries> series_;
};

}  // namespace dialgrid::reporting
