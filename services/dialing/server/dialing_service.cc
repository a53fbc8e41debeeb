#include "services/dialing/server/dialing_service.h"

#include <algorithm>
#include <condition_variable>
#include <limits>
#include <memory>
#include <mutex>

#include "services/common/auth/principal.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/core/pages.h"
#include "services/common/core/proto_time.h"
#include "services/common/core/status_macros.h"
#include "services/common/server/grpc_status.h"
#include "services/dialing/domain/campaign_rules.h"

namespace dialgrid::dialing {
namespace {

using tenancy::v1::ROLE_AGENT;
using tenancy::v1::ROLE_INTEGRATION;
using tenancy::v1::ROLE_PLATFORM_SERVICE;
using tenancy::v1::ROLE_SUPERVISOR;
using tenancy::v1::ROLE_TENANT_ADMIN;
using tenancy::v1::ROLE_VENDOR_ADMIN;

// Who defines campaigns, who runs them, who reads them.
const std::vector<auth::Role> kWriters = {ROLE_TENANT_ADMIN, ROLE_INTEGRATION};
const std::vector<auth::Role> kOperators = {ROLE_TENANT_ADMIN, ROLE_SUPERVISOR, ROLE_INTEGRATION};
const std::vector<auth::Role> kReaders = {ROLE_TENANT_ADMIN, ROLE_SUPERVISOR, ROLE_INTEGRATION,
                                          ROLE_VENDOR_ADMIN, ROLE_PLATFORM_SERVICE};
// Who reads calls, who gives their dispositions (the agent on the call, or
// a supervisor).
const std::vector<auth::Role> kCallReaders = {ROLE_TENANT_ADMIN, ROLE_SUPERVISOR, ROLE_AGENT,
                                              ROLE_INTEGRATION, ROLE_VENDOR_ADMIN,
                                              ROLE_PLATFORM_SERVICE};
const std::vector<auth::Role> kDisposers = {ROLE_AGENT, ROLE_SUPERVISOR, ROLE_TENANT_ADMIN};
// Who dials as an agent (the agent's desktop, or an integration driving it).
const std::vector<auth::Role> kAgentDialers = {ROLE_AGENT, ROLE_SUPERVISOR, ROLE_TENANT_ADMIN,
                                               ROLE_INTEGRATION};

// Who flags an abusive caller (the agent on the call, or a supervisor), who
// manages the block list.
const std::vector<auth::Role> kFlaggers = {ROLE_AGENT, ROLE_SUPERVISOR, ROLE_TENANT_ADMIN};
const std::vector<auth::Role> kBlockListReaders = {ROLE_TENANT_ADMIN, ROLE_SUPERVISOR,
                                                   ROLE_INTEGRATION, ROLE_VENDOR_ADMIN};
const std::vector<auth::Role> kBlockListWriters = {ROLE_TENANT_ADMIN, ROLE_SUPERVISOR};
// Who rests a caller ID by hand (a supervisor, or an integration relaying a
// carrier's reputation feed).
const std::vector<auth::Role> kCallerIdResters = {ROLE_TENANT_ADMIN, ROLE_SUPERVISOR,
                                                  ROLE_INTEGRATION};

absl::Status CheckReason(const std::string& reason) {
  if (reason.empty()) return InvalidField("reason", "FIELD_REQUIRED", "say why");
  if (reason.size() > 200) return InvalidField("reason", "FIELD_TOO_LONG", "at most 200 characters");
  return absl::OkStatus();
}

// A credential bound to an agent acts on that agent's calls only.
absl::Status CheckCallAgent(Dialer& dialer, const CallContext& call, const std::string& tenant,
                            const std::string& call_id) {
  if (call.principal.agent.empty()) return absl::OkStatus();
  auto c = dialer.GetCall(tenant, call_id);
  if (!c.ok()) return c.status();
  return auth::RequireActingAs(call.principal, c->agent());
}

// The agent of an agent's own dial: the campaign tenant's agent or a pool
// agent (agent state checks that it takes the campaign's calls).
absl::Status CheckAgentName(const std::string& tenant, const std::string& agent) {
  if (agent.empty()) return InvalidField("agent", "FIELD_REQUIRED", "the agent is required");
  auto own = ParseName("agent", agent, "tenants/{tenant}/agents/{agent}");
  if (own.ok()) {
    if ((*own)[0] != tenant) {
      return PermissionDenied("AGENT_OF_ANOTHER_TENANT", "the agent is not the campaign tenant's");
    }
    return absl::OkStatus();
  }
  auto pool = ParseName("agent", agent, "agentPools/{pool}/agents/{agent}");
  if (pool.ok()) return absl::OkStatus();
  return InvalidField("agent", "MALFORMED_NAME",
                      "must be tenants/{tenant}/agents/{agent} or agentPools/{pool}/agents/{agent}");
}

// E.164: '+', then 7 to 15 digits, the first not 0.
bool IsE164(const std::string& n) {
  if (n.size() < 8 || n.size() > 16 || n[0] != '+' || n[1] < '1' || n[1] > '9') return false;
  for (size_t i = 2; i < n.size(); ++i) {
    if (n[i] < '0' || n[i] > '9') return false;
  }
  return true;
}

// WatchCampaign: the campaign's progress at once, then again whenever it
// changes, polled every progress period (the owner writes its figures to
// Redis that often). Polls run on the executor, one at a time, and one write
// is in flight at most; a timer that fires after the call ended finds no
// reactor (Life) and does nothing.
class CampaignWatch final : public grpc::ServerWriteReactor<v1::CampaignProgress> {
 public:
  CampaignWatch(RpcEnv& env, Dialer& dialer, grpc::CallbackServerContext* ctx,
                const v1::WatchCampaignRequest* req)
      : env_(env),
        dialer_(dialer),
        ctx_(ctx),
        req_(*req),
        start_(env.clock->Now()),
        life_(std::make_shared<Life>()) {
    BeginCall(env_, ctx_, "WatchCampaign", call_);
    life_->reactor = this;
    Submit(true);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      std::lock_guard<std::mutex> lock(mu_);
      FinishLocked(absl::CancelledError("the client went away"));
      return;
    }
    PollLater();
  }

