#include "services/agent-state/server/agent_state_service.h"

#include <condition_variable>
#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "services/common/auth/principal.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/core/proto_time.h"
#include "services/common/core/random.h"
#include "services/common/core/status_macros.h"
#include "services/common/core/text.h"
#include "services/common/server/grpc_status.h"

namespace dialgrid::agentstate {
namespace {

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

// EndCall's protection (protected_reason and protect_for, both or neither)
// into `move`; INVALID_ARGUMENT naming the field otherwise.
absl::Status ProtectionOf(const v1::EndCallRequest& req, MoveRequest& move) {
  if (req.protected_reason().empty() && !req.has_protect_for()) return absl::OkStatus();
  if (!req.has_protect_for()) {
    return InvalidField("protect_for", "FIELD_REQUIRED",
                        "protected_reason needs protect_for (1 second to 1 hour)");
  }
  const auto& d = req.protect_for();
  if (d.nanos() <= -1000000000 || d.nanos() >= 1000000000 || (d.seconds() > 0 && d.nanos() < 0) ||
      (d.seconds() < 0 && d.nanos() > 0)) {
    return InvalidField("protect_for", "VALUE_OUT_OF_RANGE", "not a valid duration");
  }
  move.protected_reason = req.protected_reason();
  move.protect_for = FromDurationProto(d);
  return ValidateProtection(move.protected_reason, move.protect_for);
}

// Who may read agents and watch them.
const std::vector<auth::Role> kReaders = {ROLE_TENANT_ADMIN, ROLE_SUPERVISOR, ROLE_VENDOR_ADMIN,
                                          ROLE_PLATFORM_SERVICE};

absl::StatusOr<WatchScope> ParseWatchScope(const v1::WatchAgentsRequest& req) {
  WatchScope scope;
  std::vector<absl::string_view> parts = absl::StrSplit(req.parent(), '/');
  if (parts.size() == 2 && parts[0] == "tenants" && !parts[1].empty()) {
    scope.tenant = std::string(parts[1]);
  } else if (parts.size() == 2 && parts[0] == "agentPools" && !parts[1].empty()) {
    scope.pool = std::string(parts[1]);
  } else {
    return InvalidField("parent", "MALFORMED_NAME", "must be tenants/{tenant} or agentPools/{pool}");
  }
  if (req.team().size() > 63) return InvalidField("team", "FIELD_TOO_LONG", "at most 63 characters");
  DG_RETURN_IF_ERROR(ValidateText("team", req.team()));
  scope.team = req.team();
  return scope;
}

// WatchAgents: a snapshot of the scope, then the changes as they come. The
// hub wakes the reactor (Pump) from the change feed's thread; the snapshot
// and every batch are built on the executor, one at a time, and one write
// is in flight at most: a client that reads slowly holds one message in
// gRPC's buffers and its watcher coalesces the rest (or resnapshots).
class WatchReactor final : public grpc::ServerWriteReactor<v1::WatchAgentsResponse> {
 public:
  WatchReactor(RpcEnv& env, AgentStateManager& manager, AgentWatchHub& hub, int max_pending,
               grpc::CallbackServerContext* ctx, const v1::WatchAgentsRequest* req)
      : env_(env),
        manager_(manager),
        hub_(hub),
        max_pending_(max_pending),
        ctx_(ctx),
        req_(*req),
        start_(env.clock->Now()),
        wake_(std::make_shared<Wake>()) {
    BeginCall(env_, ctx_, "WatchAgents", call_);
    wake_->reactor = this;
    std::lock_guard<std::mutex> lock(mu_);
    busy_ = true;
    if (!env_.executor->TrySubmit([this] { Begin(); })) {
      env_.metrics->Shed("WatchAgents");
      busy_ = false;
      FinishLocked(Unavailable("OVERLOADED", "the service is at capacity; retry with backoff"));
    }
  }

  void OnWriteDone(bool ok) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      busy_ = false;
      cv_.notify_all();
      if (!ok) {
        FinishLocked(absl::CancelledError("the client went away"));
        return;
      }
    }
    Pump();
  }

