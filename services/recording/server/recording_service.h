#pragma once

#include <functional>

#include "dialgrid/recording/v1/recording.grpc.pb.h"
#include "services/common/server/rpc.h"
#include "services/recording/application/recording_manager.h"

namespace dialgrid::recording {

// gRPC handlers: who may call what (roles, then the resource's tenant, then
// the tenant's request quota: ServeUnary / AuthorizeCall), then the manager.
// Roles (README "Roles"):
//   Start/Upload/Stop       platform service, tenant admin, integration
//   Pause/Resume            + agent, supervisor
//   Get/List                tenant admin, supervisor, integration, platform service, vendor admin
//   Download (listening)    tenant admin, supervisor
//   Verify                  tenant admin, vendor admin
//   RewrapDataKeys          tenant admin, vendor admin
//   SetRetentionPolicy      tenant admin
//   GetRetentionPolicy      as Get/List
//   PlaceHold/ReleaseHold   tenant admin, integration
//   ListHolds               tenant admin, integration, vendor admin
//   EraseContactRecordings  tenant admin, integration
//   GetRecordingUsage       tenant admin, vendor admin
class RecordingServiceImpl final : public v1::RecordingService::CallbackService {
 public:
  // `max_storage`: a tenant's recording storage quota in bytes (tenancy's
  // max_recording_storage_bytes).
  RecordingServiceImpl(RpcEnv& env, RecordingManager& manager,
                       std::function<absl::StatusOr<int64_t>(const std::string&)> max_storage)
      : env_(env), manager_(manager), max_storage_(std::move(max_storage)) {}

  grpc::ServerUnaryReactor* StartRecording(grpc::CallbackServerContext* ctx,
                                           const v1::StartRecordingRequest* req,
                                           v1::Recording* resp) override;
  grpc::ServerReadReactor<v1::UploadAudioRequest>* UploadAudio(
      grpc::CallbackServerContext* ctx, v1::UploadAudioResponse* resp) override;
  grpc::ServerUnaryReactor* PauseRecording(grpc::CallbackServerContext* ctx,
                                           const v1::PauseRecordingRequest* req,
                                           v1::Recording* resp) override;
  grpc::ServerUnaryReactor* ResumeRecording(grpc::CallbackServerContext* ctx,
                                            const v1::ResumeRecordingRequest* req,
                                            v1::Recording* resp) override;
  grpc::ServerUnaryReactor* StopRecording(grpc::CallbackServerContext* ctx,
                                          const v1::StopRecordingRequest* req,
                                          v1::Recording* resp) override;
  grpc::ServerUnaryReactor* GetRecording(grpc::CallbackServerContext* ctx,
                                         const v1::GetRecordingRequest* req,
                                         v1::Recording* resp) override;
  grpc::ServerUnaryReactor* ListRecordings(grpc::CallbackServerContext* ctx,
                                           const v1::ListRecordingsRequest* req,
                                           v1::ListRecordingsResponse* resp) override;
  grpc::ServerWriteReactor<v1::DownloadRecordingResponse>* DownloadRecording(
      grpc::CallbackServerContext* ctx, const v1::DownloadRecordingRequest* req) override;
  grpc::ServerUnaryReactor* VerifyRecordings(grpc::CallbackServerContext* ctx,
                                             const v1::VerifyRecordingsRequest* req,
                                             v1::VerifyRecordingsResponse* resp) override;
  grpc::ServerUnaryReactor* RewrapDataKeys(grpc::CallbackServerContext* ctx,
                                           const v1::RewrapDataKeysRequest* req,
                                           v1::RewrapDataKeysResponse* resp) override;
  grpc::ServerUnaryReactor* SetRetentionPolicy(grpc::CallbackServerContext* ctx,
                                               const v1::SetRetentionPolicyRequest* req,
                                               v1::RetentionPolicy* resp) override;
  grpc::ServerUnaryReactor* GetRetentionPolicy(grpc::CallbackServerContext* ctx,
                                               const v1::GetRetentionPolicyRequest* req,
                                               v1::RetentionPolicy* resp) override;
  grpc::ServerUnaryReactor* PlaceHold(grpc::CallbackServerContext* ctx,
                                      const v1::PlaceHoldRequest* req,
                                      v1::LegalHold* resp) override;
  grpc::ServerUnaryReactor* ReleaseHold(grpc::CallbackServerContext* ctx,
                                        const v1::ReleaseHoldRequest* req,
                                        v1::LegalHold* resp) override;
  grpc::ServerUnaryReactor* ListHolds(grpc::CallbackServerContext* ctx,
                                      const v1::ListHoldsRequest* req,
                                      v1::ListHoldsResponse* resp) override;
  grpc::ServerUnaryReactor* GetRecordingUsage(grpc::CallbackServerContext* ctx,
                                              const v1::GetRecordingUsageRequest* req,
                                              v1::RecordingUsage* resp) override;
  grpc::ServerUnaryReactor* EraseContactRecordings(
      grpc::CallbackServerContext* ctx, const v1::EraseContactRecordingsRequest* req,
      v1::EraseContactRecordingsResponse* resp) override;

 private:
  RpcEnv& env_;
  RecordingManager& manager_;
  std::function<absl::StatusOr<int64_t>(const std::string&)> max_storage_;
};

}  // namespace dialgrid::recording