  void OnCancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    FinishLocked(absl::CancelledError("the client cancelled the watch"));
  }

  void OnDone() override {
    {
      std::lock_guard<std::mutex> lock(life_->mu);
      life_->reactor = nullptr;  // no timer reaches this any more
    }
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return running_ == 0; });
    lock.unlock();
    delete this;
  }

 private:
  struct Life {
    std::mutex mu;
    CampaignWatch* reactor = nullptr;
  };

  // Runs Poll (the first time after the call's checks) on the executor.
  void Submit(bool first) {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) return;
    ++running_;
    if (!env_.executor->TrySubmit([this, first] { Poll(first); })) {
      --running_;
      env_.metrics->Shed("WatchCampaign");
      FinishLocked(Unavailable("OVERLOADED", "the service is at capacity; watch again"));
    }
  }

  void PollLater() {
    std::weak_ptr<Life> weak = life_;
    dialer_.scheduler().After(dialer_.progress_period(), [weak] {
      auto life = weak.lock();
      if (!life) return;
      std::lock_guard<std::mutex> lock(life->mu);
      if (life->reactor != nullptr) life->reactor->Submit(false);
    });
  }

  void Poll(bool first) {
    absl::Status st;
    if (first) {
      st = AuthorizeCall(env_, ctx_, req_, Resource{"name", req_.name()}, kReaders, call_);
      if (st.ok()) {
        auto key = ParseCampaignName("name", req_.name());
        if (key.ok()) key_ = *key;
        st = key.status();
      }
    }
    absl::StatusOr<v1::CampaignProgress> progress =
        st.ok() ? dialer_.Progress(key_.tenant, key_.id) : st;
    bool write = false;
    if (progress.ok()) {
      v1::CampaignProgress bare = *progress;  // what changed, whatever the time
      bare.clear_update_time();
      const std::string now = bare.SerializeAsString();
      write = first || now != last_;
      last_ = now;
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (!progress.ok()) {
      FinishLocked(progress.status());
    } else if (!finished_ && write) {
      out_ = *std::move(progress);
      StartWrite(&out_);
    } else if (!finished_) {
      PollLater();
    }
    --running_;
    cv_.notify_all();
  }

  void FinishLocked(const absl::Status& st) {
    if (finished_) return;
    finished_ = true;
    EndCall(env_, call_, start_, st);
    Finish(ToGrpcStatus(st, env_.error_domain));
  }

  RpcEnv& env_;
  Dialer& dialer_;
  grpc::CallbackServerContext* ctx_;
  const v1::WatchCampaignRequest req_;
  const absl::Time start_;
  CallContext call_;
  CampaignKey key_;
  std::string last_;
  v1::CampaignProgress out_;
  std::shared_ptr<Life> life_;
  std::mutex mu_;
  std::condition_variable cv_;
  int running_ = 0;
  bool finished_ = false;
};

}  // namespace

