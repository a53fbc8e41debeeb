#include "services/wallboard/adapters/grpc_board_source.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"
#include "services/common/core/proto_time.h"

namespace dialgrid::wallboard {
namespace {

namespace as = ::dialgrid::agentstate::v1;
namespace dv = ::dialgrid::dialing::v1;
namespace rv = ::dialgrid::reporting::v1;
namespace tv = ::dialgrid::tenancy::v1;

AgentRow RowOf(const as::Agent& a) {
  AgentRow row;
  row.name = a.name();
  row.display_name = a.display_name();
  row.team = a.team();
  row.state = EnumLabel(as::State_Name(a.status().state()), "STATE_");
  row.reason_code = a.status().reason_code();
  row.station = a.status().station();
  row.campaign = a.status().campaign();
  if (a.status().has_state_time()) row.state_since = FromTimestamp(a.status().state_time());
  return row;
}

CampaignRow RowOf(const dv::Campaign& c) {
  CampaignRow row;
  row.name = c.name();
  row.display_name = c.display_name();
  row.mode = EnumLabel(dv::CampaignMode_Name(c.mode()), "CAMPAIGN_MODE_");
  row.state = EnumLabel(dv::CampaignState_Name(c.state()), "CAMPAIGN_STATE_");
  row.state_reason = c.state_reason();
  row.power_ratio = c.power_ratio();
  row.max_lines = c.max_lines();
  return row;
}

CampaignFigures FiguresOf(const dv::CampaignProgress& p) {
  CampaignFigures f;
  f.dialing = p.dialing();
  if (p.has_update_time()) f.update_time = FromTimestamp(p.update_time());
  f.dialing_mode = EnumLabel(dv::CampaignMode_Name(p.dialing_mode()), "CAMPAIGN_MODE_");
  f.calls_in_progress = p.calls_in_progress();
  f.max_lines = p.max_lines();
  f.lines_last_tick = p.lines_last_tick();
  f.hopper_contacts = p.hopper_contacts();
  f.hopper_dry = p.hopper_dry();
  f.agents_ready = p.agents_ready();
  f.agents_on_call = p.agents_on_call();
  f.agents_wrap_up = p.agents_wrap_up();
  f.agents_not_ready = p.agents_not_ready();
  f.answer_rate = p.answer_rate();
  if (p.has_counted_since()) f.counted_since = FromTimestamp(p.counted_since());
  f.dials = p.dials();
  f.answered = p.answered();
  f.connected = p.connected();
  f.abandoned = p.abandoned();
  f.machines = p.machines();
  f.refused = p.refused();
  f.ledger_known = p.ledger_known();
  f.abandoned_24h = p.abandoned_24h();
  f.live_answers_24h = p.live_answers_24h();
  f.abandon_rate_24h = p.abandon_rate_24h();
  f.abandoned_30d = p.abandoned_30d();
  f.live_answers_30d = p.live_answers_30d();
  f.abandon_rate_30d = p.abandon_rate_30d();
  f.max_abandon_rate = p.max_abandon_rate();
  f.over_abandon_cap = p.over_abandon_cap();
  f.inbound_waiting = p.inbound_waiting();
  f.inbound_offered = p.inbound_offered();
  f.inbound_answered = p.inbound_answered();
  f.service_level = p.service_level();
  return f;
}

}  // namespace

GrpcBoardSource::GrpcBoardSource(std::shared_ptr<client::PeerChannel> tenancy,
                                 std::shared_ptr<client::PeerChannel> agent_state,
                                 std::shared_ptr<client::PeerChannel> dialing,
                                 CallObserver observer)
    : tenancy_(std::move(tenancy)),
      agent_state_(std::move(agent_state)),
      dialing_(std::move(dialing)),
      tenancy_stub_(tv::TenancyService::NewStub(tenancy_->channel())),
      agent_state_stub_(as::AgentStateService::NewStub(agent_state_->channel())),
      dialing_stub_(dv::DialingService::NewStub(dialing_->channel())),
      observer_(std::move(observer)) {}

void GrpcBoardSource::SetReporting(std::shared_ptr<client::PeerChannel> reporting) {
  reporting_ = std::move(reporting);
  reporting_stub_ = reporting_ ? rv::ReportingService::NewStub(reporting_->channel()) : nullptr;
}

absl::StatusOr<int64_t> GrpcBoardSource::GetSales(const Viewer& viewer, absl::Time start,
                                                  absl::Time end) {
  if (reporting_ == nullptr) {
    return Unavailable("REPORTING_NOT_CONFIGURED",
                       "the wallboard was started without --reporting_address");
  }
  grpc::ClientContext ctx;
  absl::Status st = Prepare(*reporting_, viewer, ctx);
  if (!st.ok()) return st;
  rv::GetAgentReportRequest req;
  req.set_agent(absl::StrCat("tenants/", viewer.tenant, "/agents/-"));
  *req.mutable_start_time() = ToTimestamp(start);
  *req.mutable_end_time() = ToTimestamp(end);
  rv::AgentReport report;
  st = Finish(*reporting_, reporting_stub_->GetAgentReport(&ctx, req, &report));
  if (!st.ok()) return st;
  return report.total().sales();
}

absl::Status GrpcBoardSource::Prepare(const client::PeerChannel& peer, const Viewer& viewer,
                                      grpc::ClientContext& ctx) const {
  absl::Status st = peer.Prepare(ctx, client::IncomingCall(viewer.deadline, viewer.request_id));
  if (!st.ok()) {
    if (observer_) observer_(peer.name(), st.code());
    return st;
  }
  ctx.AddMetadata("authorization", absl::StrCat("Bearer ", viewer.credential));
  return absl::OkStatus();
}

absl::Status GrpcBoardSource::Finish(const client::PeerChannel& peer,
                                     const grpc::Status& status) const {
  absl::Status st = status.ok() ? absl::OkStatus() : peer.StatusOf(status);
  if (observer_) observer_(peer.name(), st.code());
  return st;
}

absl::StatusOr<TenantInfo> GrpcBoardSource::GetTenant(const Viewer& viewer) {
  grpc::ClientContext ctx;
  absl::Status st = Prepare(*tenancy_, viewer, ctx);
  if (!st.ok()) return st;
  tv::GetTenantRequest req;
  req.set_name(absl::StrCat("tenants/", viewer.tenant));
  tv::Tenant tenant;
  st = Finish(*tenancy_, tenancy_stub_->GetTenant(&ctx, req, &tenant));
  if (!st.ok()) return st;
  return TenantInfo{viewer.tenant, tenant.display_name(), tenant.time_zone()};
}

absl::StatusOr<AgentList> GrpcBoardSource::ListAgents(const Viewer& viewer, int limit) {
  AgentList out;
  std::string token;
  do {
    grpc::ClientContext ctx;
    absl::Status st = Prepare(*agent_state_, viewer, ctx);
    if (!st.ok()) return st;
    as::ListAgentsRequest req;
    req.set_parent(absl::StrCat("tenants/", viewer.tenant));
    req.set_page_size(1000);
    req.set_page_token(token);
    as::ListAgentsResponse resp;
    st = Finish(*agent_state_, agent_state_stub_->ListAgents(&ctx, req, &resp));
    if (!st.ok()) return st;
    for (const as::Agent& a : resp.agents()) {
      if (static_cast<int>(out.agents.size()) >= limit) {
        out.truncated = true;
        return out;
      }
      out.agents.push_back(RowOf(a));
    }
    token = resp.next_page_token();
  } while (!token.empty());
  return out;
}

absl::StatusOr<TeamToday> GrpcBoardSource::GetTeamToday(const Viewer& viewer, absl::CivilDay day) {
  grpc::ClientContext ctx;
  absl::Status st = Prepare(*agent_state_, viewer, ctx);
  if (!st.ok()) return st;
  as::GetTeamKpisRequest req;
  req.set_parent(absl::StrCat("tenants/", viewer.tenant));
  *req.mutable_day() = DateOf(day);
  as::TeamKpis resp;
  st = Finish(*agent_state_, agent_state_stub_->GetTeamKpis(&ctx, req, &resp));
  if (!st.ok()) return st;
  const as::AgentKpis& t = resp.total();
  TeamToday today;
  today.day = day;
  today.calls_handled = t.calls_handled();
  today.missed_reservations = t.missed_reservations();
  today.logged_in = FromDurationProto(t.logged_in());
  today.ready = FromDurationProto(t.ready());
  today.talk = FromDurationProto(t.talk());
  today.wrap_up = FromDurationProto(t.wrap_up());
  for (const auto& [reason, d] : t.not_ready()) today.not_ready += FromDurationProto(d);
  today.occupancy = t.occupancy();
  today.target_calls = t.targets().calls_handled();
  today.target_sales = t.targets().sales();
  return today;
}

absl::StatusOr<CampaignList> GrpcBoardSource::ListCampaigns(const Viewer& viewer, int limit) {
  CampaignList out;
  std::string token;
  do {
    grpc::ClientContext ctx;
    absl::Status st = Prepare(*dialing_, viewer, ctx);
    if (!st.ok()) return st;
    dv::ListCampaignsRequest req;
    req.set_parent(absl::StrCat("tenants/", viewer.tenant));
    req.set_page_size(1000);
    req.set_page_token(token);
    dv::ListCampaignsResponse resp;
    st = Finish(*dialing_, dialing_stub_->ListCampaigns(&ctx, req, &resp));
    if (!st.ok()) return st;
    for (const dv::Campaign& c : resp.campaigns()) {
      if (static_cast<int>(out.campaigns.size()) >= limit) {
        out.truncated = true;
        return out;
      }
      out.campaigns.push_back(RowOf(c));
    }
    token = resp.next_page_token();
  } while (!token.empty());
  return out;
}

absl::StatusOr<CampaignFigures> GrpcBoardSource::GetFigures(const Viewer& viewer,
                                                            const std::string& campaign) {
  grpc::ClientContext ctx;
  absl::Status st = Prepare(*dialing_, viewer, ctx);
  if (!st.ok()) return st;
  dv::WatchCampaignRequest req;
  req.set_name(campaign);
  std::unique_ptr<grpc::ClientReader<dv::CampaignProgress>> reader =
      dialing_stub_->WatchCampaign(&ctx, req);
  dv::CampaignProgress progress;
  if (reader->Read(&progress)) {
    // The figures now are all the board needs: end the watch.
    ctx.TryCancel();
    reader->Finish();
    if (observer_) observer_(dialing_->name(), absl::StatusCode::kOk);
    return FiguresOf(progress);
  }
  st = Finish(*dialing_, reader->Finish());
  if (st.ok()) {
    return WithReason(absl::UnavailableError("the campaign's watch ended without figures"),
                      "NO_FIGURES");
  }
  return st;
}

}  // namespace dialgrid::wallboard