  void OnCancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    FinishLocked(absl::CancelledError("the client cancelled the watch"));
  }

  void OnDone() override {
    if (watcher_) hub_.Remove(watcher_.get());
    {
      std::lock_guard<std::mutex> lock(wake_->mu);
      wake_->reactor = nullptr;  // no wake reaches this any more
    }
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !running_; });
    lock.unlock();
    delete this;
  }

 private:
  // What the watcher's wake callback holds: it outlives the reactor.
  struct Wake {
    std::mutex mu;
    WatchReactor* reactor = nullptr;
  };

  void Begin() {
    SetRunning(true);
    absl::Status st = AuthorizeCall(env_, ctx_, req_, Of("parent", req_.parent()), kReaders, call_);
    absl::StatusOr<WatchScope> scope = st.ok() ? ParseWatchScope(req_) : st;
    if (!scope.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      busy_ = false;
      FinishLocked(scope.status());
      SetRunningLocked(false);
      return;
    }
    std::weak_ptr<Wake> weak = wake_;
    watcher_ = std::make_shared<AgentWatcher>(*scope, max_pending_, [weak] {
      auto w = weak.lock();
      if (!w) return;
      std::lock_guard<std::mutex> lock(w->mu);
      if (w->reactor != nullptr) w->reactor->Pump();
    });
    hub_.Add(watcher_);
    Drain();
  }

  // Something is pending: drain it on the executor unless already busy.
  void Pump() {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) return;
    if (busy_) {
      again_ = true;
      return;
    }
    busy_ = true;
    if (!env_.executor->TrySubmit([this] { Drain(); })) {
      busy_ = false;
      FinishLocked(Unavailable("OVERLOADED", "the service is at capacity; watch again"));
    }
  }

  // Runs on the executor with busy_ set: builds the next message and starts
  // its write (busy_ stays set until OnWriteDone), or clears busy_.
  void Drain() {
    SetRunning(true);
    while (true) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        again_ = false;
      }
      AgentWatcher::Next next = watcher_->Take();
      out_.Clear();
      if (next.snapshot) {
        std::set<std::string> pool_agents;
        auto statuses = manager_.Snapshot(watcher_->scope().tenant, watcher_->scope().pool,
                                          watcher_->scope().team, &pool_agents);
        if (!statuses.ok()) {
          std::lock_guard<std::mutex> lock(mu_);
          busy_ = false;
          FinishLocked(statuses.status());
          SetRunningLocked(false);
          return;
        }
        out_.set_snapshot(true);
        for (auto& s : watcher_->Snapshot(*std::move(statuses), std::move(pool_agents))) {
          *out_.add_statuses() = std::move(s);
        }
      } else {
        for (auto& s : next.changes) *out_.add_statuses() = std::move(s);
      }
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_) {
        busy_ = false;
        SetRunningLocked(false);
        return;
      }
      if (next.snapshot || out_.statuses_size() > 0) {
        StartWrite(&out_);
        SetRunningLocked(false);
        return;
      }
      if (!again_) {
        busy_ = false;
        SetRunningLocked(false);
        return;
      }
    }
  }

  void SetRunning(bool running) {
    std::lock_guard<std::mutex> lock(mu_);
    SetRunningLocked(running);
  }
  void SetRunningLocked(bool running) {
    running_ = running;
    cv_.notify_all();
  }

  void FinishLocked(const absl::Status& st) {
    if (finished_) return;
    finished_ = true;
    EndCall(env_, call_, start_, st);
    Finish(ToGrpcStatus(st, env_.error_domain));
  }

  RpcEnv& env_;
  AgentStateManager& manager_;
  AgentWatchHub& hub_;
  const int max_pending_;
  grpc::CallbackServerContext* ctx_;
  const v1::WatchAgentsRequest req_;
  const absl::Time start_;
  CallContext call_;
  std::shared_ptr<Wake> wake_;
  std::shared_ptr<AgentWatcher> watcher_;
  v1::WatchAgentsResponse out_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool busy_ = false;     // a drain runs or a write is in flight
  bool again_ = false;    // woken while busy
  bool running_ = false;  // a task of this reactor is on the executor
  bool finished_ = false;
};

}  // namespace

grpc::ServerWriteReactor<v1::WatchAgentsResponse>* AgentStateServiceImpl::WatchAgents(
    grpc::CallbackServerContext* ctx, const v1::WatchAgentsRequest* req) {
  return new WatchReactor(env_, manager_, hub_, max_pending_, ctx, req);
}