CampaignManager::Caller DialingServiceImpl::CallerOf(const CallContext& call) const {
  CampaignManager::Caller c;
  c.actor = call.principal.credential;
  c.deadline = call.deadline;
  c.time_zone = tenant_zone_(call.resource_tenant);
  return c;
}

grpc::ServerUnaryReactor* DialingServiceImpl::CreateCampaign(grpc::CallbackServerContext* ctx,
                                                             const v1::CreateCampaignRequest* req,
                                                             v1::Campaign* resp) {
  return ServeUnary(env_, ctx, "CreateCampaign", *req, Resource{"parent", req->parent()}, kWriters,
                    [=](const CallContext& call) {
                      return Into(campaigns_.Create(*req, CallerOf(call)), resp);
                    });
}

grpc::ServerUnaryReactor* DialingServiceImpl::GetCampaign(grpc::CallbackServerContext* ctx,
                                                          const v1::GetCampaignRequest* req,
                                                          v1::Campaign* resp) {
  return ServeUnary(env_, ctx, "GetCampaign", *req, Resource{"name", req->name()}, kReaders,
                    [=](const CallContext&) -> absl::Status {
                      DG_ASSIGN_OR_RETURN(CampaignKey key, ParseCampaignName("name", req->name()));
                      return Into(campaigns_.Get(key), resp);
                    });
}

grpc::ServerUnaryReactor* DialingServiceImpl::ListCampaigns(grpc::CallbackServerContext* ctx,
                                                            const v1::ListCampaignsRequest* req,
                                                            v1::ListCampaignsResponse* resp) {
  return ServeUnary(env_, ctx, "ListCampaigns", *req, Resource{"parent", req->parent()}, kReaders,
                    [=](const CallContext&) { return Into(campaigns_.List(*req), resp); });
}

grpc::ServerUnaryReactor* DialingServiceImpl::UpdateCampaign(grpc::CallbackServerContext* ctx,
                                                             const v1::UpdateCampaignRequest* req,
                                                             v1::Campaign* resp) {
  return ServeUnary(env_, ctx, "UpdateCampaign", *req,
                    Resource{"campaign.name", req->campaign().name()}, kWriters,
                    [=](const CallContext& call) {
                      std::vector<std::string> mask(req->update_mask().paths().begin(),
                                                    req->update_mask().paths().end());
                      return Into(campaigns_.Update(req->campaign(), mask, CallerOf(call)), resp);
                    });
}

grpc::ServerUnaryReactor* DialingServiceImpl::DeleteCampaign(grpc::CallbackServerContext* ctx,
                                                             const v1::DeleteCampaignRequest* req,
                                                             v1::DeleteCampaignResponse*) {
  return ServeUnary(env_, ctx, "DeleteCampaign", *req, Resource{"name", req->name()}, kWriters,
                    [=](const CallContext& call) -> absl::Status {
                      DG_ASSIGN_OR_RETURN(CampaignKey key, ParseCampaignName("name", req->name()));
                      return campaigns_.Delete(key, req->etag(), CallerOf(call));
                    });
}

grpc::ServerUnaryReactor* DialingServiceImpl::ServeTransition(
    grpc::CallbackServerContext* ctx, const char* method, const google::protobuf::Message& req,
    const std::string& name, CampaignAction action, const std::string& reason,
    v1::Campaign* resp) {
  return ServeUnary(env_, ctx, method, req, Resource{"name", name}, kOperators,
                    [=](const CallContext& call) -> absl::Status {
                      DG_ASSIGN_OR_RETURN(CampaignKey key, ParseCampaignName("name", name));
                      return Into(campaigns_.Transition(key, action, reason, CallerOf(call)), resp);
                    });
}

grpc::ServerUnaryReactor* DialingServiceImpl::StartCampaign(grpc::CallbackServerContext* ctx,
                                                            const v1::StartCampaignRequest* req,
                                                            v1::Campaign* resp) {
  return ServeTransition(ctx, "StartCampaign", *req, req->name(), CampaignAction::kStart, "", resp);
}

grpc::ServerUnaryReactor* DialingServiceImpl::PauseCampaign(grpc::CallbackServerContext* ctx,
                                                            const v1::PauseCampaignRequest* req,
                                                            v1::Campaign* resp) {
  return ServeTransition(ctx, "PauseCampaign", *req, req->name(), CampaignAction::kPause,
                         req->reason(), resp);
}

