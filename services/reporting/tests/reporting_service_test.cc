// Service tests: the dialgrid-reporting binary with tenancy, a real Redis and
// the broker (tests/fixtures/test_platform.h), fed the hand scenario's events
// on the topics and called over loopback gRPC as a tenant's admin, another
// tenant's admin and a scraper would.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "dialgrid/reporting/v1/reporting.grpc.pb.h"
#include "services/common/core/errors.h"
#include "services/common/core/proto_time.h"
#include "services/common/kafka/kafka_producer.h"
#include "services/common/server/grpc_status.h"
#include "services/reporting/tests/hand_scenario.h"
#include "tests/fixtures/test_platform.h"

namespace dialgrid::reporting {
namespace {

using dialgrid::testing::TestPlatform;
using reporting::testing::At;
using reporting::testing::DayD;
using Stub = v1::ReportingService::Stub;

std::string ReasonOf(const grpc::Status& st) { return dialgrid::ReasonOf(FromGrpcStatus(st)); }

// GET /metrics of an admin address ("host:port"): the Prometheus text.
std::string Scrape(const std::string& host_port) {
  const size_t colon = host_port.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(host_port.substr(colon + 1), &port)) {
    return "";
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host_port.substr(0, colon).c_str(), &addr.sin_addr);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string req = "GET /metrics HTTP/1.0\r\nHost: " + host_port + "\r\n\r\n";
    if (write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[8192];
      for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;)
        out.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return out;
}

// The value of the series `series` (name with its labels, as exposed) in a
// scrape; -1 when it is not there.
double Metric(const std::string& scrape, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(scrape, '\n')) {
    if (!absl::ConsumePrefix(&line, series) || !absl::ConsumePrefix(&line, " ")) continue;
    double v = 0;
    if (absl::SimpleAtod(line, &v)) return v;
  }
  return -1;
}

class ReportingServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto p = TestPlatform::Start();
    ASSERT_TRUE(p.ok()) << p.status();
    platform_ = p->release();
    const std::string plans = platform_->dir() + "/plans.txt";
    std::ofstream(plans) << "acme basic USD 100000000 10 30000 1000000 50000000\n";
    ASSERT_TRUE(
        platform_->StartService("reporting", DIALGRID_REPORTING_BIN, {"--billing_plans=" + plans})
            .ok());
    ASSERT_TRUE(platform_->CreateTenant("acme").ok());
    ASSERT_TRUE(platform_->CreateTenant("globex").ok());
    acme_ = new std::string(*platform_->Credential("acme", tenancy::v1::ROLE_TENANT_ADMIN));
    globex_ = new std::string(*platform_->Credential("globex", tenancy::v1::ROLE_TENANT_ADMIN));
    kafka::ProducerOptions po;
    po.bootstrap_servers = platform_->broker().bootstrap();
    auto producer = kafka::KafkaProducer::Create(po);
    ASSERT_TRUE(producer.ok()) << producer.status();
    for (const auto& e : reporting::testing::HandScenario("acme")) {
      ASSERT_TRUE((*producer)->Publish(e.topic, e.event).ok());
    }
  }
  static void TearDownTestSuite() {
    delete acme_;
    delete globex_;
    delete platform_;
  }

  std::unique_ptr<Stub> NewStub() {
    return v1::ReportingService::NewStub(platform_->Channel("reporting"));
  }

  v1::GetCampaignReportRequest CampaignRequest(absl::Time start, absl::Time end) {
    v1::GetCampaignReportRequest req;
    req.set_campaign("tenants/acme/campaigns/spring");
    *req.mutable_start_time() = ToTimestamp(start);
    *req.mutable_end_time() = ToTimestamp(end);
    return req;
  }
  // Waits until the service applied the whole scenario (ann's last move and
  // the last attempt are in).
  void WaitForScenario() {
    auto stub = NewStub();
    ASSERT_TRUE(TestPlatform::Eventually(
        [&] {
          v1::CampaignReport r;
          v1::AgentReport a;
          v1::GetAgentReportRequest areq;
          areq.set_agent("tenants/acme/agents/ann");
          *areq.mutable_start_time() = ToTimestamp(At(8, 0));
          *areq.mutable_end_time() = ToTimestamp(At(11, 0));
          v1::GetUsageRequest ureq;
          ureq.set_tenant("tenants/acme");
          *ureq.mutable_start_time() = ToTimestamp(DayD());
          *ureq.mutable_end_time() = ToTimestamp(DayD() + absl::Hours(24));
          v1::Usage u;
          return stub->GetCampaignReport(TestPlatform::Context(*acme_).get(),
                                         CampaignRequest(At(9, 0), At(11, 0)), &r)
                     .ok() &&
                 r.totals().attempts() == 10 && r.totals().not_placed() == 1 &&
                 r.totals().handled_calls() == 5 && r.totals().sales() == 3 &&
                 r.dispositions_size() == 3 &&
                 stub->GetAgentReport(TestPlatform::Context(*acme_).get(), areq, &a).ok() &&
                 a.agents_size() == 1 && a.agents(0).logged_in().seconds() == 6000 &&
                 stub->GetUsage(TestPlatform::Context(*acme_).get(), ureq, &u).ok() &&
                 u.recordings_stored() == 2 && u.recording_bytes_deleted() == 2000000;
        },
        absl::Seconds(60)));
  }

  static TestPlatform* platform_;
  static std::string* acme_;
  static std::string* globex_;
};
TestPlatform* ReportingServiceTest::platform_ = nullptr;
std::string* ReportingServiceTest::acme_ = nullptr;
std::string* ReportingServiceTest::globex_ = nullptr;