grpc::ServerUnaryReactor* AgentStateServiceImpl::GetAgentKpis(grpc::CallbackServerContext* ctx,
                                                              const v1::GetAgentKpisRequest* req,
                                                              v1::AgentKpis* resp) {
  // A tenant's part of a pool agent is that tenant's resource.
  const Resource resource =
      req->tenant().empty() ? Of("name", req->name()) : Resource{"tenant", req->tenant()};
  return ServeUnary(
      env_, ctx, "GetAgentKpis", *req, resource, kReaders,
      [=](const CallContext&) -> absl::Status {
        DG_ASSIGN_OR_RETURN(AgentKey key, ParseAgentName(req->name()));
        DG_ASSIGN_OR_RETURN(absl::CivilDay day, ::dialgrid::DayOf("day", req->day()));
        std::string part;
        if (!req->tenant().empty()) {
          DG_ASSIGN_OR_RETURN(part, TenantOfName("tenant", req->tenant()));
          if (req->tenant() != "tenants/" + part) {
            return InvalidField("tenant", "MALFORMED_NAME", "must be tenants/{tenant}");
          }
          if (!key.scope.empty()) {
            return InvalidField("tenant", "NOT_A_POOL_AGENT",
                                "only a pool agent's KPIs have a part per tenant");
          }
          // Only while the pool agent is granted to the tenant; otherwise
          // the same answer as any resource of another scope.
          auto agent = manager_.GetAgent(key);
          bool granted = false;
          if (agent.ok()) {
            for (const auto& c : agent->campaigns()) {
              granted = granted || absl::StartsWith(c, req->tenant() + "/campaigns/");
            }
          }
          if (!granted) {
            return PermissionDenied("TENANT_MISMATCH",
                                    "the caller may not access resources of this tenant");
          }
        }
        return Into(manager_.GetAgentKpis(key, day, part), resp);
      });
}

grpc::ServerUnaryReactor* AgentStateServiceImpl::GetTeamKpis(grpc::CallbackServerContext* ctx,
                                                             const v1::GetTeamKpisRequest* req,
                                                             v1::TeamKpis* resp) {
  return ServeUnary(env_, ctx, "GetTeamKpis", *req, Of("parent", req->parent()), kReaders,
                    [=](const CallContext&) -> absl::Status {
                      DG_ASSIGN_OR_RETURN(absl::CivilDay day, ::dialgrid::DayOf("day", req->day()));
                      if (!req->team().empty()) {
                        DG_RETURN_IF_ERROR(ValidateText("team", req->team()));
                      }
                      return Into(manager_.GetTeamKpis(req->parent(), req->team(), day), resp);
                    });
}

grpc::ServerUnaryReactor* AgentStateServiceImpl::GetAgentSettings(
    grpc::CallbackServerContext* ctx, const v1::GetAgentSettingsRequest* req,
    v1::AgentSettings* resp) {
  // Desktops read the reason codes too.
  return ServeUnary(env_, ctx, "GetAgentSettings", *req, Of("name", req->name()),
                    {ROLE_TENANT_ADMIN, ROLE_SUPERVISOR, ROLE_AGENT, ROLE_VENDOR_ADMIN,
                     ROLE_PLATFORM_SERVICE},
                    [=](const CallContext&) { return Into(manager_.GetSettings(req->name()), resp); });
}

grpc::ServerUnaryReactor* AgentStateServiceImpl::UpdateAgentSettings(
    grpc::CallbackServerContext* ctx, const v1::UpdateAgentSettingsRequest* req,
    v1::AgentSettings* resp) {
  return ServeUnary(env_, ctx, "UpdateAgentSettings", *req,
                    Of("settings.name", req->settings().name()),
                    {ROLE_TENANT_ADMIN, ROLE_VENDOR_ADMIN}, [=](const CallContext&) {
                      std::vector<std::string> mask(req->update_mask().paths().begin(),
                                                    req->update_mask().paths().end());
                      return Into(manager_.UpdateSettings(req->settings(), mask), resp);
                    });
}

grpc::ServerUnaryReactor* AgentStateServiceImpl::ListAgents(grpc::CallbackServerContext* ctx,
                                                            const v1::ListAgentsRequest* req,
                                                            v1::ListAgentsResponse* resp) {
  return ServeUnary(env_, ctx, "ListAgents", *req, Of("parent", req->parent()), kReaders,
                    [=](const CallContext&) -> absl::Status {
                      DG_ASSIGN_OR_RETURN(auto page,
                                          manager_.ListAgents(req->parent(), req->team(),
                                                              req->page_size(), req->page_token()));
                      for (auto& a : page.agents) *resp->add_agents() = std::move(a);
                      resp->set_next_page_token(page.next_page_token);
                      return absl::OkStatus();
                    });
}