grpc::ServerUnaryReactor* DialingServiceImpl::ResumeCampaign(grpc::CallbackServerContext* ctx,
                                                             const v1::ResumeCampaignRequest* req,
                                                             v1::Campaign* resp) {
  return ServeTransition(ctx, "ResumeCampaign", *req, req->name(), CampaignAction::kResume, "",
                         resp);
}

grpc::ServerUnaryReactor* DialingServiceImpl::StopCampaign(grpc::CallbackServerContext* ctx,
                                                           const v1::StopCampaignRequest* req,
                                                           v1::Campaign* resp) {
  return ServeTransition(ctx, "StopCampaign", *req, req->name(), CampaignAction::kStop,
                         req->reason(), resp);
}

grpc::ServerUnaryReactor* DialingServiceImpl::GetCall(grpc::CallbackServerContext* ctx,
                                                      const v1::GetCallRequest* req,
                                                      v1::Call* resp) {
  return ServeUnary(env_, ctx, "GetCall", *req, Resource{"name", req->name()}, kCallReaders,
                    [=](const CallContext&) -> absl::Status {
                      DG_ASSIGN_OR_RETURN(auto ids,
                                          ParseName("name", req->name(), "tenants/{tenant}/calls/{call}"));
                      return Into(dialer_.GetCall(ids[0], ids[1]), resp);
                    });
}

grpc::ServerUnaryReactor* DialingServiceImpl::SetDisposition(grpc::CallbackServerContext* ctx,
                                                             const v1::SetDispositionRequest* req,
                                                             v1::Call* resp) {
  return ServeUnary(env_, ctx, "SetDisposition", *req, Resource{"name", req->name()}, kDisposers,
                    [=](const CallContext& call) -> absl::Status {
                      DG_ASSIGN_OR_RETURN(auto ids,
                                          ParseName("name", req->name(), "tenants/{tenant}/calls/{call}"));
                      DG_RETURN_IF_ERROR(CheckCallAgent(dialer_, call, ids[0], ids[1]));
                      if (req->code().empty()) {
                        return InvalidField("code", "FIELD_REQUIRED", "code is required");
                      }
                      absl::Time callback = req->has_callback_time()
                                                ? FromTimestamp(req->callback_time())
                                                : absl::InfinitePast();
                      return Into(dialer_.SetDisposition(ids[0], ids[1], req->code(), callback,
                                                         call.principal.credential,
                                                         req->agent_callback()),
                                  resp);
                    });
}

grpc::ServerUnaryReactor* DialingServiceImpl::PreviewContact(grpc::CallbackServerContext* ctx,
                                                             const v1::PreviewContactRequest* req,
                                                             v1::PreviewContactResponse* resp) {
  return ServeUnary(env_, ctx, "PreviewContact", *req, Resource{"campaign", req->campaign()},
                    kAgentDialers, [=](const CallContext& call) -> absl::Status {
                      DG_ASSIGN_OR_RETURN(CampaignKey key,
                                          ParseCampaignName("campaign", req->campaign()));
                      DG_RETURN_IF_ERROR(CheckAgentName(key.tenant, req->agent()));
                      DG_RETURN_IF_ERROR(auth::RequireActingAs(call.principal, req->agent()));
                      auto p = dialer_.PreviewContact(key.tenant, key.id, req->agent());
                      if (!p.ok()) {
                        return OrForward(
                            p.status(), ctx, call,
                            [&] { return dialer_.OwnerAddress(key.tenant, key.id); },
                            &v1::DialingService::Stub::PreviewContact, *req, resp);
                      }
                      *resp->mutable_call() = std::move(p->call);
                      *resp->mutable_contact() = std::move(p->contact);
                      *resp->mutable_expire_time() = ToTimestamp(p->expire_time);
                      return absl::OkStatus();
                    });
}

grpc::ServerUnaryReactor* DialingServiceImpl::DialPreview(grpc::CallbackServerContext* ctx,
                                                          const v1::DialPreviewRequest* req,
                                                          v1::Call* resp) {
  return ServeUnary(env_, ctx, "DialPreview", *req, Resource{"name", req->name()}, kAgentDialers,
                    [=](const CallContext& call) -> absl::Status {
                      DG_ASSIGN_OR_RETURN(auto ids,
                                          ParseName("name", req->name(), "tenants/{tenant}/calls/{call}"));
                      DG_RETURN_IF_ERROR(CheckCallAgent(dialer_, call, ids[0], ids[1]));
                      return OrForward(
                          Into(dialer_.DialPreview(ids[0], ids[1]), resp), ctx, call,
                          [&] { return dialer_.CallOwnerAddress(ids[0], ids[1]); },
                          &v1::DialingService::Stub::DialPreview, *req, resp);
                    });
}

