#include "services/tenancy/server/tenancy_service.h"

#include "google/protobuf/util/time_util.h"
#include "services/common/core/errors.h"

namespace dialgrid::tenancy {
namespace {

using v1::ROLE_PLATFORM_SERVICE;
using v1::ROLE_TENANT_ADMIN;
using v1::ROLE_VENDOR_ADMIN;

}  // namespace

grpc::ServerUnaryReactor* TenancyServiceImpl::CreateTenant(grpc::CallbackServerContext* ctx,
                                                           const v1::CreateTenantRequest* req,
                                                           v1::Tenant* resp) {
  return ServeUnary(env_, ctx, "CreateTenant", *req, Resource{"parent", "vendor"}, {ROLE_VENDOR_ADMIN},
                    [=](const CallContext& call) {
                      return Into(manager_.CreateTenant(call.principal, *req), resp);
                    });
}

grpc::ServerUnaryReactor* TenancyServiceImpl::GetTenant(grpc::CallbackServerContext* ctx,
                                                        const v1::GetTenantRequest* req,
                                                        v1::Tenant* resp) {
  return ServeUnary(env_, ctx, "GetTenant", *req, Resource{"name", req->name()}, AnyRole(),
                    [=](const CallContext&) { return Into(manager_.GetTenant(*req), resp); });
}

grpc::ServerUnaryReactor* TenancyServiceImpl::ListTenants(grpc::CallbackServerContext* ctx,
                                                          const v1::ListTenantsRequest* req,
                                                          v1::ListTenantsResponse* resp) {
  return ServeUnary(env_, ctx, "ListTenants", *req, Resource{"parent", "vendor"}, {ROLE_VENDOR_ADMIN},
                    [=](const CallContext&) { return Into(manager_.ListTenants(*req), resp); });
}

grpc::ServerUnaryReactor* TenancyServiceImpl::UpdateTenant(grpc::CallbackServerContext* ctx,
                                                           const v1::UpdateTenantRequest* req,
                                                           v1::Tenant* resp) {
  return ServeUnary(env_, ctx, "UpdateTenant", *req, Resource{"tenant.name", req->tenant().name()},
                    {ROLE_VENDOR_ADMIN, ROLE_TENANT_ADMIN}, [=](const CallContext& call) {
                      return Into(manager_.UpdateTenant(call.principal, *req), resp);
                    });
}

grpc::ServerUnaryReactor* TenancyServiceImpl::SuspendTenant(grpc::CallbackServerContext* ctx,
                                                            const v1::SuspendTenantRequest* req,
                                                            v1::Tenant* resp) {
  return ServeUnary(env_, ctx, "SuspendTenant", *req, Resource{"name", req->name()}, {ROLE_VENDOR_ADMIN},
                    [=](const CallContext& call) { return Into(manager_.SuspendTenant(call.principal, *req), resp); });
}

grpc::ServerUnaryReactor* TenancyServiceImpl::ResumeTenant(grpc::CallbackServerContext* ctx,
                                                           const v1::ResumeTenantRequest* req,
                                                           v1::Tenant* resp) {
  return ServeUnary(env_, ctx, "ResumeTenant", *req, Resource{"name", req->name()}, {ROLE_VENDOR_ADMIN},
                    [=](const CallContext& call) { return Into(manager_.ResumeTenant(call.principal, *req), resp); });
}

grpc::ServerUnaryReactor* TenancyServiceImpl::CreateCredential(
    grpc::CallbackServerContext* ctx, const v1::CreateCredentialRequest* req,
    v1::CreateCredentialResponse* resp) {
  return ServeUnary(env_, ctx, "CreateCredential", *req, Resource{"parent", req->parent()},
                    {ROLE_VENDOR_ADMIN, ROLE_TENANT_ADMIN}, [=](const CallContext& call) {
                      return Into(manager_.CreateCredential(call.principal, *req), resp);
                    });
}

grpc::ServerUnaryReactor* TenancyServiceImpl::GetCredential(grpc::CallbackServerContext* ctx,
                                                            const v1::GetCredentialRequest* req,
                                                            v1::Credential* resp) {
  return ServeUnary(env_, ctx, "GetCredential", *req, Resource{"name", req->name()}, {ROLE_VENDOR_ADMIN, ROLE_TENANT_ADMIN},
                    [=](const CallContext&) { return Into(manager_.GetCredential(*req), resp); });
}

grpc::ServerUnaryReactor* TenancyServiceImpl::ListCredentials(
    grpc::CallbackServerContext* ctx, const v1::ListCredentialsRequest* req,
    v1::ListCredentialsResponse* resp) {
  return ServeUnary(env_, ctx, "ListCredentials", *req, Resource{"parent", req->parent()},
                    {ROLE_VENDOR_ADMIN, ROLE_TENANT_ADMIN}, [=](const CallContext&) {
                      return Into(manager_.ListCredentials(*req), resp);
                    });
}

grpc::ServerUnaryReactor* TenancyServiceImpl::RevokeCredential(
    grpc::CallbackServerContext* ctx, const v1::RevokeCredentialRequest* req,
    v1::Credential* resp) {
  return ServeUnary(env_, ctx, "RevokeCredential", *req, Resource{"name", req->name()},
                    {ROLE_VENDOR_ADMIN, ROLE_TENANT_ADMIN}, [=](const CallContext& call) {
                      return Into(manager_.RevokeCredential(call.principal, *req), resp);
                    });
}

grpc::ServerUnaryReactor* TenancyServiceImpl::AuthenticateCredential(
    grpc::CallbackServerContext* ctx, const v1::AuthenticateCredentialRequest* req,
    v1::AuthenticateCredentialResponse* resp) {
  return ServeUnary(env_, ctx, "AuthenticateCredential", *req, Resource{"parent", "vendor"}, {ROLE_PLATFORM_SERVICE},
                    [=](const CallContext&) -> absl::Status {
                      auto p = manager_.Authenticate(req->secret());
                      // Marked as about the presented secret, so the caller can tell
                      // it from a refusal of its own (platform) credential.
                      if (!p.ok()) return WithMetadata(p.status(), "subject", "secret");
                      resp->set_credential(p->credential);
                      resp->set_tenant(p->tenant);
                      for (auto r : p->roles) resp->add_roles(r);
                      resp->set_agent(p->agent);
                      if (p->expire_time != absl::InfiniteFuture()) {
                        *resp->mutable_expire_time() =
                            google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
                                absl::ToUnixNanos(p->expire_time));
                      }
                      return absl::OkStatus();
                    });
}

grpc::ServerUnaryReactor* TenancyServiceImpl::ListAuditRecords(
    grpc::CallbackServerContext* ctx, const v1::ListAuditRecordsRequest* req,
    v1::ListAuditRecordsResponse* resp) {
  // A tenant's admins read their tenant's log; the vendor scope's
  // ("vendor") is the vendor admins' alone.
  return ServeUnary(env_, ctx, "ListAuditRecords", *req, Resource{"parent", req->parent()},
                    {ROLE_VENDOR_ADMIN, ROLE_TENANT_ADMIN},
                    [=](const CallContext&) { return Into(audit_.List(*req), resp); });
}

}  // namespace dialgrid::tenancy
