#include "services/compliance/server/compliance_service.h"

#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/core/status_macros.h"
#include "services/common/server/grpc_status.h"
#include "services/common/server/request_checks.h"

namespace dialgrid::compliance {
namespace {

using tenancy::v1::ROLE_AGENT;
using tenancy::v1::ROLE_INTEGRATION;
using tenancy::v1::ROLE_PLATFORM_SERVICE;
using tenancy::v1::ROLE_SUPERVISOR;
using tenancy::v1::ROLE_TENANT_ADMIN;
using tenancy::v1::ROLE_VENDOR_ADMIN;

// The dialer (a platform service) and client systems decide dials.
const std::vector<auth::Role> kDeciders = {ROLE_PLATFORM_SERVICE, ROLE_VENDOR_ADMIN,
                                           ROLE_TENANT_ADMIN, ROLE_INTEGRATION};
const std::vector<auth::Role> kScrubbers = {ROLE_PLATFORM_SERVICE, ROLE_VENDOR_ADMIN,
                                            ROLE_TENANT_ADMIN, ROLE_INTEGRATION, ROLE_SUPERVISOR};
const std::vector<auth::Role> kRuleEditors = {ROLE_VENDOR_ADMIN, ROLE_TENANT_ADMIN};
const std::vector<auth::Role> kReaders = {ROLE_VENDOR_ADMIN, ROLE_TENANT_ADMIN, ROLE_INTEGRATION,
                                          ROLE_SUPERVISOR, ROLE_PLATFORM_SERVICE};
// Opt-outs come from agents' dispositions and client systems too.
const std::vector<auth::Role> kListWriters = {ROLE_VENDOR_ADMIN, ROLE_TENANT_ADMIN,
                                              ROLE_INTEGRATION, ROLE_SUPERVISOR, ROLE_AGENT,
                                              ROLE_PLATFORM_SERVICE};
// Taking a number off a do-not-call list is an administrator's act.
const std::vector<auth::Role> kListRemovers = {ROLE_VENDOR_ADMIN, ROLE_TENANT_ADMIN};
const std::vector<auth::Role> kConsentWriters = {ROLE_VENDOR_ADMIN, ROLE_TENANT_ADMIN,
                                                 ROLE_INTEGRATION, ROLE_SUPERVISOR, ROLE_AGENT,
                                                 ROLE_PLATFORM_SERVICE};

Actor ActorOf(const CallContext& call) {
  return Actor{call.principal.credential, call.principal.HasRole(ROLE_VENDOR_ADMIN)};
}

// The scope a vendor-wide list is read in: "tenants/{tenant}" (the caller's
// tenant, checked by ServeSync) or "vendor", nothing more: a name with more
// segments is not a scope (MALFORMED_NAME), though its tenant prefix would
// pass the tenant check.
absl::Status CheckScopeParent(const std::string& parent) {
  if (parent == "vendor") return absl::OkStatus();
  return ParseName("parent", parent, "tenants/{tenant}").status();
}

}  // namespace

// Handlers that need the caller pass it as an Actor; the others only the request.
#define DG_SERVE_ACTOR(Method, Res, Roles)                                        \
  return ServeSync(env_, ctx, #Method, *req, Res, Roles, [&](const CallContext& call) { \
    return Into(manager_.Method(ActorOf(call), *req), resp);                      \
  });
#define DG_SERVE(Method, Res, Roles)                                               \
  return ServeSync(env_, ctx, #Method, *req, Res, Roles,                                 \
                   [&](const CallContext&) { return Into(manager_.Method(*req), resp); });