grpc::ServerUnaryReactor* DialingServiceImpl::SkipPreview(grpc::CallbackServerContext* ctx,
                                                          const v1::SkipPreviewRequest* req,
                                                          v1::Call* resp) {
  return ServeUnary(env_, ctx, "SkipPreview", *req, Resource{"name", req->name()}, kAgentDialers,
                    [=](const CallContext& call) -> absl::Status {
                      DG_ASSIGN_OR_RETURN(auto ids,
                                          ParseName("name", req->name(), "tenants/{tenant}/calls/{call}"));
                      DG_RETURN_IF_ERROR(CheckCallAgent(dialer_, call, ids[0], ids[1]));
                      if (req->reason().size() > 200) {
                        return InvalidField("reason", "FIELD_TOO_LONG", "at most 200 characters");
                      }
                      return OrForward(
                          Into(dialer_.SkipPreview(ids[0], ids[1], req->reason()), resp), ctx, call,
                          [&] { return dialer_.CallOwnerAddress(ids[0], ids[1]); },
                          &v1::DialingService::Stub::SkipPreview, *req, resp);
                    });
}

grpc::ServerUnaryReactor* DialingServiceImpl::ManualDial(grpc::CallbackServerContext* ctx,
                                                         const v1::ManualDialRequest* req,
                                                         v1::Call* resp) {
  return ServeUnary(env_, ctx, "ManualDial", *req, Resource{"campaign", req->campaign()},
                    kAgentDialers, [=](const CallContext& call) -> absl::Status {
                      DG_ASSIGN_OR_RETURN(CampaignKey key,
                                          ParseCampaignName("campaign", req->campaign()));
                      DG_RETURN_IF_ERROR(CheckAgentName(key.tenant, req->agent()));
                      DG_RETURN_IF_ERROR(auth::RequireActingAs(call.principal, req->agent()));
                      if (!IsE164(req->phone_number())) {
                        return InvalidField("phone_number", "INVALID_PHONE_NUMBER",
                                            "an E.164 number is required, e.g. +442079460123");
                      }
                      if (!req->contact().empty()) {
                        auto c = ParseName("contact", req->contact(),
                                           "tenants/{tenant}/contactLists/{list}/contacts/{contact}");
                        if (!c.ok()) return c.status();
                        if ((*c)[0] != key.tenant) {
                          return PermissionDenied("CONTACT_OF_ANOTHER_TENANT",
                                                  "the contact is not the campaign tenant's");
                        }
                      }
                      if (!req->debt().empty() && !ValidDebt(req->debt())) {
                        return InvalidField("debt", "INVALID_DEBT",
                                            "1-128 characters of [A-Za-z0-9._:-]");
                      }
                      return OrForward(
                          Into(dialer_.ManualDial(key.tenant, key.id, req->agent(),
                                                  req->phone_number(), req->contact(), req->debt()),
                               resp),
                          ctx, call, [&] { return dialer_.OwnerAddress(key.tenant, key.id); },
                          &v1::DialingService::Stub::ManualDial, *req, resp);
                    });
}

grpc::ServerWriteReactor<v1::CampaignProgress>* DialingServiceImpl::WatchCampaign(
    grpc::CallbackServerContext* ctx, const v1::WatchCampaignRequest* req) {
  return new CampaignWatch(env_, dialer_, ctx, req);
}

grpc::ServerUnaryReactor* DialingServiceImpl::FlagAbusiveCaller(
    grpc::CallbackServerContext* ctx, const v1::FlagAbusiveCallerRequest* req, v1::Call* resp) {
  return ServeUnary(env_, ctx, "FlagAbusiveCaller", *req, Resource{"name", req->name()}, kFlaggers,
                    [=](const CallContext& call) -> absl::Status {
                      DG_ASSIGN_OR_RETURN(auto ids,
                                          ParseName("name", req->name(), "tenants/{tenant}/calls/{call}"));
                      DG_RETURN_IF_ERROR(CheckCallAgent(dialer_, call, ids[0], ids[1]));
                      DG_RETURN_IF_ERROR(CheckReason(req->reason()));
                      return OrForward(
                          Into(dialer_.FlagAbusiveCaller(ids[0], ids[1], call.principal.credential,
                                                         req->reason()),
                               resp),
                          ctx, call, [&] { return dialer_.CallOwnerAddress(ids[0], ids[1]); },
                          &v1::DialingService::Stub::FlagAbusiveCaller, *req, resp);
                    });
}