// The hand scenario's figures over gRPC (reporting_component_test.cc works
// them out): the campaign, the agent, the usage and bill, the CSV.
TEST_F(ReportingServiceTest, FiguresOverGrpc) {
  WaitForScenario();
  auto stub = NewStub();
  v1::CampaignReport r;
  ASSERT_TRUE(stub->GetCampaignReport(TestPlatform::Context(*acme_).get(),
                                      CampaignRequest(At(9, 0), At(11, 0)), &r)
                  .ok());
  EXPECT_EQ(r.totals().connects(), 5);
  EXPECT_EQ(r.totals().abandoned(), 1);
  EXPECT_DOUBLE_EQ(r.totals().abandon_rate(), 1.0 / 6);
  EXPECT_EQ(r.totals().talk().seconds(), 760);
  EXPECT_EQ(r.totals().average_handle_time().seconds(), 170);
  EXPECT_EQ(r.costs().total_micros(), 303333);
  EXPECT_EQ(r.abandon_ledger().last_30_days().abandoned(), 2);
  EXPECT_EQ(r.abandon_ledger().last_30_days().live_answers(), 7);

  v1::GetUsageRequest ureq;
  ureq.set_tenant("tenants/acme");
  *ureq.mutable_start_time() = ToTimestamp(DayD());
  *ureq.mutable_end_time() = ToTimestamp(DayD() + absl::Hours(24));
  v1::Usage u;
  grpc::Status st = stub->GetUsage(TestPlatform::Context(*acme_).get(), ureq, &u);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(u.billable_minutes(), 14);
  EXPECT_EQ(u.recording_storage_bytes(), 1500000);
  EXPECT_EQ(u.bill().plan(), "basic");
  EXPECT_EQ(u.bill().total_micros(), 150120000);

  v1::ExportReportCsvRequest creq;
  creq.set_parent("tenants/acme");
  *creq.mutable_start_time() = ToTimestamp(DayD());
  *creq.mutable_end_time() = ToTimestamp(DayD() + absl::Hours(24));
  v1::ExportReportCsvResponse csv;
  st = stub->ExportReportCsv(TestPlatform::Context(*acme_).get(), creq, &csv);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(csv.rows(), 1);
  EXPECT_TRUE(
      absl::StrContains(csv.csv(), "2026-11-02,spring,10,5,1,6,5,760.000,90.000,3,USD,303333"))
      << csv.csv();

  // globex has nothing of acme's.
  ureq.set_tenant("tenants/globex");
  ASSERT_TRUE(stub->GetUsage(TestPlatform::Context(*globex_).get(), ureq, &u).ok());
  EXPECT_EQ(u.attempts(), 0);
  EXPECT_FALSE(u.has_bill());  // no plan for globex
}

