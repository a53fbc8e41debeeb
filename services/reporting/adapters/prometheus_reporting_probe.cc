#include "services/reporting/adapters/prometheus_reporting_probe.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace dialgrid::reporting {
namespace {

prometheus::Family<prometheus::Counter>& CounterFamily(prometheus::Registry& r, const char* name,
                                                       const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r);
}

}  // namespace

PrometheusReportingProbe::PrometheusReportingProbe(prometheus::Registry& r)
    : events_(CounterFamily(r, "dialgrid_reporting_events_total",
                            "Events of topics dialing, calls, agents and recordings taken by this "
                            "replica, by what became of them (duplicate: event id seen before).")),
      applied_(events_.Add({{"result", "applied"}})),
      duplicate_(events_.Add({{"result", "duplicate"}})),
      repeat_(events_.Add({{"result", "repeat"}})),
      ignored_(events_.Add({{"result", "ignored"}})),
      failed_(events_.Add({{"result", "failed"}})),
      attempts_(CounterFamily(r, "dialgrid_reporting_attempts_total",
                              "Dial attempts placed, per tenant and campaign.")),
      connects_(
          CounterFamily(r, "dialgrid_reporting_connects_total",
                        "Attempts a person answered and an agent took, per tenant and campaign.")),
      abandoned_(CounterFamily(r, "dialgrid_reporting_abandoned_total",
                               "Attempts a person answered and no agent took in time, per tenant "
                               "and campaign.")),
      talk_(CounterFamily(r, "dialgrid_reporting_talk_seconds_total",
                          "Time calls were connected to agents, per tenant and campaign.")) {}

PrometheusReportingProbe::CampaignSeries& PrometheusReportingProbe::Series(
    const std::string& tenant, const std::string& campaign) {
  auto key = std::make_pair(tenant, campaign);
  auto it = series_.find(key);
  if (it != series_.end()) return it->second;
  const std::map<std::string, std::string> labels = {{"tenant", tenant}, {"campaign", campaign}};
  CampaignSeries s{&attempts_.Add(labels), &connects_.Add(labels), &abandoned_.Add(labels),
                   &talk_.Add(labels)};
  return series_.emplace(key, s).first->second;
}

void PrometheusReportingProbe::Applied(const EventPlan& plan, ApplyResult result) {
  switch (result) {
    case ApplyResult::kDuplicate: duplicate_.Increment(); return;
    case ApplyResult::kRepeat: repeat_.Increment(); return;
    case ApplyResult::kApplied: applied_.Increment(); break;
  }
  if (plan.kind != PlanKind::kAdd || plan.campaign.empty()) return;
  const std::string prefix = absl::StrCat("c:", plan.campaign, ":");
  std::lock_guard<std::mutex> lock(mu_);
  CampaignSeries* s = nullptr;
  for (const Increment& i : plan.increments) {
    if (!absl::StartsWith(i.field, prefix)) continue;
    const absl::string_view metric = absl::string_view(i.field).substr(prefix.size());
    if (metric != "attempts" && metric != "connects" && metric != "abandoned" &&
        metric != "talk_ms") {
      continue;
    }
    if (s == nullptr) s = &Series(plan.tenant, plan.campaign);
    if (metric == "attempts") s->attempts->Increment(static_cast<double>(i.delta));
    if (metric == "connects") s->connects->Increment(static_cast<double>(i.delta));
    if (metric == "abandoned") s->abandoned->Increment(static_cast<double>(i.delta));
    if (metric == "talk_ms") s->talk_seconds->Increment(static_cast<double>(i.delta) / 1000.0);
  }
}

void PrometheusReportingProbe::Ignored(const EventPlan&) { ignored_.Increment(); }
void PrometheusReportingProbe::Failed() { failed_.Increment(); }

}  // namespace dialgrid::reporting
