#pragma once

#include <functional>
#include <string>

#include "dialgrid/dialing/v1/dialing.grpc.pb.h"
#include "services/common/server/rpc.h"
#include "services/dialing/application/campaign_manager.h"
#include "services/dialing/application/dialer.h"
#include "services/dialing/server/owner_forwarder.h"

namespace dialgrid::dialing {

// gRPC handlers of DialingService: who may call what (roles, the resource's
// tenant), then the campaign manager.
class DialingServiceImpl final : public v1::DialingService::CallbackService {
 public:
  // `tenant_zone`: a tenant's IANA time zone (tenancy's), for defaults.
  // `dialer`: the call path (GetCall, SetDisposition).
  // `forwarder`: what only a campaign's owner serves goes there from other
  // replicas (null: answered UNAVAILABLE NOT_CAMPAIGN_OWNER / NOT_CALL_OWNER).
  DialingServiceImpl(RpcEnv& env, CampaignManager& campaigns, Dialer& dialer,
                     std::function<std::string(const std::string&)> tenant_zone,
                     OwnerForwarder* forwarder = nullptr)
      : env_(env),
        campaigns_(campaigns),
        dialer_(dialer),
        tenant_zone_(std::move(tenant_zone)),
        forwarder_(forwarder) {}

  grpc::ServerUnaryReactor* CreateCampaign(grpc::CallbackServerContext* ctx,
                                           const v1::CreateCampaignRequest* req,
                                           v1::Campaign* resp) override;
  grpc::ServerUnaryReactor* GetCampaign(grpc::CallbackServerContext* ctx,
                                        const v1::GetCampaignRequest* req,
                                        v1::Campaign* resp) override;
  grpc::ServerUnaryReactor* ListCampaigns(grpc::CallbackServerContext* ctx,
                                          const v1::ListCampaignsRequest* req,
                                          v1::ListCampaignsResponse* resp) override;
  grpc::ServerUnaryReactor* UpdateCampaign(grpc::CallbackServerContext* ctx,
                                           const v1::UpdateCampaignRequest* req,
                                           v1::Campaign* resp) override;
  grpc::ServerUnaryReactor* DeleteCampaign(grpc::CallbackServerContext* ctx,
                                           const v1::DeleteCampaignRequest* req,
                                           v1::DeleteCampaignResponse* resp) override;
  grpc::ServerUnaryReactor* StartCampaign(grpc::CallbackServerContext* ctx,
                                          const v1::StartCampaignRequest* req,
                                          v1::Campaign* resp) override;
  grpc::ServerUnaryReactor* PauseCampaign(grpc::CallbackServerContext* ctx,
                                          const v1::PauseCampaignRequest* req,
                                          v1::Campaign* resp) override;
  grpc::ServerUnaryReactor* ResumeCampaign(grpc::CallbackServerContext* ctx,
                                           const v1::ResumeCampaignRequest* req,
                                           v1::Campaign* resp) override;
  grpc::ServerUnaryReactor* StopCampaign(grpc::CallbackServerContext* ctx,
                                         const v1::StopCampaignRequest* req,
                                         v1::Campaign* resp) override;
  grpc::ServerUnaryReactor* GetCall(grpc::CallbackServerContext* ctx,
                                    const v1::GetCallRequest* req, v1::Call* resp) override;
  grpc::ServerUnaryReactor* SetDisposition(grpc::CallbackServerContext* ctx,
                                           const v1::SetDispositionRequest* req,
                                           v1::Call* resp) override;
  grpc::ServerUnaryReactor* PreviewContact(grpc::CallbackServerContext* ctx,
                                           const v1::PreviewContactRequest* req,
                                           v1::PreviewContactResponse* resp) override;
  grpc::ServerUnaryReactor* DialPreview(grpc::CallbackServerContext* ctx,
                                        const v1::DialPreviewRequest* req,
                                        v1::Call* resp) override;
  grpc::ServerUnaryReactor* SkipPreview(grpc::CallbackServerContext* ctx,
                                        const v1::SkipPreviewRequest* req,
                                        v1::Call* resp) override;
  grpc::ServerUnaryReactor* ManualDial(grpc::CallbackServerContext* ctx,
                                       const v1::ManualDialRequest* req, v1::Call* resp) override;
  grpc::ServerWriteReactor<v1::CampaignProgress>* WatchCampaign(
      grpc::CallbackServerContext* ctx, const v1::WatchCampaignRequest* req) override;
  grpc::ServerUnaryReactor* FlagAbusiveCaller(grpc::CallbackServerContext* ctx,
                                              const v1::FlagAbusiveCallerRequest* req,
                                              v1::Call* resp) override;
  grpc::ServerUnaryReactor* ListBlockedNumbers(grpc::CallbackServerContext* ctx,
                                               const v1::ListBlockedNumbersRequest* req,
                                               v1::ListBlockedNumbersResponse* resp) override;
  grpc::ServerUnaryReactor* UnblockNumber(grpc::CallbackServerContext* ctx,
                                          const v1::UnblockNumberRequest* req,
                                          v1::BlockedNumber* resp) override;
  grpc::ServerUnaryReactor* SetCallerIdRest(grpc::CallbackServerContext* ctx,
                                            const v1::SetCallerIdRestRequest* req,
                                            v1::CallerIdStatus* resp) override;

 private:
  CampaignManager::Caller CallerOf(const CallContext& call) const;
  // `local` as it is, unless it says another replica owns what the call
  // acts on: then the call forwarded to the owner (`owner` says where; no
  // address: `local`).
  template <typename Request, typename Response>
  absl::Status OrForward(absl::Status local, grpc::CallbackServerContext* ctx,
                         const CallContext& call,
                         const std::function<absl::StatusOr<std::string>()>& owner,
                         grpc::Status (v1::DialingService::Stub::*method)(grpc::ClientContext*,
                                                                          const Request&, Response*),
                         const Request& request, Response* response) {
    if (forwarder_ == nullptr || !OwnerForwarder::ShouldForward(local, *ctx)) return local;
    auto address = owner();
    if (!address.ok() || address->empty()) return local;
    response->Clear();
    absl::Status forwarded = forwarder_->Forward(*address, ctx, call, method, request, response);
    forwarder_->Count(forwarded.ok());
    return forwarded;
  }
  grpc::ServerUnaryReactor* ServeTransition(grpc::CallbackServerContext* ctx, const char* method,
                                            const google::protobuf::Message& req,
                                            const std::string& name, CampaignAction action,
                                            const std::string& reason, v1::Campaign* resp);

  RpcEnv& env_;
  CampaignManager& campaigns_;
  Dialer& dialer_;
  std::function<std::string(const std::string&)> tenant_zone_;
  OwnerForwarder* forwarder_;
};

}  // namespace dialgrid::dialing
