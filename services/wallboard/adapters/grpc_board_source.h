#pragma once

// BoardSource over the platform's public gRPC APIs (tenancy, agent-state,
// dialing), every call made with the VIEWER's credential: the wallboard has
// none of its own, so each service's own authentication and authorization
// decide what the viewer sees. Deadlines: the viewer's board deadline, and no
// call longer than the peer's max_timeout (PeerChannel).

#include <functional>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "dialgrid/agentstate/v1/agentstate.grpc.pb.h"
#include "dialgrid/dialing/v1/dialing.grpc.pb.h"
#include "dialgrid/reporting/v1/reporting.grpc.pb.h"
#include "dialgrid/tenancy/v1/tenancy.grpc.pb.h"
#include "services/common/client/peer_channel.h"
#include "services/wallboard/ports/board_source.h"

namespace dialgrid::wallboard {

// Told about every finished call: the peer's name ("tenancy", "agent-state",
// "dialing") and the call's code (for metrics).
using CallObserver = std::function<void(absl::string_view peer, absl::StatusCode code)>;

class GrpcBoardSource final : public BoardSource {
 public:
  // The channels carry no credential of their own (PeerOptions::credential
  // empty): each call adds the viewer's.
  GrpcBoardSource(std::shared_ptr<client::PeerChannel> tenancy,
                  std::shared_ptr<client::PeerChannel> agent_state,
                  std::shared_ptr<client::PeerChannel> dialing, CallObserver observer = nullptr);
  // Sales from reporting: without it (no --reporting_address) the board's
  // sales are unavailable (REPORTING_NOT_CONFIGURED).
  void SetReporting(std::shared_ptr<client::PeerChannel> reporting);

  absl::StatusOr<TenantInfo> GetTenant(const Viewer& viewer) override;
  absl::StatusOr<AgentList> ListAgents(const Viewer& viewer, int limit) override;
  absl::StatusOr<TeamToday> GetTeamToday(const Viewer& viewer, absl::CivilDay day) override;
  absl::StatusOr<CampaignList> ListCampaigns(const Viewer& viewer, int limit) override;
  absl::StatusOr<CampaignFigures> GetFigures(const Viewer& viewer,
                                             const std::string& campaign) override;
  absl::StatusOr<int64_t> GetSales(const Viewer& viewer, absl::Time start,
                                   absl::Time end) override;

 private:
  // A context for one call to `peer` for `viewer`: deadline, request id and
  // the viewer's credential.
  absl::Status Prepare(const client::PeerChannel& peer, const Viewer& viewer,
                       grpc::ClientContext& ctx) const;
  absl::Status Finish(const client::PeerChannel& peer, const grpc::Status& status) const;

  std::shared_ptr<client::PeerChannel> tenancy_;
  std::shared_ptr<client::PeerChannel> agent_state_;
  std::shared_ptr<client::PeerChannel> dialing_;
  std::unique_ptr<tenancy::v1::TenancyService::Stub> tenancy_stub_;
  std::unique_ptr<agentstate::v1::AgentStateService::Stub> agent_state_stub_;
  std::unique_ptr<dialing::v1::DialingService::Stub> dialing_stub_;
  std::shared_ptr<client::PeerChannel> reporting_;
  std::unique_ptr<reporting::v1::ReportingService::Stub> reporting_stub_;
  CallObserver observer_;
};

}  // namespace dialgrid::wallboard