grpc::Status ComplianceServiceImpl::CheckDial(grpc::ServerContext* ctx,
                                                           const v1::CheckDialRequest* req,
                                                           v1::DialDecision* resp) {
  DG_SERVE_ACTOR(CheckDial, (Resource{"campaign", req->campaign()}), kDeciders)
}
grpc::Status ComplianceServiceImpl::ScrubNumbers(grpc::ServerContext* ctx,
                                                              const v1::ScrubNumbersRequest* req,
                                                              v1::ScrubNumbersResponse* resp) {
  DG_SERVE_ACTOR(ScrubNumbers, (Resource{"campaign", req->campaign()}), kScrubbers)
}
grpc::Status ComplianceServiceImpl::UpdateRuleSet(grpc::ServerContext* ctx,
                                                               const v1::UpdateRuleSetRequest* req,
                                                               v1::RuleSet* resp) {
  DG_SERVE_ACTOR(UpdateRuleSet, (Resource{"rule_set.name", req->rule_set().name()}), kRuleEditors)
}
grpc::Status ComplianceServiceImpl::GetRuleSet(grpc::ServerContext* ctx,
                                                            const v1::GetRuleSetRequest* req,
                                                            v1::RuleSet* resp) {
  DG_SERVE(GetRuleSet, (Resource{"name", req->name()}), kReaders)
}
grpc::Status ComplianceServiceImpl::ListCallingHoursPresets(grpc::ServerContext* ctx, const v1::ListCallingHoursPresetsRequest* req,
    v1::ListCallingHoursPresetsResponse* resp) {
  return ServeSync(env_, ctx, "ListCallingHoursPresets", *req, Resource{"parent", req->parent()},
                    AnyRole(), [&](const CallContext&) {
                      DG_RETURN_IF_ERROR(CheckScopeParent(req->parent()));
                      *resp = manager_.ListPresets();
                      return absl::OkStatus();
                    });
}
grpc::Status ComplianceServiceImpl::AddDoNotCallNumbers(grpc::ServerContext* ctx, const v1::AddDoNotCallNumbersRequest* req,
    v1::AddDoNotCallNumbersResponse* resp) {
  return ServeSync(env_, ctx, "AddDoNotCallNumbers", *req, Resource{"parent", req->parent()},
                    kListWriters, [&](const CallContext& call) {
                      return Into(manager_.AddDoNotCall(ActorOf(call), *req), resp);
                    });
}
grpc::Status ComplianceServiceImpl::RemoveDoNotCallNumbers(grpc::ServerContext* ctx, const v1::RemoveDoNotCallNumbersRequest* req,
    v1::RemoveDoNotCallNumbersResponse* resp) {
  return ServeSync(env_, ctx, "RemoveDoNotCallNumbers", *req, Resource{"parent", req->parent()},
                    kListRemovers, [&](const CallContext& call) {
                      return Into(manager_.RemoveDoNotCall(ActorOf(call), *req), resp);
                    });
}
grpc::Status ComplianceServiceImpl::CheckDoNotCall(grpc::ServerContext* ctx, const v1::CheckDoNotCallRequest* req,
    v1::CheckDoNotCallResponse* resp) {
  DG_SERVE(CheckDoNotCall, (Resource{"parent", req->parent()}), kReaders)
}
grpc::Status ComplianceServiceImpl::ListDoNotCallEntries(
    grpc::ServerContext* ctx, const v1::ListDoNotCallEntriesRequest* req,
    v1::ListDoNotCallEntriesResponse* resp) {
  DG_SERVE(ListDoNotCallEntries, (Resource{"parent", req->parent()}), kReaders)
}
grpc::Status ComplianceServiceImpl::ListRegistries(grpc::ServerContext* ctx, const v1::ListRegistriesRequest* req,
    v1::ListRegistriesResponse* resp) {
  return ServeSync(env_, ctx, "ListRegistries", *req, Resource{"parent", req->parent()}, AnyRole(),
                    [&](const CallContext&) {
                      DG_RETURN_IF_ERROR(CheckScopeParent(req->parent()));
                      *resp = manager_.ListRegistries(req->parent());
                      return absl::OkStatus();
                    });
}
grpc::Status ComplianceServiceImpl::UpdateRegistry(grpc::ServerContext* ctx, const v1::UpdateRegistryRequest* req,
    v1::UpdateRegistryResponse* resp) {
  // Registries are vendor resources ("registries/{registry}").
  DG_SERVE_ACTOR(UpdateRegistry, (Resource{"name", "vendor"}), {ROLE_VENDOR_ADMIN})
}
grpc::Status ComplianceServiceImpl::PruneRegistryOverlay(grpc::ServerContext* ctx,
                                                        const v1::PruneRegistryOverlayRequest* req,
                                                        v1::PruneRegistryOverlayResponse* resp) {
  DG_SERVE_ACTOR(PruneRegistryOverlay, (Resource{"name", "vendor"}), {ROLE_VENDOR_ADMIN})
}
grpc::Status ComplianceServiceImpl::CreateRegistry(grpc::ServerContext* ctx,
                                                   const v1::CreateRegistryRequest* req,
                                                   v1::Registry* resp) {
  DG_SERVE_ACTOR(CreateRegistry, (Resource{"registry_id", "vendor"}), {ROLE_VENDOR_ADMIN})
}
grpc::Status ComplianceServiceImpl::UpdateRegistryScope(grpc::ServerContext* ctx,
                                                        const v1::UpdateRegistryScopeRequest* req,
                                                        v1::Registry* resp) {
  DG_SERVE_ACTOR(UpdateRegistryScope, (Resource{"name", "vendor"}), {ROLE_VENDOR_ADMIN})
}
grpc::Status ComplianceServiceImpl::DeleteRegistry(grpc::ServerContext* ctx,
                                                   const v1::DeleteRegistryRequest* req,
                                                   v1::DeleteRegistryResponse* resp) {
  DG_SERVE_ACTOR(DeleteRegistry, (Resource{"name", "vendor"}), {ROLE_VENDOR_ADMIN})
}
grpc::Status ComplianceServiceImpl::RecordConsent(grpc::ServerContext* ctx,
                                                               const v1::RecordConsentRequest* req,
                                                               v1::Consent* resp) {
  DG_SERVE_ACTOR(RecordConsent, (Resource{"parent", req->parent()}), kConsentWriters)
}
grpc::Status ComplianceServiceImpl::RevokeConsent(grpc::ServerContext* ctx,
                                                               const v1::RevokeConsentRequest* req,
                                                               v1::Consent* resp) {
  DG_SERVE_ACTOR(RevokeConsent, (Resource{"name", req->name()}), kConsentWriters)
}
grpc::Status ComplianceServiceImpl::GetConsent(grpc::ServerContext* ctx,
                                                            const v1::GetConsentRequest* req,
                                                            v1::Consent* resp) {
  DG_SERVE(GetConsent, (Resource{"name", req->name()}), kReaders)
}
grpc::Status ComplianceServiceImpl::ListConsents(grpc::ServerContext* ctx,
                                                const v1::ListConsentsRequest* req,
                                                v1::ListConsentsResponse* resp) {
  DG_SERVE(ListConsents, (Resource{"parent", req->parent()}), kReaders)
}
grpc::Status ComplianceServiceImpl::RecordEstablishedRelationship(
    grpc::ServerContext* ctx, const v1::RecordEstablishedRelationshipRequest* req,
    v1::EstablishedRelationship* resp) {
  DG_SERVE_ACTOR(RecordEstablishedRelationship, (Resource{"parent", req->parent()}),
                 kConsentWriters)
}
grpc::Status ComplianceServiceImpl::ListEstablishedRelationships(
    grpc::ServerContext* ctx, const v1::ListEstablishedRelationshipsRequest* req,
    v1::ListEstablishedRelationshipsResponse* resp) {
  DG_SERVE(ListEstablishedRelationships, (Resource{"parent", req->parent()}), kReaders)
}
grpc::Status ComplianceServiceImpl::RecordSolicitationRefusal(
    grpc::ServerContext* ctx, const v1::RecordSolicitationRefusalRequest* req,
    v1::SolicitationRefusal* resp) {
  // A refusal is what an agent hears: whoever may add to a do-not-call list.
  DG_SERVE_ACTOR(RecordSolicitationRefusal, (Resource{"parent", req->parent()}), kListWriters)
}
grpc::Status ComplianceServiceImpl::ListSolicitationRefusals(
    grpc::ServerContext* ctx, const v1::ListSolicitationRefusalsRequest* req,
    v1::ListSolicitationRefusalsResponse* resp) {
  DG_SERVE(ListSolicitationRefusals, (Resource{"parent", req->parent()}), kReaders)
}
grpc::Status ComplianceServiceImpl::RecordCallOutcome(grpc::ServerContext* ctx,
                                                    const v1::RecordCallOutcomeRequest* req,
                                                    v1::CallOutcomeRecorded* resp) {
  // Whoever decides dials reports how they ended.
  DG_SERVE_ACTOR(RecordCallOutcome, (Resource{"parent", req->parent()}), kDeciders)
}
grpc::Status ComplianceServiceImpl::GetAbandonRate(grpc::ServerContext* ctx, const v1::GetAbandonRateRequest* req,
    v1::AbandonRate* resp) {
  DG_SERVE(GetAbandonRate, (Resource{"campaign", req->campaign()}), kReaders)
}
grpc::Status ComplianceServiceImpl::ListDialRecords(grpc::ServerContext* ctx, const v1::ListDialRecordsRequest* req,
    v1::ListDialRecordsResponse* resp) {
  DG_SERVE(ListDialRecords, (Resource{"parent", req->parent()}), kReaders)
}
#undef DG_SERVE
#undef DG_SERVE_ACTOR

