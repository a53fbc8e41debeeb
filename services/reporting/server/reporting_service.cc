#include "services/reporting/server/reporting_service.h"

namespace dialgrid::reporting {
namespace {

using tenancy::v1::ROLE_INTEGRATION;
using tenancy::v1::ROLE_PLATFORM_SERVICE;
using tenancy::v1::ROLE_SUPERVISOR;
using tenancy::v1::ROLE_TENANT_ADMIN;
using tenancy::v1::ROLE_VENDOR_ADMIN;

const std::vector<auth::Role> kReaders = {ROLE_TENANT_ADMIN, ROLE_SUPERVISOR, ROLE_INTEGRATION,
                                          ROLE_VENDOR_ADMIN, ROLE_PLATFORM_SERVICE};
const std::vector<auth::Role> kBilling = {ROLE_TENANT_ADMIN, ROLE_VENDOR_ADMIN};
const std::vector<auth::Role> kFinance = {ROLE_TENANT_ADMIN, ROLE_INTEGRATION, ROLE_VENDOR_ADMIN};

}  // namespace

grpc::ServerUnaryReactor* ReportingServiceImpl::GetCampaignReport(
    grpc::CallbackServerContext* ctx, const v1::GetCampaignReportRequest* req,
    v1::CampaignReport* resp) {
  return ServeUnary(
      env_, ctx, "GetCampaignReport", *req, Resource{"campaign", req->campaign()}, kReaders,
      [=](const CallContext&) { return Into(manager_.GetCampaignReport(*req), resp); });
}

grpc::ServerUnaryReactor* ReportingServiceImpl::GetAgentReport(grpc::CallbackServerContext* ctx,
                                                               const v1::GetAgentReportRequest* req,
                                                               v1::AgentReport* resp) {
  return ServeUnary(env_, ctx, "GetAgentReport", *req, Resource{"agent", req->agent()}, kReaders,
                    [=](const CallContext&) { return Into(manager_.GetAgentReport(*req), resp); });
}

grpc::ServerUnaryReactor* ReportingServiceImpl::GetUsage(grpc::CallbackServerContext* ctx,
                                                         const v1::GetUsageRequest* req,
                                                         v1::Usage* resp) {
  return ServeUnary(env_, ctx, "GetUsage", *req, Resource{"tenant", req->tenant()}, kBilling,
                    [=](const CallContext&) { return Into(manager_.GetUsage(*req), resp); });
}

grpc::ServerUnaryReactor* ReportingServiceImpl::ExportReportCsv(
    grpc::CallbackServerContext* ctx, const v1::ExportReportCsvRequest* req,
    v1::ExportReportCsvResponse* resp) {
  return ServeUnary(env_, ctx, "ExportReportCsv", *req, Resource{"parent", req->parent()}, kFinance,
                    [=](const CallContext&) { return Into(manager_.ExportReportCsv(*req), resp); });
}

}  // namespace dialgrid::reporting
