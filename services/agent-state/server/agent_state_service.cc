#include "services/agent-state/server/agent_state_service.h"

#include "absl/strings/match.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/auth/principal.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/core/random.h"
#include "services/common/core/status_macros.h"
#include "services/common/core/text.h"

namespace dialgrid::agentstate {
namespace {

using google::protobuf::util::TimeUtil;
using tenancy::v1::ROLE_AGENT;
using tenancy::v1::ROLE_PLATFORM_SERVICE;
using tenancy::v1::ROLE_SUPERVISOR;
using tenancy::v1::ROLE_TENANT_ADMIN;
using tenancy::v1::ROLE_VENDOR_ADMIN;

// The resource of an agent or its parent: a pool's belongs to the vendor.
Resource Of(const char* field, const std::string& name) {
  if (absl::StartsWith(name, "agentPools/")) return Resource{field, "vendor"};
  return Resource{field, name};
}

absl::Status CheckCode(const char* field, const std::string& code, size_t max) {
  if (code.empty()) return InvalidField(field, "FIELD_REQUIRED", "is required");
  if (code.size() > max) return InvalidField(field, "FIELD_TOO_LONG", "is too long");
  return ValidateText(field, code);
}

}  // namespace

grpc::ServerUnaryReactor* AgentStateServiceImpl::CreateAgent(grpc::CallbackServerContext* ctx,
                                                             const v1::CreateAgentRequest* req,
                                                             v1::Agent* resp) {
  return ServeUnary(
      env_, ctx, "CreateAgent", *req, Of("parent", req->parent()),
      {ROLE_TENANT_ADMIN, ROLE_VENDOR_ADMIN}, [=](const CallContext&) -> absl::Status {
        auto key = ParseAgentName(req->parent() + "/agents/" + req->agent_id());
        if (!key.ok()) return InvalidField("agent_id", "MALFORMED_NAME", key.status().message());
        DG_RETURN_IF_ERROR(CheckCode("agent.display_name", req->agent().display_name(), 200));
        int64_t max_agents = -1;
        if (!key->scope.empty()) {
          auto quota = max_agents_(key->scope);
          if (!quota.ok()) return quota.status();
          max_agents = *quota;
        }
        DG_RETURN_IF_ERROR(manager_.CreateAgent(*key, req->agent(), max_agents));
        return Into(manager_.GetAgent(*key), resp);
      });
}

grpc::ServerUnaryReactor* AgentStateServiceImpl::GetAgent(grpc::CallbackServerContext* ctx,
                                                          const v1::GetAgentRequest* req,
                                                          v1::Agent* resp) {
  return ServeUnary(env_, ctx, "GetAgent", *req, Of("name", req->name()),
                    {ROLE_TENANT_ADMIN, ROLE_SUPERVISOR, ROLE_AGENT, ROLE_VENDOR_ADMIN,
                     ROLE_PLATFORM_SERVICE},
                    [=](const CallContext&) -> absl::Status {
                      auto key = ParseAgentName(req->name());
                      if (!key.ok()) return key.status();
                      return Into(manager_.GetAgent(*key), resp);
                    });
}

grpc::ServerUnaryReactor* AgentStateServiceImpl::ServeMove(
    grpc::CallbackServerContext* ctx, const char* method, const google::protobuf::Message& req,
    const std::string& name, std::vector<auth::Role> roles, MoveRequest move,
    v1::AgentStatus* resp, absl::Status check) {
  return ServeUnary(env_, ctx, method, req, Of("name", name), std::move(roles),
                    [=](const CallContext&) -> absl::Status {
                      DG_RETURN_IF_ERROR(check);  // after authorization
                      auto key = ParseAgentName(name);
                      if (!key.ok()) return key.status();
                      auto m = manager_.Apply(*key, move);
                      if (!m.ok()) return m.status();
                      *resp = ToProto(*key, m->next);
                      return absl::OkStatus();
                    });
}

grpc::ServerUnaryReactor* AgentStateServiceImpl::Login(grpc::CallbackServerContext* ctx,
                                                       const v1::LoginRequest* req,
                                                       v1::AgentStatus* resp) {
  MoveRequest m;
  m.kind = MoveKind::kLogin;
  m.actor = Actor::kAgent;
  m.station = req->station();
  m.session = RandomHex(16);
  absl::Status check = req->station().size() > 64
                           ? InvalidField("station", "FIELD_TOO_LONG", "at most 64 characters")
                           : ValidateText("station", req->station());
  return ServeMove(ctx, "Login", *req, req->name(), {ROLE_AGENT}, m, resp, check);
}

grpc::ServerUnaryReactor* AgentStateServiceImpl::Logout(grpc::CallbackServerContext* ctx,
                                                        const v1::LogoutRequest* req,
                                                        v1::AgentStatus* resp) {
  MoveRequest m;
  m.kind = MoveKind::kLogout;
  m.actor = Actor::kAgent;
  return ServeMove(ctx, "Logout", *req, req->name(), {ROLE_AGENT}, m, resp);
}

grpc::ServerUnaryReactor* AgentStateServiceImpl::SetReady(grpc::CallbackServerContext* ctx,
                                                          const v1::SetReadyRequest* req,
                                                          v1::AgentStatus* resp) {
  MoveRequest m;
  m.kind = MoveKind::kReady;
  m.actor = Actor::kAgent;
  return ServeMove(ctx, "SetReady", *req, req->name(), {ROLE_AGENT}, m, resp);
}

grpc::ServerUnaryReactor* AgentStateServiceImpl::SetNotReady(grpc::CallbackServerContext* ctx,
                                                             const v1::SetNotReadyRequest* req,
                                                             v1::AgentStatus* resp) {
  MoveRequest m;
  m.kind = MoveKind::kNotReady;
  m.actor = Actor::kAgent;
  m.reason = req->reason_code();
  return ServeMove(ctx, "SetNotReady", *req, req->name(), {ROLE_AGENT}, m, resp);
}

grpc::ServerUnaryReactor* AgentStateServiceImpl::Heartbeat(grpc::CallbackServerContext* ctx,
                                                           const v1::HeartbeatRequest* req,
                                                           v1::AgentStatus* resp) {
  MoveRequest m;
  m.kind = MoveKind::kHeartbeat;
  m.actor = Actor::kAgent;
  m.station = req->station();
  return ServeMove(ctx, "Heartbeat", *req, req->name(), {ROLE_AGENT}, m, resp);
}

grpc::ServerUnaryReactor* AgentStateServiceImpl::ForceState(grpc::CallbackServerContext* ctx,
                                                            const v1::ForceStateRequest* req,
                                                            v1::AgentStatus* resp) {
  MoveRequest m;
  m.actor = Actor::kSupervisor;
  m.reason = req->reason_code();
  // TARGET_UNSPECIFIED (and undefined numbers, refused earlier by the
  // runtime) become a move the state machine refuses with a field error.
  m.kind = req->target() == v1::ForceStateRequest::TARGET_LOGGED_OUT ? MoveKind::kLogout
                                                                      : MoveKind::kNotReady;
  absl::Status check = req->target() == v1::ForceStateRequest::TARGET_UNSPECIFIED
                           ? InvalidField("target", "FIELD_REQUIRED", "is required")
                           : absl::OkStatus();
  return ServeMove(ctx, "ForceState", *req, req->name(),
                   {ROLE_SUPERVISOR, ROLE_TENANT_ADMIN, ROLE_VENDOR_ADMIN}, m, resp, check);
}

grpc::ServerUnaryReactor* AgentStateServiceImpl::ReserveAgent(grpc::CallbackServerContext* ctx,
                                                              const v1::ReserveAgentRequest* req,
                                                              v1::Reservation* resp) {
  return ServeUnary(
      env_, ctx, "ReserveAgent", *req, Resource{"campaign", req->campaign()},
      {ROLE_PLATFORM_SERVICE}, [=](const CallContext&) -> absl::Status {
        ReserveRequest r;
        auto tenant = TenantOfName("campaign", req->campaign());
        if (!tenant.ok()) return tenant.status();
        r.tenant = *tenant;
        r.campaign = req->campaign();
        r.call_id = req->call_id();
        if (r.call_id.size() > 128) {
          return InvalidField("call_id", "FIELD_TOO_LONG", "at most 128 characters");
        }
        for (const auto& s : req->skills()) r.skills.emplace_back(s.name(), s.level());
        auto reserved = manager_.Reserve(r);
        if (!reserved.ok()) return reserved.status();
        resp->set_agent(AgentName(reserved->agent));
        resp->set_call_id(reserved->status.call_id);
        *resp->mutable_expire_time() = TimeUtil::NanosecondsToTimestamp(
            absl::ToUnixNanos(reserved->status.timer));
        *resp->mutable_idle() =
            TimeUtil::NanosecondsToDuration(absl::ToInt64Nanoseconds(reserved->idle));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AgentStateServiceImpl::ConfirmReservation(
    grpc::CallbackServerContext* ctx, const v1::ConfirmReservationRequest* req,
    v1::AgentStatus* resp) {
  MoveRequest m;
  m.kind = MoveKind::kConfirm;
  m.actor = Actor::kDialer;
  m.call_id = req->call_id();
  return ServeMove(ctx, "ConfirmReservation", *req, req->name(), {ROLE_PLATFORM_SERVICE}, m, resp);
}

grpc::ServerUnaryReactor* AgentStateServiceImpl::ReleaseReservation(
    grpc::CallbackServerContext* ctx, const v1::ReleaseReservationRequest* req,
    v1::AgentStatus* resp) {
  MoveRequest m;
  m.kind = MoveKind::kRelease;
  m.actor = Actor::kDialer;
  m.call_id = req->call_id();
  return ServeMove(ctx, "ReleaseReservation", *req, req->name(), {ROLE_PLATFORM_SERVICE}, m, resp);
}

grpc::ServerUnaryReactor* AgentStateServiceImpl::EndCall(grpc::CallbackServerContext* ctx,
                                                         const v1::EndCallRequest* req,
                                                         v1::AgentStatus* resp) {
  MoveRequest m;
  m.kind = MoveKind::kEndCall;
  m.actor = Actor::kDialer;
  m.call_id = req->call_id();
  return ServeMove(ctx, "EndCall", *req, req->name(), {ROLE_PLATFORM_SERVICE}, m, resp);
}

}  // namespace dialgrid::agentstate