grpc::Status ComplianceServiceImpl::ScrubStream(
    grpc::ServerContext* ctx,
    grpc::ServerReaderWriter<v1::ScrubStreamResponse, v1::ScrubStreamRequest>* stream) {
  absl::Time start = env_.clock->Now();
  CallContext call;
  BeginCall(env_, ctx, "ScrubStream", call);
  absl::Status st;
  std::string campaign;
  v1::ScrubStreamRequest msg;
  while (st.ok() && stream->Read(&msg)) {
    const v1::ScrubNumbersRequest& req = msg.page();
    if (campaign.empty()) {
      // The first message names the campaign: authorize once, before anything is read.
      st = AuthorizeCall(env_, ctx, msg, Resource{"page.campaign", req.campaign()}, kScrubbers,
                         call);
      if (!st.ok()) break;
      campaign = req.campaign();
    } else if (req.campaign() != campaign) {
      st = InvalidField("page.campaign", "CAMPAIGN_CHANGED",
                        "every message of a stream names the same campaign");
      break;
    } else if (st = CheckRequestValues(msg); !st.ok()) {
      break;
    }
    auto page = manager_.ScrubNumbers(ActorOf(call), req);
    v1::ScrubStreamResponse resp;
    if (!page.ok()) {
      st = page.status();
    } else if (*resp.mutable_page() = *std::move(page); !stream->Write(resp)) {
      st = absl::CancelledError("the caller went away");
    }
  }
  if (st.ok() && campaign.empty()) {
    st = InvalidField("page.campaign", "FIELD_REQUIRED", "the stream was empty");
  }
  EndCall(env_, call, start, st);
  return ToGrpcStatus(st, env_.error_domain);
}

