#pragma once

// The KPI math over summed counters (event_plan.h names the fields): pure
// functions from counters and the campaigns' and agents' settings to the
// API's figures, the bill and the finance CSV.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "dialgrid/reporting/v1/reporting.pb.h"

namespace dialgrid::reporting {

// Counter field -> sum over some buckets.
using Counters = std::map<std::string, int64_t>;

// Adds every counter of `from` to `into`.
void AddCounters(const Counters& from, Counters& into);

// A campaign's settings, as its last CampaignStateChanged carried them.
struct CampaignSettings {
  bool known = false;
  std::string currency_code;
  int64_t per_minute_micros = 0;
  int64_t per_attempt_micros = 0;
  std::set<std::string> sale_codes;
};
// From the stored record (field -> value); known=false when empty.
CampaignSettings CampaignSettingsOf(const std::map<std::string, std::string>& record);

// An agent's team and shift targets, as its last Agent event carried them.
struct AgentSettings {
  std::string team;
  int32_t calls_target = 0;
  int32_t sales_target = 0;
  double occupancy_target = 0;
};
AgentSettings AgentSettingsOf(const std::map<std::string, std::string>& record);

// A campaign's call figures (ratios included) from counters.
v1::CallFigures CampaignFigures(const Counters& c, absl::string_view campaign,
                                const CampaignSettings& settings);
// Abandoned over live answers.
v1::AbandonWindow AbandonWindowOf(const Counters& c, absl::string_view campaign);
// Dispositions by code, in code order.
std::vector<v1::DispositionCount> DispositionsOf(const Counters& c, absl::string_view campaign,
                                                 const CampaignSettings& settings);
// Costs: attempts * per attempt + talk minutes * per minute (rounded to the
// nearest micro); per call and per acquisition rounded to the nearest.
v1::CostFigures CostsOf(const v1::CallFigures& totals, const CampaignSettings& settings);

// The campaign ids and agent ids the counters mention.
std::set<std::string> CampaignsIn(const Counters& c);
std::set<std::string> AgentsIn(const Counters& c);
// Campaign ids of an agent's disposition counters.
std::set<std::string> DispositionCampaignsOf(const Counters& c, absl::string_view agent);

// An agent's figures; `sale_codes` per campaign id decide which
// dispositions are sales. Ratios and targets set.
v1::AgentFigures AgentFiguresOf(const Counters& c, absl::string_view agent,
                                const std::map<std::string, CampaignSettings>& campaigns,
                                const AgentSettings& settings);
// Adds an agent's durations and counts to a total, then FinishTotal sets
// the total's ratios.
void AddToTotal(const v1::AgentFigures& agent, v1::AgentFigures& total);
void FinishTotal(v1::AgentFigures& total);

// A billing plan (the service's --billing_plans file): a fixed fee plus
// overage of connected minutes and recording storage.
struct BillingPlan {
  std::string name;
  std::string currency_code;
  int64_t fixed_micros = 0;
  int64_t included_minutes = 0;
  int64_t minute_overage_micros = 0;
  int64_t included_storage_bytes = 0;
  int64_t gib_overage_micros = 0;
};
// Tenant id ("*": every tenant without a line of its own) -> plan.
using BillingPlans = std::map<std::string, BillingPlan>;
// One plan a line: "<tenant> <plan> <currency> <fixed_micros>
// <included_minutes> <minute_overage_micros> <included_storage_bytes>
// <gib_overage_micros>", blank lines and '#' comments ignored.
// INVALID_ARGUMENT naming the line otherwise.
absl::StatusOr<BillingPlans> ParseBillingPlans(absl::string_view text);
// The plan of `tenant`, or nullptr.
const BillingPlan* PlanFor(const BillingPlans& plans, const std::string& tenant);

// Usage figures (without range and tenant) from counters and the storage
// held at the range's end.
v1::Usage UsageOf(const Counters& c, int64_t storage_bytes);
v1::Bill BillOf(const v1::Usage& usage, const BillingPlan& plan);

// One CSV row of the finance export.
struct CsvRow {
  std::string day;  // YYYY-MM-DD
  std::string campaign;
  v1::CallFigures figures;
  v1::CostFigures costs;
};
std::string CsvHeader();
std::string CsvLine(const CsvRow& row);

}  // namespace dialgrid::reporting
