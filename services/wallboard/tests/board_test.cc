// Unit tests of the wallboard's domain (credentials, JSON, HTTP statuses) and
// of BoardBuilder over a fake BoardSource (the gRPC adapter is tested against
// the running platform by wallboard_http_test.py).
#include "services/wallboard/domain/board.h"

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "services/common/core/clock.h"
#include "services/common/core/errors.h"
#include "services/wallboard/application/board_builder.h"
#include "services/wallboard/domain/access.h"

namespace dialgrid::wallboard {
namespace {

constexpr char kSecret[] = "dgk_k0123456789abcde_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

TEST(CredentialFromHeader, TakesABearerSecret) {
  absl::StatusOr<std::string> c = CredentialFromHeader(std::string("Bearer ") + kSecret);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(*c, kSecret);
  c = CredentialFromHeader(std::string("  bearer   ") + kSecret + " ");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(*c, kSecret);
}

TEST(CredentialFromHeader, RefusesMissingAndMalformed) {
  absl::StatusOr<std::string> c = CredentialFromHeader("");
  EXPECT_EQ(c.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ReasonOf(c.status()), "MISSING_CREDENTIAL");
  for (const std::string& bad :
       {std::string("Basic dXNlcjpwYXNz"), std::string("Bearer"), std::string("Bearer "),
        std::string("Bearer a b"), std::string("Bearer abc\r\nx-evil: 1"),
        std::string("Bearer ") + std::string(kMaxCredentialLength + 1, 'a'),
        std::string(kSecret)}) {
    c = CredentialFromHeader(bad);
    EXPECT_EQ(c.status().code(), absl::StatusCode::kUnauthenticated) << bad;
    EXPECT_EQ(ReasonOf(c.status()), "MALFORMED_CREDENTIAL") << bad;
  }
  // The secret never appears in the message.
  c = CredentialFromHeader(std::string("Bearer ") + kSecret + "!");
  EXPECT_FALSE(absl::StrContains(c.status().message(), "AAAA"));
}

TEST(CredentialIdOf, OnlyTheIdOfAWellFormedCredential) {
  EXPECT_EQ(CredentialIdOf(kSecret), "k0123456789abcde");
  EXPECT_EQ(CredentialIdOf("dgk_short"), "");
  EXPECT_EQ(CredentialIdOf("xyz_k0123456789abcde_AAAA"), "");
  EXPECT_EQ(CredentialIdOf("dgk_K0123456789ABCDE_AAAA"), "");
}

TEST(ValidateTenant, TenantIdsOnly) {
  EXPECT_TRUE(ValidateTenant("acme-insurance").ok());
  for (const char* bad : {"", "ab", "Acme", "acme-", "1acme", "acme/x", "acme%2fx"}) {
    absl::Status st = ValidateTenant(bad);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(ReasonOf(st), "INVALID_ID") << bad;
  }
}

TEST(HttpStatusOf, MapsCodes) {
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kResourceExhausted), 429);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kDeadlineExceeded), 504);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kInternal), 500);
}

TEST(EnumLabel, StripsThePrefixAndLowers) {
  EXPECT_EQ(EnumLabel("STATE_ON_CALL", "STATE_"), "on_call");
  EXPECT_EQ(EnumLabel("CAMPAIGN_MODE_PREDICTIVE", "CAMPAIGN_MODE_"), "predictive");
  EXPECT_EQ(EnumLabel("OTHER", "STATE_"), "other");
}

TEST(ErrorToJson, CodeReasonAndMessage) {
  std::string json = ErrorToJson(PermissionDenied("TENANT_MISMATCH", "not \"yours\""));
  EXPECT_EQ(json,
            "{\"error\":{\"code\":\"PERMISSION_DENIED\",\"http_status\":403,"
            "\"reason\":\"TENANT_MISMATCH\",\"message\":\"not \\\"yours\\\"\"}}");
  // No reason attached: the code's name.
  json = ErrorToJson(absl::DeadlineExceededError("late"));
  EXPECT_TRUE(absl::StrContains(json, "\"reason\":\"DEADLINE_EXCEEDED\"")) << json;
}