grpc::ServerUnaryReactor* AgentStateServiceImpl::UpdateAgent(grpc::CallbackServerContext* ctx,
                                                             const v1::UpdateAgentRequest* req,
                                                             v1::Agent* resp) {
  return ServeUnary(env_, ctx, "UpdateAgent", *req, Of("agent.name", req->agent().name()),
                    {ROLE_TENANT_ADMIN, ROLE_VENDOR_ADMIN},
                    [=](const CallContext&) -> absl::Status {
                      std::vector<std::string> mask(req->update_mask().paths().begin(),
                                                    req->update_mask().paths().end());
                      return Into(manager_.UpdateAgent(req->agent(), mask), resp);
                    });
}

grpc::ServerUnaryReactor* AgentStateServiceImpl::DeleteAgent(grpc::CallbackServerContext* ctx,
                                                             const v1::DeleteAgentRequest* req,
                                                             v1::DeleteAgentResponse*) {
  return ServeUnary(env_, ctx, "DeleteAgent", *req, Of("name", req->name()),
                    {ROLE_TENANT_ADMIN, ROLE_VENDOR_ADMIN},
                    [=](const CallContext&) -> absl::Status {
                      DG_ASSIGN_OR_RETURN(AgentKey key, ParseAgentName(req->name()));
                      return manager_.DeleteAgent(key, req->etag());
                    });
}

grpc::ServerUnaryReactor* AgentStateServiceImpl::SetPoolGrant(grpc::CallbackServerContext* ctx,
                                                              const v1::SetPoolGrantRequest* req,
                                                              v1::Agent* resp) {
  // The vendor lends its agents: vendor admins only.
  return ServeUnary(env_, ctx, "SetPoolGrant", *req, Of("grant.agent", req->grant().agent()),
                    {ROLE_VENDOR_ADMIN}, [=](const CallContext&) -> absl::Status {
                      DG_ASSIGN_OR_RETURN(AgentKey key, ParseAgentName(req->grant().agent()));
                      DG_ASSIGN_OR_RETURN(std::string tenant,
                                          TenantOfName("grant.tenant", req->grant().tenant()));
                      if (req->grant().tenant() != "tenants/" + tenant) {
                        return InvalidField("grant.tenant", "MALFORMED_NAME",
                                            "must be tenants/{tenant}");
                      }
                      std::vector<std::string> campaigns(req->grant().campaigns().begin(),
                                                         req->grant().campaigns().end());
                      return Into(manager_.SetPoolGrant(key, tenant, campaigns), resp);
                    });
}

grpc::ServerUnaryReactor* AgentStateServiceImpl::CreateAgent(grpc::CallbackServerContext* ctx,
                                                             const v1::CreateAgentRequest* req,
                                                             v1::Agent* resp) {
  return ServeUnary(
      env_, ctx, "CreateAgent", *req, Of("parent", req->parent()),
      {ROLE_TENANT_ADMIN, ROLE_VENDOR_ADMIN}, [=](const CallContext&) -> absl::Status {
        auto key = ParseAgentName(req->parent() + "/agents/" + req->agent_id());
        if (!key.ok()) return InvalidField("agent_id", "MALFORMED_NAME", key.status().message());
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
                    [=](const CallContext& call) -> absl::Status {
                      DG_RETURN_IF_ERROR(check);  // after authorization
                      // A credential bound to an agent moves that agent only.
                      DG_RETURN_IF_ERROR(auth::RequireActingAs(call.principal, name));
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
        r.agent = req->agent();
        auto reserved = manager_.Reserve(r);
        if (!reserved.ok()) return reserved.status();
        resp->set_agent(AgentName(reserved->agent));
        resp->set_call_id(reserved->status.call_id);
        *resp->mutable_expire_time() = ToTimestamp(reserved->status.timer);
        *resp->mutable_idle() = ToDurationProto(reserved->idle);
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
  absl::Status check = ProtectionOf(*req, m);
  return ServeMove(ctx, "EndCall", *req, req->name(), {ROLE_PLATFORM_SERVICE}, m, resp, check);
}

}  // namespace dialgrid::agentstate
