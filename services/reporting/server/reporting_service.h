#pragma once

#include "dialgrid/reporting/v1/reporting.grpc.pb.h"
#include "services/common/server/rpc.h"
#include "services/reporting/application/report_manager.h"

namespace dialgrid::reporting {

// gRPC handlers: roles, then the resource's tenant (another tenant's:
// PERMISSION_DENIED before anything is read), then the manager.
//   GetCampaignReport, GetAgentReport   tenant admin, supervisor, integration,
//                                       vendor admin, platform service
//   GetUsage                            tenant admin, vendor admin
//   ExportReportCsv                     tenant admin, integration, vendor admin
class ReportingServiceImpl final : public v1::ReportingService::CallbackService {
 public:
  ReportingServiceImpl(RpcEnv& env, ReportManager& manager) : env_(env), manager_(manager) {}

  grpc::ServerUnaryReactor* GetCampaignReport(grpc::CallbackServerContext* ctx,
                                              const v1::GetCampaignReportRequest* req,
                                              v1::CampaignReport* resp) override;
  grpc::ServerUnaryReactor* GetAgentReport(grpc::CallbackServerContext* ctx,
                                           const v1::GetAgentReportRequest* req,
                                           v1::AgentReport* resp) override;
  grpc::ServerUnaryReactor* GetUsage(grpc::CallbackServerContext* ctx,
                                     const v1::GetUsageRequest* req, v1::Usage* resp) override;
  grpc::ServerUnaryReactor* ExportReportCsv(grpc::CallbackServerContext* ctx,
                                            const v1::ExportReportCsvRequest* req,
                                            v1::ExportReportCsvResponse* resp) override;

 private:
  RpcEnv& env_;
  ReportManager& manager_;
};

}  // namespace dialgrid::reporting
