#pragma once

#include <functional>
#include <memory>

#include "dialgrid/agentstate/v1/agentstate.grpc.pb.h"
#include "services/agent-state/application/agent_state_manager.h"
#include "services/agent-state/application/agent_watch.h"
#include "services/common/server/rpc.h"

namespace dialgrid::agentstate {

// gRPC handlers: who may call what (roles, the resource's tenant), then the
// manager: agents' creation and reading, the desktop's session and state
// calls, supervisors' forced moves and the dialer's reservation calls.
class AgentStateServiceImpl final : public v1::AgentStateService::CallbackService {
 public:
  // `max_agents`: a tenant's agent quota (tenancy's max_agents).
  // `hub` feeds WatchAgents (every replica's hub follows the store's change
  // channel); a watcher holding more than `max_pending` unsent changes gets a
  // fresh snapshot instead.
  AgentStateServiceImpl(RpcEnv& env, AgentStateManager& manager,
                        std::function<absl::StatusOr<int64_t>(const std::string&)> max_agents,
                        AgentWatchHub& hub, int max_pending = 10000)
      : env_(env),
        manager_(manager),
        max_agents_(std::move(max_agents)),
        hub_(hub),
        max_pending_(max_pending) {}

  grpc::ServerUnaryReactor* CreateAgent(grpc::CallbackServerContext* ctx,
                                        const v1::CreateAgentRequest* req, v1::Agent* resp) override;
  grpc::ServerUnaryReactor* GetAgent(grpc::CallbackServerContext* ctx,
                                     const v1::GetAgentRequest* req, v1::Agent* resp) override;
  grpc::ServerUnaryReactor* ListAgents(grpc::CallbackServerContext* ctx,
                                       const v1::ListAgentsRequest* req,
                                       v1::ListAgentsResponse* resp) override;
  grpc::ServerUnaryReactor* UpdateAgent(grpc::CallbackServerContext* ctx,
                                        const v1::UpdateAgentRequest* req, v1::Agent* resp) override;
  grpc::ServerUnaryReactor* DeleteAgent(grpc::CallbackServerContext* ctx,
                                        const v1::DeleteAgentRequest* req,
                                        v1::DeleteAgentResponse* resp) override;
  grpc::ServerUnaryReactor* SetPoolGrant(grpc::CallbackServerContext* ctx,
                                         const v1::SetPoolGrantRequest* req,
                                         v1::Agent* resp) override;
  grpc::ServerWriteReactor<v1::WatchAgentsResponse>* WatchAgents(
      grpc::CallbackServerContext* ctx, const v1::WatchAgentsRequest* req) override;
  grpc::ServerUnaryReactor* GetAgentKpis(grpc::CallbackServerContext* ctx,
                                         const v1::GetAgentKpisRequest* req,
                                         v1::AgentKpis* resp) override;
  grpc::ServerUnaryReactor* GetTeamKpis(grpc::CallbackServerContext* ctx,
                                        const v1::GetTeamKpisRequest* req,
                                        v1::TeamKpis* resp) override;
  grpc::ServerUnaryReactor* GetAgentSettings(grpc::CallbackServerContext* ctx,
                                             const v1::GetAgentSettingsRequest* req,
                                             v1::AgentSettings* resp) override;
  grpc::ServerUnaryReactor* UpdateAgentSettings(grpc::CallbackServerContext* ctx,
                                                const v1::UpdateAgentSettingsRequest* req,
                                                v1::AgentSettings* resp) override;
  grpc::ServerUnaryReactor* Login(grpc::CallbackServerContext* ctx, const v1::LoginRequest* req,
                                  v1::AgentStatus* resp) override;
  grpc::ServerUnaryReactor* Logout(grpc::CallbackServerContext* ctx, const v1::LogoutRequest* req,
                                   v1::AgentStatus* resp) override;
  grpc::ServerUnaryReactor* SetReady(grpc::CallbackServerContext* ctx,
                                     const v1::SetReadyRequest* req, v1::AgentStatus* resp) override;
  grpc::ServerUnaryReactor* SetNotReady(grpc::CallbackServerContext* ctx,
                                        const v1::SetNotReadyRequest* req,
                                        v1::AgentStatus* resp) override;
  grpc::ServerUnaryReactor* Heartbeat(grpc::CallbackServerContext* ctx,
                                      const v1::HeartbeatRequest* req,
                                      v1::AgentStatus* resp) override;
  grpc::ServerUnaryReactor* ForceState(grpc::CallbackServerContext* ctx,
                                       const v1::ForceStateRequest* req,
                                       v1::AgentStatus* resp) override;
  grpc::ServerUnaryReactor* ReserveAgent(grpc::CallbackServerContext* ctx,
                                         const v1::ReserveAgentRequest* req,
                                         v1::Reservation* resp) override;
  grpc::ServerUnaryReactor* ConfirmReservation(grpc::CallbackServerContext* ctx,
                                               const v1::ConfirmReservationRequest* req,
                                               v1::AgentStatus* resp) override;
  grpc::ServerUnaryReactor* ReleaseReservation(grpc::CallbackServerContext* ctx,
                                               const v1::ReleaseReservationRequest* req,
                                               v1::AgentStatus* resp) override;
  grpc::ServerUnaryReactor* EndCall(grpc::CallbackServerContext* ctx,
                                    const v1::EndCallRequest* req, v1::AgentStatus* resp) override;

 private:
  // One state-machine move on the agent `name`, answered with its status;
  // `check` (a validation of the request) is returned after authorization.
  grpc::ServerUnaryReactor* ServeMove(grpc::CallbackServerContext* ctx, const char* method,
                                      const google::protobuf::Message& req,
                                      const std::string& name, std::vector<auth::Role> roles,
                                      MoveRequest move, v1::AgentStatus* resp,
                                      absl::Status check = absl::OkStatus());

  RpcEnv& env_;
  AgentStateManager& manager_;
  std::function<absl::StatusOr<int64_t>(const std::string&)> max_agents_;
  AgentWatchHub& hub_;
  const int max_pending_;
};

}  // namespace dialgrid::agentstate