// Another tenant's admin gets PERMISSION_DENIED, no data, for every method.
TEST_F(ReportingServiceTest, WrongTenantIsDenied) {
  const std::string range =
      absl::StrCat("start_time { seconds: ", absl::ToUnixSeconds(At(9, 0)),
                   " } end_time { seconds: ", absl::ToUnixSeconds(At(11, 0)), " }");
  const std::vector<dialgrid::testing::IsolationCase> cases = {
      {"/dialgrid.reporting.v1.ReportingService/GetCampaignReport",
       "campaign: 'tenants/acme/campaigns/spring' " + range},
      {"/dialgrid.reporting.v1.ReportingService/GetAgentReport",
       "agent: 'tenants/acme/agents/ann' " + range},
      {"/dialgrid.reporting.v1.ReportingService/GetAgentReport",
       "agent: 'tenants/acme/agents/-' " + range},
      {"/dialgrid.reporting.v1.ReportingService/GetUsage", "tenant: 'tenants/acme' " + range},
      {"/dialgrid.reporting.v1.ReportingService/ExportReportCsv",
       "parent: 'tenants/acme' " + range},
  };
  for (const auto& m : dialgrid::testing::MethodsWithoutCase(
           *v1::Usage::descriptor()->file()->FindServiceByName("ReportingService"), cases)) {
    ADD_FAILURE() << "no isolation case for " << m;
  }
  const auto failures =
      dialgrid::testing::CheckTenantIsolation(platform_->Channel("reporting"), *globex_, cases);
  EXPECT_TRUE(failures.empty()) << absl::StrJoin(failures, "\n");
  // Without a credential: UNAUTHENTICATED.
  auto stub = NewStub();
  v1::CampaignReport r;
  EXPECT_EQ(stub->GetCampaignReport(TestPlatform::Context("").get(),
                                    CampaignRequest(At(9, 0), At(11, 0)), &r)
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

// Bad ranges: INVALID_ARGUMENT with the reason.
TEST_F(ReportingServiceTest, BadRangesAreRefused) {
  auto stub = NewStub();
  v1::CampaignReport r;
  auto req = CampaignRequest(At(9, 0), At(11, 0));
  req.clear_end_time();
  grpc::Status st = stub->GetCampaignReport(TestPlatform::Context(*acme_).get(), req, &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonOf(st), "REPORT_RANGE_INVALID");
  st = stub->GetCampaignReport(TestPlatform::Context(*acme_).get(),
                               CampaignRequest(At(9, 30), At(11, 0)), &r);
  EXPECT_EQ(ReasonOf(st), "REPORT_RANGE_INVALID");
  st = stub->GetCampaignReport(TestPlatform::Context(*acme_).get(),
                               CampaignRequest(At(11, 0), At(9, 0)), &r);
  EXPECT_EQ(ReasonOf(st), "REPORT_RANGE_INVALID");
  st = stub->GetCampaignReport(TestPlatform::Context(*acme_).get(),
                               CampaignRequest(DayD() - absl::Hours(24 * 500), DayD()), &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonOf(st), "REPORT_RANGE_TOO_LONG");
  auto bad_name = CampaignRequest(At(9, 0), At(11, 0));
  bad_name.set_campaign("tenants/acme/spring");
  st = stub->GetCampaignReport(TestPlatform::Context(*acme_).get(), bad_name, &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

// Metrics per tenant and campaign, no per-agent or per-call label.
TEST_F(ReportingServiceTest, MetricsHaveNoPerCallOrAgentLabels) {
  WaitForScenario();
  const std::string attempts =
      "dialgrid_reporting_attempts_total{campaign=\"spring\",tenant=\"acme\"}";
  const std::string talk =
      "dialgrid_reporting_talk_seconds_total{campaign=\"spring\",tenant=\"acme\"}";
  std::string text;
  // The hand scenario's 11 attempts (c0-c10, whatever their day; c11 was
  // not placed) and 760 s of talk (c1's second ENDED not counted).
  EXPECT_TRUE(TestPlatform::Eventually([&] {
    text = Scrape(platform_->AdminAddress("reporting"));
    return Metric(text, attempts) == 11 && Metric(text, talk) == 760;
  })) << text.substr(0, 4000);
  EXPECT_TRUE(absl::StrContains(text, "dialgrid_reporting_events_total{result=\"applied\"}"));
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StartsWith(line, "dialgrid_reporting_")) continue;
    EXPECT_FALSE(absl::StrContains(line, "agent=")) << line;
    EXPECT_FALSE(absl::StrContains(line, "call=")) << line;
  }
}

}  // namespace
}  // namespace dialgrid::reporting
