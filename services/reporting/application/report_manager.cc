#include "services/reporting/application/report_manager.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/core/proto_time.h"
#include "services/common/core/status_macros.h"
#include "services/reporting/domain/report_range.h"

namespace dialgrid::reporting {
namespace {

constexpr int64_t kLedger24 = 24;
constexpr int64_t kLedger30d = 720;

const google::protobuf::Timestamp* Opt(bool has, const google::protobuf::Timestamp& t) {
  return has ? &t : nullptr;
}

}  // namespace

absl::StatusOr<CampaignSettings> ReportManager::Campaign(const std::string& tenant,
                                                         const std::string& id) {
  DG_ASSIGN_OR_RETURN(auto record, store_->ReadRecord(tenant, "camp:" + id));
  return CampaignSettingsOf(record);
}

absl::StatusOr<Counters> ReportManager::Sum(const std::string& tenant, const HourRange& range) {
  DG_ASSIGN_OR_RETURN(std::vector<Counters> spans, store_->ReadSpans(tenant, SplitByDay(range)));
  Counters total;
  for (const Counters& s : spans) AddCounters(s, total);
  return total;
}

absl::StatusOr<v1::CampaignReport> ReportManager::GetCampaignReport(
    const v1::GetCampaignReportRequest& req) {
  DG_ASSIGN_OR_RETURN(
      auto ids, ParseName("campaign", req.campaign(), "tenants/{tenant}/campaigns/{campaign}"));
  DG_ASSIGN_OR_RETURN(HourRange range, ParseRange(Opt(req.has_start_time(), req.start_time()),
                                                  Opt(req.has_end_time(), req.end_time()),
                                                  options_.max_range_hours));
  const std::string& tenant = ids[0];
  const std::string& campaign = ids[1];
  DG_ASSIGN_OR_RETURN(std::vector<DaySpan> spans, SplitByZoneDay(range, req.time_zone()));
  DG_ASSIGN_OR_RETURN(CampaignSettings settings, Campaign(tenant, campaign));
  DG_ASSIGN_OR_RETURN(std::vector<Counters> days, store_->ReadSpans(tenant, spans));
  v1::CampaignReport out;
  out.set_campaign(req.campaign());
  *out.mutable_start_time() = req.start_time();
  *out.mutable_end_time() = req.end_time();
  Counters total;
  for (size_t i = 0; i < spans.size(); ++i) {
    AddCounters(days[i], total);
    v1::DailyCallFigures* d = out.add_days();
    *d->mutable_day() = DateOf(spans[i].civil);
    *d->mutable_figures() = CampaignFigures(days[i], campaign, settings);
  }
  *out.mutable_totals() = CampaignFigures(total, campaign, settings);
  for (auto& d : DispositionsOf(total, campaign, settings)) *out.add_dispositions() = d;
  *out.mutable_costs() = CostsOf(out.totals(), settings);
  // The ledger: the 24 hours and 720 hours before end_time.
  DG_ASSIGN_OR_RETURN(Counters last24, Sum(tenant, HourRange{range.end - kLedger24, range.end}));
  DG_ASSIGN_OR_RETURN(Counters last30, Sum(tenant, HourRange{range.end - kLedger30d, range.end}));
  v1::AbandonLedger* ledger = out.mutable_abandon_ledger();
  *ledger->mutable_as_of() = req.end_time();
  *ledger->mutable_last_24_hours() = AbandonWindowOf(last24, campaign);
  *ledger->mutable_last_30_days() = AbandonWindowOf(last30, campaign);
  return out;
}

absl::StatusOr<v1::AgentReport> ReportManager::GetAgentReport(
    const v1::GetAgentReportRequest& req) {
  // "tenants/{tenant}/agents/-": every agent of the tenant.
  const bool all = absl::EndsWith(req.agent(), "/agents/-");
  DG_ASSIGN_OR_RETURN(
      auto ids, ParseName("agent", req.agent(),
                          all ? "tenants/{tenant}/agents/-" : "tenants/{tenant}/agents/{agent}"));
  if (all) ids.push_back("-");
  DG_ASSIGN_OR_RETURN(HourRange range, ParseRange(Opt(req.has_start_time(), req.start_time()),
                                                  Opt(req.has_end_time(), req.end_time()),
                                                  options_.max_range_hours));
  if (!req.team().empty() && ids[1] != "-") {
    return InvalidField("team", "TEAM_WITH_ONE_AGENT",
                        "a team filter needs agent tenants/{tenant}/agents/-");
  }
  const std::string& tenant = ids[0];
  DG_ASSIGN_OR_RETURN(Counters c, Sum(tenant, range));
  std::set<std::string> agents;
  if (ids[1] == "-") {
    agents = AgentsIn(c);
    DG_ASSIGN_OR_RETURN(std::vector<std::string> known, store_->Agents(tenant));
    agents.insert(known.begin(), known.end());
  } else {
    agents.insert(ids[1]);
  }
  std::map<std::string, CampaignSettings> campaigns;
  v1::AgentReport out;
  *out.mutable_start_time() = req.start_time();
  *out.mutable_end_time() = req.end_time();
  v1::AgentFigures total;
  for (const std::string& agent : agents) {
    DG_ASSIGN_OR_RETURN(auto record, store_->ReadRecord(tenant, "agent:" + agent));
    const AgentSettings settings = AgentSettingsOf(record);
    if (!req.team().empty() && settings.team != req.team()) continue;
    for (const std::string& camp : DispositionCampaignsOf(c, agent)) {
      if (campaigns.count(camp) > 0) continue;
      DG_ASSIGN_OR_RETURN(campaigns[camp], Campaign(tenant, camp));
    }
    v1::AgentFigures f = AgentFiguresOf(c, agent, campaigns, settings);
    f.set_agent(absl::StrCat("tenants/", tenant, "/agents/", agent));
    AddToTotal(f, total);
    *out.add_agents() = std::move(f);
  }
  FinishTotal(total);
  *out.mutable_total() = std::move(total);
  return out;
}

absl::StatusOr<v1::Usage> ReportManager::GetUsage(const v1::GetUsageRequest& req) {
  DG_ASSIGN_OR_RETURN(auto ids, ParseName("tenant", req.tenant(), "tenants/{tenant}"));
  DG_ASSIGN_OR_RETURN(HourRange range, ParseRange(Opt(req.has_start_time(), req.start_time()),
                                                  Opt(req.has_end_time(), req.end_time()),
                                                  options_.max_range_hours));
  DG_ASSIGN_OR_RETURN(Counters c, Sum(ids[0], range));
  DG_ASSIGN_OR_RETURN(int64_t storage, store_->StorageBefore(ids[0], range.end));
  v1::Usage out = UsageOf(c, storage);
  out.set_tenant(req.tenant());
  *out.mutable_start_time() = req.start_time();
  *out.mutable_end_time() = req.end_time();
  if (const BillingPlan* plan = PlanFor(options_.plans, ids[0]); plan != nullptr) {
    *out.mutable_bill() = BillOf(out, *plan);
  }
  return out;
}

absl::StatusOr<v1::ExportReportCsvResponse> ReportManager::ExportReportCsv(
    const v1::ExportReportCsvRequest& req) {
  DG_ASSIGN_OR_RETURN(auto ids, ParseName("parent", req.parent(), "tenants/{tenant}"));
  DG_ASSIGN_OR_RETURN(HourRange range, ParseRange(Opt(req.has_start_time(), req.start_time()),
                                                  Opt(req.has_end_time(), req.end_time()),
                                                  options_.max_export_hours));
  const std::string& tenant = ids[0];
  DG_ASSIGN_OR_RETURN(std::vector<DaySpan> spans, SplitByZoneDay(range, req.time_zone()));
  DG_ASSIGN_OR_RETURN(std::vector<Counters> days, store_->ReadSpans(tenant, spans));
  std::map<std::string, CampaignSettings> campaigns;
  v1::ExportReportCsvResponse out;
  std::string csv = CsvHeader();
  for (size_t i = 0; i < spans.size(); ++i) {
    for (const std::string& camp : CampaignsIn(days[i])) {
      if (campaigns.count(camp) == 0) {
        DG_ASSIGN_OR_RETURN(campaigns[camp], Campaign(tenant, camp));
      }
      CsvRow row;
      row.day = absl::FormatCivilTime(spans[i].civil);
      row.campaign = camp;
      row.figures = CampaignFigures(days[i], camp, campaigns[camp]);
      row.costs = CostsOf(row.figures, campaigns[camp]);
      csv += CsvLine(row);
      out.set_rows(out.rows() + 1);
    }
  }
  out.set_csv(std::move(csv));
  return out;
}

}  // namespace dialgrid::reporting
