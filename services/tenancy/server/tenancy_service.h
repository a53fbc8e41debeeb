#pragma once

#include "dialgrid/tenancy/v1/tenancy.grpc.pb.h"
#include "services/common/server/rpc.h"
#include "services/tenancy/application/audit_log.h"
#include "services/tenancy/application/tenancy_manager.h"

namespace dialgrid::tenancy {

// gRPC handlers: who may call what (roles, resource tenant), then the manager.
class TenancyServiceImpl final : public v1::TenancyService::CallbackService {
 public:
  TenancyServiceImpl(RpcEnv& env, TenancyManager& manager, AuditLog& audit)
      : env_(env), manager_(manager), audit_(audit) {}

  grpc::ServerUnaryReactor* CreateTenant(grpc::CallbackServerContext* ctx,
                                         const v1::CreateTenantRequest* req,
                                         v1::Tenant* resp) override;
  grpc::ServerUnaryReactor* GetTenant(grpc::CallbackServerContext* ctx,
                                      const v1::GetTenantRequest* req, v1::Tenant* resp) override;
  grpc::ServerUnaryReactor* ListTenants(grpc::CallbackServerContext* ctx,
                                        const v1::ListTenantsRequest* req,
                                        v1::ListTenantsResponse* resp) override;
  grpc::ServerUnaryReactor* UpdateTenant(grpc::CallbackServerContext* ctx,
                                         const v1::UpdateTenantRequest* req,
                                         v1::Tenant* resp) override;
  grpc::ServerUnaryReactor* SuspendTenant(grpc::CallbackServerContext* ctx,
                                          const v1::SuspendTenantRequest* req,
                                          v1::Tenant* resp) override;
  grpc::ServerUnaryReactor* ResumeTenant(grpc::CallbackServerContext* ctx,
                                         const v1::ResumeTenantRequest* req,
                                         v1::Tenant* resp) override;
  grpc::ServerUnaryReactor* CreateCredential(grpc::CallbackServerContext* ctx,
                                             const v1::CreateCredentialRequest* req,
                                             v1::CreateCredentialResponse* resp) override;
  grpc::ServerUnaryReactor* GetCredential(grpc::CallbackServerContext* ctx,
                                          const v1::GetCredentialRequest* req,
                                          v1::Credential* resp) override;
  grpc::ServerUnaryReactor* ListCredentials(grpc::CallbackServerContext* ctx,
                                            const v1::ListCredentialsRequest* req,
                                            v1::ListCredentialsResponse* resp) override;
  grpc::ServerUnaryReactor* RevokeCredential(grpc::CallbackServerContext* ctx,
                                             const v1::RevokeCredentialRequest* req,
                                             v1::Credential* resp) override;
  grpc::ServerUnaryReactor* AuthenticateCredential(
      grpc::CallbackServerContext* ctx, const v1::AuthenticateCredentialRequest* req,
      v1::AuthenticateCredentialResponse* resp) override;
  grpc::ServerUnaryReactor* ListAuditRecords(grpc::CallbackServerContext* ctx,
                                             const v1::ListAuditRecordsRequest* req,
                                             v1::ListAuditRecordsResponse* resp) override;

 private:
  RpcEnv& env_;
  TenancyManager& manager_;
  AuditLog& audit_;
};

}  // namespace dialgrid::tenancy