Board SampleBoard() {
  Board b;
  b.tenant_id = "acme";
  b.generated_at = absl::FromUnixSeconds(1764730800);  // 2025-12-03T03:00:00Z
  b.sales_state = PartState{false, "REPORTING_NOT_CONFIGURED", "no --reporting_address"};
  b.tenant_state = PartState::Ok();
  b.tenant = {"acme", "ACME \"Insurance\"", "America/Chicago"};
  b.agents_state = PartState::Ok();
  AgentRow maria{"tenants/acme/agents/maria",       "Maria", "red", "ready", "", "ext-1", "",
                 b.generated_at - absl::Seconds(42)};
  AgentRow tom{"tenants/acme/agents/tom",        "Tom", "red", "not_ready", "lunch", "ext-2", "",
               b.generated_at - absl::Seconds(5)};
  AgentRow ines{"tenants/acme/agents/ines", "Ines", "", "ready", "", "", "", absl::InfinitePast()};
  b.agents.agents = {maria, tom, ines};
  b.today_state = PartState::From(Unavailable("PEER_UNAVAILABLE", "agent-state is down"));
  b.campaigns_state = PartState::Ok();
  CampaignRow c;
  c.name = "tenants/acme/campaigns/renewals";
  c.display_name = "Renewals";
  c.mode = "predictive";
  c.state = "running";
  c.figures_state = PartState::Ok();
  CampaignFigures f;
  f.calls_in_progress = 6;
  f.agents_ready = 1;
  f.agents_on_call = 2;
  f.dials = 100;
  f.connected = 40;
  f.abandoned = 1;
  f.ledger_known = true;
  f.abandoned_24h = 1;
  f.live_answers_24h = 50;
  c.figures = f;
  CampaignRow d;
  d.name = "tenants/acme/campaigns/draft-one";
  d.state = "draft";
  d.figures_state = PartState{false, "CAMPAIGN_NOT_STARTED", "never run"};
  b.campaigns.campaigns = {c, d};
  return b;
}

TEST(BoardToJson, CountsAgentsByStateAndSumsCampaigns) {
  std::string json = BoardToJson(SampleBoard());
  EXPECT_TRUE(absl::StartsWith(json, "{\"generated_at\":\"2025-12-03T03:00:00.000Z\"")) << json;
  EXPECT_TRUE(absl::StrContains(json, "\"display_name\":\"ACME \\\"Insurance\\\"\"")) << json;
  EXPECT_TRUE(absl::StrContains(
      json,
      "\"counts\":{\"total\":3,\"ready\":2,\"reserved\":0,\"on_call\":0,\"wrap_up\":0,"
      "\"not_ready\":1,\"logged_out\":0}"))
      << json;
  EXPECT_TRUE(absl::StrContains(json, "\"id\":\"maria\"")) << json;
  EXPECT_TRUE(absl::StrContains(json, "\"seconds_in_state\":42")) << json;
  EXPECT_TRUE(absl::StrContains(json, "\"state_since\":null,\"seconds_in_state\":null")) << json;
  EXPECT_TRUE(absl::StrContains(json, "\"reason_code\":\"lunch\"")) << json;
  EXPECT_TRUE(absl::StrContains(
      json,
      "\"today\":{\"available\":false,\"reason\":\"PEER_UNAVAILABLE\",\"message\":"
      "\"agent-state is down\",\"sales\":null,\"sales_reason\":\"REPORTING_NOT_CONFIGURED\"}"))
      << json;
  // With reporting: the count and since when it counts.
  Board with_sales = SampleBoard();
  with_sales.sales_state = PartState::Ok();
  with_sales.sales = SalesToday{4, absl::FromUnixSeconds(1764655200)};  // 2025-12-02T06:00:00Z
  EXPECT_TRUE(absl::StrContains(BoardToJson(with_sales),
                                "\"sales\":4,\"sales_since\":\"2025-12-02T06:00:00.000Z\"}"))
      << BoardToJson(with_sales);
  EXPECT_TRUE(absl::StrContains(json, "\"lines_per_agent\":2,")) << json;
  EXPECT_TRUE(absl::StrContains(json,
                                "\"figures\":{\"available\":false,\"reason\":"
                                "\"CAMPAIGN_NOT_STARTED\""))
      << json;
  EXPECT_TRUE(absl::StrContains(json,
                                "\"dials\":100,\"answered\":0,\"connected\":40,"
                                "\"abandoned\":1,\"ledger_known\":true,"
                                "\"abandoned_24h\":1,\"live_answers_24h\":50,"
                                "\"abandon_rate_24h\":0.02,"))
      << json;
  EXPECT_TRUE(absl::StrContains(json, "\"abandon_rate_30d\":null")) << json;
}

