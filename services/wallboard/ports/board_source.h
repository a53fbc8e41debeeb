#pragma once

// Where a board's parts come from: the platform's services, called with the
// viewer's own credential (adapters/grpc_board_source.h), or a fake in unit
// tests. Every method is a blocking call that ends by the viewer's deadline;
// failures keep the service's code and reason (UNAUTHENTICATED and
// PERMISSION_DENIED are answers about the viewer's credential).

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "services/wallboard/domain/access.h"
#include "services/wallboard/domain/board.h"

namespace dialgrid::wallboard {

class BoardSource {
 public:
  virtual ~BoardSource() = default;

  // tenancy GetTenant("tenants/{viewer.tenant}").
  virtual absl::StatusOr<TenantInfo> GetTenant(const Viewer& viewer) = 0;
  // agent-state ListAgents, every page up to `limit` agents.
  virtual absl::StatusOr<AgentList> ListAgents(const Viewer& viewer, int limit) = 0;
  // agent-state GetTeamKpis for the whole tenant and `day` (the tenant's).
  virtual absl::StatusOr<TeamToday> GetTeamToday(const Viewer& viewer, absl::CivilDay day) = 0;
  // dialing ListCampaigns, every page up to `limit` campaigns.
  virtual absl::StatusOr<CampaignList> ListCampaigns(const Viewer& viewer, int limit) = 0;
  // reporting GetAgentReport("tenants/{t}/agents/-", [start, end)): the
  // sales of every agent (start and end whole UTC hours).
  virtual absl::StatusOr<int64_t> GetSales(const Viewer& viewer, absl::Time start,
                                           absl::Time end) = 0;
  // dialing WatchCampaign's first message (the figures now), then cancelled.
  virtual absl::StatusOr<CampaignFigures> GetFigures(const Viewer& viewer,
                                                     const std::string& campaign) = 0;
};

}  // namespace dialgrid::wallboard
