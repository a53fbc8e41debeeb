#pragma once

// Answers the reports from the store's counters (domain/kpis.h does the
// math): parses and checks names and ranges, reads the spans, sums them.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "dialgrid/reporting/v1/reporting.pb.h"
#include "services/reporting/domain/kpis.h"
#include "services/reporting/ports/report_store.h"

namespace dialgrid::reporting {

struct ReportOptions {
  // Longest range of the reports, and of the CSV export.
  int64_t max_range_hours = 400 * 24;
  int64_t max_export_hours = 100 * 24;
  // Billing plans per tenant (GetUsage's bill); empty: no bills.
  BillingPlans plans;
};

class ReportManager {
 public:
  ReportManager(std::shared_ptr<ReportStore> store, ReportOptions options)
      : store_(std::move(store)), options_(std::move(options)) {}

  absl::StatusOr<v1::CampaignReport> GetCampaignReport(const v1::GetCampaignReportRequest& req);
  absl::StatusOr<v1::AgentReport> GetAgentReport(const v1::GetAgentReportRequest& req);
  absl::StatusOr<v1::Usage> GetUsage(const v1::GetUsageRequest& req);
  absl::StatusOr<v1::ExportReportCsvResponse> ExportReportCsv(
      const v1::ExportReportCsvRequest& req);

 private:
  absl::StatusOr<CampaignSettings> Campaign(const std::string& tenant, const std::string& id);
  absl::StatusOr<Counters> Sum(const std::string& tenant, const HourRange& range);

  std::shared_ptr<ReportStore> store_;
  ReportOptions options_;
};

}  // namespace dialgrid::reporting