TEST(LinesPerAgent, NoneWithoutAgents) {
  CampaignFigures f;
  f.calls_in_progress = 3;
  EXPECT_FALSE(LinesPerAgent(f).has_value());
  f.agents_ready = 2;
  ASSERT_TRUE(LinesPerAgent(f).has_value());
  EXPECT_DOUBLE_EQ(*LinesPerAgent(f), 1.5);
}

// A BoardSource whose answers a test sets, counting calls.
class FakeSource final : public BoardSource {
 public:
  absl::StatusOr<TenantInfo> tenant = TenantInfo{"acme", "ACME", "America/Chicago"};
  absl::StatusOr<AgentList> agents = AgentList{};
  absl::StatusOr<CampaignList> campaigns = CampaignList{};
  absl::Status today_status = absl::OkStatus();
  std::map<std::string, absl::StatusOr<CampaignFigures>> figures;
  absl::StatusOr<int64_t> sales = 3;
  std::vector<std::pair<absl::Time, absl::Time>> sales_ranges;

  std::atomic<int> calls{0};
  std::mutex mu;
  std::vector<absl::CivilDay> days;
  std::vector<std::string> figures_read;
  std::vector<std::string> credentials;

  absl::StatusOr<TenantInfo> GetTenant(const Viewer& v) override {
    Seen(v);
    return tenant;
  }
  absl::StatusOr<AgentList> ListAgents(const Viewer& v, int) override {
    Seen(v);
    return agents;
  }
  absl::StatusOr<TeamToday> GetTeamToday(const Viewer& v, absl::CivilDay day) override {
    Seen(v);
    std::lock_guard<std::mutex> lock(mu);
    days.push_back(day);
    if (!today_status.ok()) return today_status;
    TeamToday t;
    t.day = day;
    t.calls_handled = 7;
    return t;
  }
  absl::StatusOr<CampaignList> ListCampaigns(const Viewer& v, int) override {
    Seen(v);
    return campaigns;
  }
  absl::StatusOr<CampaignFigures> GetFigures(const Viewer& v, const std::string& name) override {
    Seen(v);
    std::lock_guard<std::mutex> lock(mu);
    figures_read.push_back(name);
    auto it = figures.find(name);
    if (it == figures.end()) return CampaignFigures{};
    return it->second;
  }

  absl::StatusOr<int64_t> GetSales(const Viewer& v, absl::Time start, absl::Time end) override {
    Seen(v);
    std::lock_guard<std::mutex> lock(mu);
    sales_ranges.emplace_back(start, end);
    return sales;
  }

 private:
  void Seen(const Viewer& v) {
    ++calls;
    std::lock_guard<std::mutex> lock(mu);
    credentials.push_back(v.credential);
  }
};

AgentRow Agent(const std::string& id, const std::string& state) {
  AgentRow a;
  a.name = "tenants/acme/agents/" + id;
  a.display_name = id;
  a.state = state;
  return a;
}

CampaignRow Campaign(const std::string& id, const std::string& state) {
  CampaignRow c;
  c.name = "tenants/acme/campaigns/" + id;
  c.state = state;
  return c;
}

class BoardBuilderTest : public ::testing::Test {
 protected:
  // 2026-12-03T03:00:00Z: still 2 December in Chicago.
  FakeClock clock_{absl::FromCivil(absl::CivilSecond(2026, 12, 3, 3, 0, 0), absl::UTCTimeZone())};
  FakeSource source_;
  Viewer viewer_{"acme", kSecret, absl::InfiniteFuture(), "req-1"};
};