grpc::ServerUnaryReactor* DialingServiceImpl::ListBlockedNumbers(
    grpc::CallbackServerContext* ctx, const v1::ListBlockedNumbersRequest* req,
    v1::ListBlockedNumbersResponse* resp) {
  return ServeUnary(
      env_, ctx, "ListBlockedNumbers", *req, Resource{"parent", req->parent()}, kBlockListReaders,
      [=](const CallContext&) -> absl::Status {
        DG_ASSIGN_OR_RETURN(auto parent, ParseName("parent", req->parent(), "tenants/{tenant}"));
        DG_ASSIGN_OR_RETURN(int size, EffectivePageSize(req->page_size()));
        DG_ASSIGN_OR_RETURN(std::string after, DecodePageToken(req->page_token()));
        DG_ASSIGN_OR_RETURN(std::vector<v1::BlockedNumber> all, dialer_.BlockedNumbers(parent[0]));
        // Newest first; the key "<inverted ms>|<digits>" orders them and
        // is where the next page starts.
        auto key = [](const v1::BlockedNumber& b) {
          const int64_t ms = absl::ToUnixMillis(FromTimestamp(b.block_time()));
          return absl::StrCat(absl::Dec(std::numeric_limits<int64_t>::max() - ms, absl::kZeroPad20),
                              "|", b.number());
        };
        std::sort(all.begin(), all.end(),
                  [&](const v1::BlockedNumber& x, const v1::BlockedNumber& y) { return key(x) < key(y); });
        for (const auto& b : all) {
          if (!after.empty() && key(b) <= after) continue;
          if (resp->blocked_numbers_size() == size) {
            resp->set_next_page_token(EncodePageToken(key(resp->blocked_numbers(size - 1))));
            break;
          }
          *resp->add_blocked_numbers() = b;
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* DialingServiceImpl::UnblockNumber(grpc::CallbackServerContext* ctx,
                                                            const v1::UnblockNumberRequest* req,
                                                            v1::BlockedNumber* resp) {
  return ServeUnary(env_, ctx, "UnblockNumber", *req, Resource{"name", req->name()},
                    kBlockListWriters, [=](const CallContext& call) -> absl::Status {
                      DG_ASSIGN_OR_RETURN(auto ids, ParseName("name", req->name(),
                                                              "tenants/{tenant}/blockedNumbers/{number}"));
                      DG_RETURN_IF_ERROR(CheckReason(req->reason()));
                      return Into(dialer_.UnblockNumber(ids[0], ids[1],
                                                        call.principal.credential, req->reason()),
                                  resp);
                    });
}

grpc::ServerUnaryReactor* DialingServiceImpl::SetCallerIdRest(
    grpc::CallbackServerContext* ctx, const v1::SetCallerIdRestRequest* req,
    v1::CallerIdStatus* resp) {
  return ServeUnary(
      env_, ctx, "SetCallerIdRest", *req, Resource{"campaign", req->campaign()}, kCallerIdResters,
      [=](const CallContext& call) -> absl::Status {
        DG_ASSIGN_OR_RETURN(CampaignKey key, ParseCampaignName("campaign", req->campaign()));
        if (!IsE164(req->caller_id())) {
          return InvalidField("caller_id", "INVALID_PHONE_NUMBER",
                              "an E.164 number is required, e.g. +13125550100");
        }
        const auto& d = req->rest_duration();
        const bool zero = d.seconds() == 0 && d.nanos() == 0;
        if (!zero && (d.seconds() < 60 || d.seconds() > 30 * 86400 || d.nanos() < 0 ||
                      d.nanos() > 999999999 || (d.seconds() == 30 * 86400 && d.nanos() > 0))) {
          return InvalidField("rest_duration", "VALUE_OUT_OF_RANGE",
                              "1 minute to 30 days, or zero to end the rest");
        }
        DG_RETURN_IF_ERROR(CheckReason(req->reason()));
        return OrForward(
            Into(dialer_.SetCallerIdRest(key.tenant, key.id, req->caller_id(),
                                         FromDurationProto(d), req->reason(),
                                         call.principal.credential),
                 resp),
            ctx, call, [&] { return dialer_.OwnerAddress(key.tenant, key.id); },
            &v1::DialingService::Stub::SetCallerIdRest, *req, resp);
      });
}

}  // namespace dialgrid::dialing