grpc::Status ComplianceServiceImpl::UploadRegistryNumbers(
    grpc::ServerContext* ctx,
    grpc::ServerReaderWriter<v1::UploadRegistryNumbersResponse, v1::UploadRegistryNumbersRequest>*
        stream) {
  absl::Time start = env_.clock->Now();
  CallContext call;
  BeginCall(env_, ctx, "UploadRegistryNumbers", call);
  absl::Status st;
  std::optional<ComplianceManager::RegistryUpload> upload;
  v1::UploadRegistryNumbersRequest msg;
  while (st.ok() && stream->Read(&msg)) {
    if (!upload) {
      // The first message names the registry: authorize once, before
      // anything is applied. Registries are vendor resources.
      st = AuthorizeCall(env_, ctx, msg, Resource{"name", "vendor"}, {ROLE_VENDOR_ADMIN}, call);
      if (!st.ok()) break;
      auto begun = manager_.BeginRegistryUpload(ActorOf(call), msg);
      if (!begun.ok()) {
        st = begun.status();
        break;
      }
      upload = *std::move(begun);
    } else if (st = CheckRequestValues(msg); !st.ok()) {
      break;
    }
    st = manager_.UploadRegistryNumbers(ActorOf(call), *upload, msg);
    if (st.ok() && !stream->Write(upload->progress)) {
      st = absl::CancelledError("the caller went away");
    }
  }
  if (st.ok() && !upload) {
    st = InvalidField("name", "FIELD_REQUIRED", "the stream was empty");
  }
  if (st.ok()) {
    st = manager_.FinishRegistryUpload(ActorOf(call), *upload);
    if (st.ok() && !stream->Write(upload->progress)) {
      st = absl::CancelledError("the caller went away");
    }
  }
  EndCall(env_, call, start, st);
  return ToGrpcStatus(st, env_.error_domain);
}

}  // namespace dialgrid::compliance