TEST_F(BoardBuilderTest, EveryPartFromItsSourceWithTheViewersCredential) {
  source_.agents = AgentList{{Agent("a", "ready")}, false};
  source_.campaigns = CampaignList{{Campaign("run", "running"), Campaign("new", "draft")}, false};
  CampaignFigures f;
  f.dials = 12;
  source_.figures["tenants/acme/campaigns/run"] = f;
  BoardBuilder builder(source_, clock_);
  absl::StatusOr<Board> b = builder.Build(viewer_);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE(b->tenant_state.available);
  EXPECT_EQ(b->tenant.display_name, "ACME");
  EXPECT_TRUE(b->agents_state.available);
  ASSERT_EQ(b->agents.agents.size(), 1u);
  EXPECT_TRUE(b->today_state.available);
  EXPECT_EQ(b->today.calls_handled, 7);
  // Today is the tenant's day, not UTC's.
  ASSERT_EQ(source_.days.size(), 1u);
  EXPECT_EQ(source_.days[0], absl::CivilDay(2026, 12, 2));
  ASSERT_EQ(b->campaigns.campaigns.size(), 2u);
  const CampaignRow& run = b->campaigns.campaigns[0];
  ASSERT_TRUE(run.figures_state.available);
  ASSERT_TRUE(run.figures.has_value());
  EXPECT_EQ(run.figures->dials, 12);
  const CampaignRow& draft = b->campaigns.campaigns[1];
  EXPECT_FALSE(draft.figures_state.available);
  EXPECT_EQ(draft.figures_state.reason, "CAMPAIGN_NOT_STARTED");
  EXPECT_EQ(source_.figures_read, std::vector<std::string>{"tenants/acme/campaigns/run"});
  // Sales from reporting, over whole UTC hours: from the hour of Chicago's
  // midnight (06:00Z on 2 December) to the end of this hour (04:00Z).
  ASSERT_TRUE(b->sales_state.available);
  EXPECT_EQ(b->sales.sales, 3);
  ASSERT_EQ(source_.sales_ranges.size(), 1u);
  const absl::TimeZone utc = absl::UTCTimeZone();
  EXPECT_EQ(source_.sales_ranges[0].first, absl::FromCivil(absl::CivilHour(2026, 12, 2, 6), utc));
  EXPECT_EQ(source_.sales_ranges[0].second, absl::FromCivil(absl::CivilHour(2026, 12, 3, 4), utc));
  EXPECT_EQ(b->sales.since, source_.sales_ranges[0].first);
  for (const std::string& c : source_.credentials) EXPECT_EQ(c, kSecret);
  EXPECT_EQ(b->generated_at, clock_.Now());
}

TEST_F(BoardBuilderTest, TenancyRefusalStopsBeforeAnyOtherService) {
  source_.tenant = Unauthenticated("CREDENTIAL_UNKNOWN", "unknown credential");
  BoardBuilder builder(source_, clock_);
  absl::StatusOr<Board> b = builder.Build(viewer_);
  EXPECT_EQ(b.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ReasonOf(b.status()), "CREDENTIAL_UNKNOWN");
  EXPECT_EQ(source_.calls.load(), 1);

  source_.tenant = PermissionDenied("TENANT_MISMATCH", "another tenant's");
  b = builder.Build(viewer_);
  EXPECT_EQ(b.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ReasonOf(b.status()), "TENANT_MISMATCH");
  EXPECT_EQ(source_.calls.load(), 2);
}

TEST_F(BoardBuilderTest, ARefusalFromAnyServiceRefusesTheWholeBoard) {
  source_.agents = PermissionDenied("ROLE_NOT_ALLOWED", "agents may not");
  BoardBuilder builder(source_, clock_);
  absl::StatusOr<Board> b = builder.Build(viewer_);
  EXPECT_EQ(b.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ReasonOf(b.status()), "ROLE_NOT_ALLOWED");

  source_.agents = AgentList{};
  source_.campaigns = CampaignList{{Campaign("run", "running")}, false};
  source_.figures["tenants/acme/campaigns/run"] = PermissionDenied("TENANT_MISMATCH", "no");
  b = builder.Build(viewer_);
  EXPECT_EQ(b.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ReasonOf(b.status()), "TENANT_MISMATCH");

  source_.figures.clear();
  source_.today_status = Unauthenticated("CREDENTIAL_REVOKED", "revoked");
  b = builder.Build(viewer_);
  EXPECT_EQ(b.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ReasonOf(b.status()), "CREDENTIAL_REVOKED");

  // Reporting's refusal too (e.g. a role it does not serve).
  source_.today_status = absl::OkStatus();
  source_.sales = PermissionDenied("ROLE_NOT_ALLOWED", "not a reader");
  b = builder.Build(viewer_);
  EXPECT_EQ(b.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ReasonOf(b.status()), "ROLE_NOT_ALLOWED");
}

