#pragma once

#include "dialgrid/compliance/v1/compliance.grpc.pb.h"
#include "services/common/server/rpc.h"
#include "services/compliance/application/compliance_manager.h"

namespace dialgrid::compliance {

// gRPC handlers: who may call what (role, then tenant of the named
// resource, before anything is looked up), then the manager. A synchronous
// service (ServeSync): every RPC is short and CheckDial is on the dial's
// critical path, where the callback API's extra thread hops of Debian's gRPC
// 1.51 cost more than the check itself (docs/performance.md).
class ComplianceServiceImpl final : public v1::ComplianceService::Service {
 public:
  ComplianceServiceImpl(RpcEnv& env, ComplianceManager& manager) : env_(env), manager_(manager) {}

#define DG_UNARY(Method, Req, Resp) \
  grpc::Status Method(grpc::ServerContext* ctx, const v1::Req* req, v1::Resp* resp) override;
  DG_UNARY(CheckDial, CheckDialRequest, DialDecision)
  DG_UNARY(ScrubNumbers, ScrubNumbersRequest, ScrubNumbersResponse)
  DG_UNARY(UpdateRuleSet, UpdateRuleSetRequest, RuleSet)
  DG_UNARY(GetRuleSet, GetRuleSetRequest, RuleSet)
  DG_UNARY(ListCallingHoursPresets, ListCallingHoursPresetsRequest, ListCallingHoursPresetsResponse)
  DG_UNARY(AddDoNotCallNumbers, AddDoNotCallNumbersRequest, AddDoNotCallNumbersResponse)
  DG_UNARY(RemoveDoNotCallNumbers, RemoveDoNotCallNumbersRequest, RemoveDoNotCallNumbersResponse)
  DG_UNARY(CheckDoNotCall, CheckDoNotCallRequest, CheckDoNotCallResponse)
  DG_UNARY(ListDoNotCallEntries, ListDoNotCallEntriesRequest, ListDoNotCallEntriesResponse)
  DG_UNARY(ListRegistries, ListRegistriesRequest, ListRegistriesResponse)
  DG_UNARY(UpdateRegistry, UpdateRegistryRequest, UpdateRegistryResponse)
  DG_UNARY(PruneRegistryOverlay, PruneRegistryOverlayRequest, PruneRegistryOverlayResponse)
  DG_UNARY(CreateRegistry, CreateRegistryRequest, Registry)
  DG_UNARY(UpdateRegistryScope, UpdateRegistryScopeRequest, Registry)
  DG_UNARY(DeleteRegistry, DeleteRegistryRequest, DeleteRegistryResponse)
  DG_UNARY(RecordConsent, RecordConsentRequest, Consent)
  DG_UNARY(RevokeConsent, RevokeConsentRequest, Consent)
  DG_UNARY(GetConsent, GetConsentRequest, Consent)
  DG_UNARY(ListConsents, ListConsentsRequest, ListConsentsResponse)
  DG_UNARY(RecordEstablishedRelationship, RecordEstablishedRelationshipRequest,
           EstablishedRelationship)
  DG_UNARY(ListEstablishedRelationships, ListEstablishedRelationshipsRequest,
           ListEstablishedRelationshipsResponse)
  DG_UNARY(RecordSolicitationRefusal, RecordSolicitationRefusalRequest, SolicitationRefusal)
  DG_UNARY(ListSolicitationRefusals, ListSolicitationRefusalsRequest,
           ListSolicitationRefusalsResponse)
  DG_UNARY(RecordCallOutcome, RecordCallOutcomeRequest, CallOutcomeRecorded)
  DG_UNARY(GetAbandonRate, GetAbandonRateRequest, AbandonRate)
  DG_UNARY(ListDialRecords, ListDialRecordsRequest, ListDialRecordsResponse)
#undef DG_UNARY
  grpc::Status ScrubStream(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<v1::ScrubStreamResponse, v1::ScrubStreamRequest>* stream) override;
  grpc::Status UploadRegistryNumbers(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<v1::UploadRegistryNumbersResponse,
                               v1::UploadRegistryNumbersRequest>* stream) override;

 private:
  RpcEnv& env_;
  ComplianceManager& manager_;
};

}  // namespace dialgrid::compliance