TEST_F(BoardBuilderTest, AServiceThatDoesNotAnswerIsUnavailableNotFatal) {
  source_.campaigns = WithReason(absl::UnavailableError("down"), "PEER_UNAVAILABLE");
  BoardBuilder builder(source_, clock_);
  absl::StatusOr<Board> b = builder.Build(viewer_);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE(b->agents_state.available);
  EXPECT_FALSE(b->campaigns_state.available);
  EXPECT_EQ(b->campaigns_state.reason, "PEER_UNAVAILABLE");
  source_.sales = Unavailable("REPORTING_NOT_CONFIGURED", "no reporting");
  b = builder.Build(viewer_);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_FALSE(b->sales_state.available);
  EXPECT_EQ(b->sales_state.reason, "REPORTING_NOT_CONFIGURED");
  source_.sales = 3;

  source_.campaigns = CampaignList{{Campaign("run", "running")}, false};
  source_.figures["tenants/acme/campaigns/run"] = absl::DeadlineExceededError("slow");
  b = builder.Build(viewer_);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE(b->campaigns_state.available);
  EXPECT_FALSE(b->campaigns.campaigns[0].figures_state.available);
  EXPECT_EQ(b->campaigns.campaigns[0].figures_state.reason, "DEADLINE_EXCEEDED");
}

TEST_F(BoardBuilderTest, WithoutTenancyNoTodayButTheRest) {
  source_.tenant = WithReason(absl::UnavailableError("down"), "PEER_UNAVAILABLE");
  source_.agents = AgentList{{Agent("a", "ready")}, false};
  BoardBuilder builder(source_, clock_);
  absl::StatusOr<Board> b = builder.Build(viewer_);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_FALSE(b->tenant_state.available);
  EXPECT_TRUE(b->agents_state.available);
  EXPECT_FALSE(b->today_state.available);
  EXPECT_EQ(b->today_state.reason, "TENANCY_UNAVAILABLE");
  EXPECT_TRUE(source_.days.empty());
}

TEST_F(BoardBuilderTest, NothingAnsweredIsPlatformUnavailable) {
  absl::Status down = WithReason(absl::UnavailableError("down"), "PEER_UNAVAILABLE");
  source_.tenant = down;
  source_.agents = down;
  source_.campaigns = down;
  BoardBuilder builder(source_, clock_);
  absl::StatusOr<Board> b = builder.Build(viewer_);
  EXPECT_EQ(b.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ReasonOf(b.status()), "PLATFORM_UNAVAILABLE");
}

TEST_F(BoardBuilderTest, FiguresOfRunningCampaignsFirstUpToTheCap) {
  source_.campaigns =
      CampaignList{{Campaign("a-stopped", "stopped"), Campaign("b-paused", "paused"),
                    Campaign("c-running", "running")},
                   false};
  BoardBuilderOptions options;
  options.max_figures = 2;
  BoardBuilder builder(source_, clock_, options);
  absl::StatusOr<Board> b = builder.Build(viewer_);
  ASSERT_TRUE(b.ok()) << b.status();
  const auto& c = b->campaigns.campaigns;
  ASSERT_EQ(c.size(), 3u);
  EXPECT_FALSE(c[0].figures_state.available);
  EXPECT_EQ(c[0].figures_state.reason, "FIGURES_NOT_READ");
  EXPECT_TRUE(c[1].figures_state.available);
  EXPECT_TRUE(c[2].figures_state.available);
}

TEST_F(BoardBuilderTest, ManyCampaignsReadInParallel) {
  CampaignList list;
  for (int i = 0; i < 30; ++i)
    list.campaigns.push_back(Campaign("c" + std::to_string(i), "running"));
  source_.campaigns = list;
  BoardBuilder builder(source_, clock_);
  absl::StatusOr<Board> b = builder.Build(viewer_);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(source_.figures_read.size(), 30u);
  for (const CampaignRow& c : b->campaigns.campaigns) EXPECT_TRUE(c.figures_state.available);
}

}  // namespace
}  // namespace dialgrid::wallboard
