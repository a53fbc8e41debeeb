// Service tests of the compliance API points of issue 14, over gRPC against
// the real binaries (tests/fixtures/test_platform.h: Redis, the broker,
// tenancy and compliance as child processes):
//   - request_id on do-not-call and consent changes (retries answer as the
//     first call, apply nothing; another request under the same id refused),
//   - dates as dialgrid.type.v1.Date (UpdateRegistry as_of, PruneRegistryOverlay
//     through),
//   - registries addressed by name, no server path in any response,
//   - a tenant lists and exports its own do-not-call list and consents,
//     paged, PERMISSION_DENIED for another tenant's.

#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "dialgrid/compliance/v1/compliance.grpc.pb.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/core/errors.h"
#include "services/common/server/grpc_status.h"
#include "services/compliance/domain/dnc_index.h"
#include "services/compliance/domain/registry_manifest.h"
#include "tests/fixtures/test_platform.h"

namespace dialgrid::compliance {
namespace {

using dialgrid::testing::TestPlatform;
using google::protobuf::util::TimeUtil;
using tenancy::v1::ROLE_AGENT;
using tenancy::v1::ROLE_TENANT_ADMIN;

std::string Reason(const grpc::Status& st) { return ReasonOf(FromGrpcStatus(st)); }

type::v1::Date Day(int y, int m, int d) {
  type::v1::Date out;
  out.set_year(y);
  out.set_month(m);
  out.set_day(d);
  return out;
}

class ComplianceApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto p = TestPlatform::Start();
    ASSERT_TRUE(p.ok()) << p.status();
    platform_ = p->release();
    // A registry index (data of yesterday, 31-day limit) in the platform's dir.
    registry_path_ = new std::string(platform_->dir() + "/us-national.dncidx");
    DncIndexBuilder b;
    ASSERT_TRUE(b.Add(6502530077).ok());
    auto index = b.Build();
    ASSERT_TRUE(index.ok()) << index.status();
    ASSERT_TRUE(index->WriteTo(*registry_path_).ok());
    const absl::CivilDay yesterday = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone()) - 1;
    // Under the US rules row: its EBR rows lift its listings (issue 21).
    ASSERT_TRUE(
        WriteRegistryManifest(*registry_path_, *index, yesterday, 31, "US-NATIONAL-DNC").ok());
    absl::Status st = platform_->StartService("compliance", DIALGRID_COMPLIANCE_BIN,
                                              {"--registries=us-national:dnc:" + *registry_path_});
    ASSERT_TRUE(st.ok()) << st;
    ASSERT_TRUE(platform_->CreateTenant("api-a").ok());
    ASSERT_TRUE(platform_->CreateTenant("api-b").ok());
    admin_a_ = new std::string(*platform_->Credential("api-a", ROLE_TENANT_ADMIN));
    agent_a_ = new std::string(*platform_->Credential("api-a", ROLE_AGENT));
    admin_b_ = new std::string(*platform_->Credential("api-b", ROLE_TENANT_ADMIN));
  }
  static void TearDownTestSuite() {
    delete admin_a_;
    delete agent_a_;
    delete admin_b_;
    delete registry_path_;
    delete platform_;
  }
  void SetUp() override { ASSERT_NE(platform_, nullptr) << "the platform did not start"; }

  static std::unique_ptr<v1::ComplianceService::Stub> Stub() {
    return v1::ComplianceService::NewStub(platform_->Channel("compliance"));
  }
  static std::unique_ptr<grpc::ClientContext> Ctx(const std::string& secret) {
    return TestPlatform::Context(secret);
  }

  static TestPlatform* platform_;
  static std::string* registry_path_;
  static std::string *admin_a_, *agent_a_, *admin_b_;
};

TestPlatform* ComplianceApiTest::platform_ = nullptr;
std::string* ComplianceApiTest::registry_path_ = nullptr;
std::string* ComplianceApiTest::admin_a_ = nullptr;
std::string* ComplianceApiTest::agent_a_ = nullptr;
std::string* ComplianceApiTest::admin_b_ = nullptr;

TEST_F(ComplianceApiTest, DoNotCallChangesAreIdempotentByRequestId) {
  auto stub = Stub();
  v1::AddDoNotCallNumbersRequest add;
  add.set_parent("tenants/api-a");
  add.add_phone_numbers("+12122010601");
  add.add_phone_numbers("+13052010123");
  add.set_reason("asked on the phone");
  add.set_request_id("idem-add-1");
  v1::AddDoNotCallNumbersResponse first, retry;
  ASSERT_TRUE(stub->AddDoNotCallNumbers(Ctx(*agent_a_).get(), add, &first).ok());
  EXPECT_EQ(first.added(), 2);

  v1::RemoveDoNotCallNumbersRequest rm;
  rm.set_parent("tenants/api-a");
  rm.add_phone_numbers("+13052010123");
  rm.set_request_id("idem-rm-1");
  v1::RemoveDoNotCallNumbersResponse removed, removed_again;
  ASSERT_TRUE(stub->RemoveDoNotCallNumbers(Ctx(*admin_a_).get(), rm, &removed).ok());
  EXPECT_EQ(removed.removed(), 1);

  // The add's retry answers as the first time and does not list the removed number again.
  ASSERT_TRUE(stub->AddDoNotCallNumbers(Ctx(*agent_a_).get(), add, &retry).ok());
  EXPECT_EQ(retry.added(), 2);
  EXPECT_EQ(retry.already_listed(), 0);
  v1::CheckDoNotCallRequest chk;
  chk.set_parent("tenants/api-a");
  chk.set_phone_number("+13052010123");
  v1::CheckDoNotCallResponse listed;
  ASSERT_TRUE(stub->CheckDoNotCall(Ctx(*admin_a_).get(), chk, &listed).ok());
  EXPECT_EQ(listed.entries_size(), 0) << "the retry applied the addition twice";
  ASSERT_TRUE(stub->RemoveDoNotCallNumbers(Ctx(*admin_a_).get(), rm, &removed_again).ok());
  EXPECT_EQ(removed_again.removed(), 1);

  // The same id with another request.
  add.add_phone_numbers("+16502530077");
  v1::AddDoNotCallNumbersResponse reused;
  grpc::Status st = stub->AddDoNotCallNumbers(Ctx(*agent_a_).get(), add, &reused);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(Reason(st), "REQUEST_ID_REUSED");
  // Ids are per tenant: tenant B may use the same one.
  add.set_parent("tenants/api-b");
  EXPECT_TRUE(stub->AddDoNotCallNumbers(Ctx(*admin_b_).get(), add, &reused).ok());
}

TEST_F(ComplianceApiTest, ConsentChangesAreIdempotentByRequestId) {
  auto stub = Stub();
  v1::RecordConsentRequest rec;
  rec.set_parent("tenants/api-a");
  rec.mutable_consent()->set_phone_number("+12122010777");
  rec.mutable_consent()->set_type(v1::CONSENT_TYPE_PRIOR_EXPRESS_WRITTEN);
  *rec.mutable_consent()->mutable_grant_time() = TimeUtil::GetCurrentTime();
  rec.set_request_id("idem-consent-1");
  v1::Consent first, retry, revoked, revoked_again, now;
  ASSERT_TRUE(stub->RecordConsent(Ctx(*agent_a_).get(), rec, &first).ok());
  v1::RevokeConsentRequest revoke;
  revoke.set_name(first.name());
  revoke.set_request_id("idem-revoke-1");
  ASSERT_TRUE(stub->RevokeConsent(Ctx(*agent_a_).get(), revoke, &revoked).ok());
  ASSERT_TRUE(revoked.has_revoke_time());

  ASSERT_TRUE(stub->RecordConsent(Ctx(*agent_a_).get(), rec, &retry).ok());
  EXPECT_FALSE(retry.has_revoke_time());  // the first answer
  v1::GetConsentRequest get;
  get.set_name(first.name());
  ASSERT_TRUE(stub->GetConsent(Ctx(*admin_a_).get(), get, &now).ok());
  EXPECT_TRUE(now.has_revoke_time()) << "the retry recorded the consent again";
  ASSERT_TRUE(stub->RevokeConsent(Ctx(*agent_a_).get(), revoke, &revoked_again).ok());
  EXPECT_EQ(revoked_again.revoke_time().seconds(), revoked.revoke_time().seconds());

  rec.mutable_consent()->set_source("form 12");
  grpc::Status st = stub->RecordConsent(Ctx(*agent_a_).get(), rec, &retry);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(Reason(st), "REQUEST_ID_REUSED");
}

TEST_F(ComplianceApiTest, RegistriesAreNamedDatedAndShowNoServerPath) {
  auto stub = Stub();
  v1::ListRegistriesRequest list;
  list.set_parent("vendor");
  v1::ListRegistriesResponse regs;
  ASSERT_TRUE(stub->ListRegistries(Ctx(platform_->admin_secret()).get(), list, &regs).ok());
  ASSERT_EQ(regs.registries_size(), 1);
  EXPECT_EQ(regs.registries(0).name(), "registries/us-national");
  EXPECT_EQ(regs.registries(0).id(), "us-national");
  EXPECT_FALSE(absl::StrContains(regs.SerializeAsString(), platform_->dir()));
  EXPECT_FALSE(absl::StrContains(regs.SerializeAsString(), ".dncidx"));
  // A tenant reads them in its own scope; a longer name is no scope, though
  // its tenant prefix is the caller's (found by the black-box probe).
  list.set_parent("tenants/api-a");
  ASSERT_TRUE(stub->ListRegistries(Ctx(*admin_a_).get(), list, &regs).ok());
  v1::ListCallingHoursPresetsRequest presets;
  v1::ListCallingHoursPresetsResponse presets_out;
  for (const char* parent : {"tenants/api-a/registries/x", "tenants/api-a/", "vendors", ""}) {
    list.set_parent(parent);
    grpc::Status bad = stub->ListRegistries(Ctx(*admin_a_).get(), list, &regs);
    EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << parent;
    presets.set_parent(parent);
    bad = stub->ListCallingHoursPresets(Ctx(*admin_a_).get(), presets, &presets_out);
    EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << parent;
  }

  v1::UpdateRegistryRequest update;
  update.set_name(regs.registries(0).name());
  update.add_add_numbers("+13052010999");
  *update.mutable_as_of() = Day(2026, 2, 30);
  v1::UpdateRegistryResponse updated;
  grpc::Status st = stub->UpdateRegistry(Ctx(platform_->admin_secret()).get(), update, &updated);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Reason(st), "INVALID_DATE");
  const absl::CivilDay today = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
  *update.mutable_as_of() = Day(static_cast<int>(today.year()), today.month(), today.day());
  st = stub->UpdateRegistry(Ctx(platform_->admin_secret()).get(), update, &updated);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(updated.registry().name(), "registries/us-national");
  EXPECT_FALSE(absl::StrContains(updated.SerializeAsString(), platform_->dir()));
  EXPECT_EQ(updated.registry().overlay_additions(), 1);

  v1::PruneRegistryOverlayRequest prune;
  prune.set_name(regs.registries(0).name());
  *prune.mutable_through() = Day(2025, 13, 1);
  v1::PruneRegistryOverlayResponse pruned;
  st = stub->PruneRegistryOverlay(Ctx(platform_->admin_secret()).get(), prune, &pruned);
  EXPECT_EQ(Reason(st), "INVALID_DATE");
  const absl::CivilDay long_ago = today - 400;
  *prune.mutable_through() =
      Day(static_cast<int>(long_ago.year()), long_ago.month(), long_ago.day());
  st = stub->PruneRegistryOverlay(Ctx(platform_->admin_secret()).get(), prune, &pruned);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(pruned.pruned(), 0);
  EXPECT_EQ(pruned.kept(), 1);
}

TEST_F(ComplianceApiTest, ATenantListsItsOwnDoNotCallListAndConsentsOnly) {
  auto stub = Stub();
  v1::AddDoNotCallNumbersRequest add;
  add.set_parent("tenants/api-a/campaigns/export");
  std::vector<std::string> numbers;
  for (int i = 0; i < 7; ++i) {
    numbers.push_back(absl::StrCat("+1646201", 9000 - i * 11));
    add.add_phone_numbers(numbers.back());
  }
  v1::AddDoNotCallNumbersResponse added;
  ASSERT_TRUE(stub->AddDoNotCallNumbers(Ctx(*agent_a_).get(), add, &added).ok());
  std::sort(numbers.begin(), numbers.end());

  v1::ListDoNotCallEntriesRequest req;
  req.set_parent("tenants/api-a/campaigns/export");
  req.set_page_size(3);
  std::vector<std::string> seen;
  int pages = 0;
  for (; pages < 10; ++pages) {
    v1::ListDoNotCallEntriesResponse resp;
    grpc::Status st = stub->ListDoNotCallEntries(Ctx(*admin_a_).get(), req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    for (const auto& e : resp.entries()) {
      seen.push_back(e.phone_number());
      EXPECT_EQ(e.list(), "campaign:export");
      EXPECT_FALSE(e.added_by().empty());
    }
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  EXPECT_EQ(seen, numbers);
  EXPECT_EQ(pages, 2);  // 3 + 3 + 1

  v1::RecordConsentRequest rec;
  rec.set_parent("tenants/api-a");
  rec.mutable_consent()->set_phone_number("+16462010001");
  rec.mutable_consent()->set_type(v1::CONSENT_TYPE_PRIOR_EXPRESS);
  *rec.mutable_consent()->mutable_grant_time() = TimeUtil::GetCurrentTime();
  v1::Consent consent;
  ASSERT_TRUE(stub->RecordConsent(Ctx(*agent_a_).get(), rec, &consent).ok());
  v1::ListConsentsRequest lc;
  lc.set_parent("tenants/api-a");
  v1::ListConsentsResponse consents;
  ASSERT_TRUE(stub->ListConsents(Ctx(*admin_a_).get(), lc, &consents).ok());
  bool found = false;
  for (const auto& c : consents.consents()) found = found || c.name() == consent.name();
  EXPECT_TRUE(found);

  // Tenant B: nothing of A's, and A's resources are PERMISSION_DENIED.
  v1::ListConsentsResponse theirs;
  lc.set_parent("tenants/api-b");
  ASSERT_TRUE(stub->ListConsents(Ctx(*admin_b_).get(), lc, &theirs).ok());
  for (const auto& c : theirs.consents()) EXPECT_NE(c.phone_number(), "+16462010001");
  std::vector<dialgrid::testing::IsolationCase> cases = {
      {"/dialgrid.compliance.v1.ComplianceService/ListDoNotCallEntries",
       R"pb(parent: "tenants/api-a")pb"},
      {"/dialgrid.compliance.v1.ComplianceService/ListDoNotCallEntries",
       R"pb(parent: "tenants/api-a/campaigns/export" page_size: 1)pb"},
      {"/dialgrid.compliance.v1.ComplianceService/ListConsents", R"pb(parent: "tenants/api-a")pb"},
      {"/dialgrid.compliance.v1.ComplianceService/AddDoNotCallNumbers",
       R"pb(parent: "tenants/api-a" phone_numbers: "+16462010002" request_id: "x")pb"},
      {"/dialgrid.compliance.v1.ComplianceService/RevokeConsent",
       R"pb(name: "tenants/api-a/consents/tel-16462010001" request_id: "x")pb"},
  };
  auto failures =
      dialgrid::testing::CheckTenantIsolation(platform_->Channel("compliance"), *admin_b_, cases);
  EXPECT_TRUE(failures.empty()) << absl::StrJoin(failures, "\n");

  // A page token of one tenant's listing is refused for another's.
  req.set_parent("tenants/api-b/campaigns/export");
  v1::ListDoNotCallEntriesResponse other;
  grpc::Status st = stub->ListDoNotCallEntries(Ctx(*admin_b_).get(), req, &other);
  EXPECT_EQ(Reason(st), "INVALID_PAGE_TOKEN");
}

// TCP ports a process listens on: its socket inodes (/proc/<pid>/fd) found
// in LISTEN state (0A) in /proc/net/tcp and tcp6.
std::set<int> ListeningPorts(pid_t pid) {
  std::set<std::string> inodes;
  const std::string fd_dir = absl::StrCat("/proc/", pid, "/fd");
  if (DIR* dir = opendir(fd_dir.c_str())) {
    while (dirent* e = readdir(dir)) {
      char target[256];
      const std::string link = fd_dir + "/" + e->d_name;
      ssize_t n = readlink(link.c_str(), target, sizeof(target) - 1);
      if (n <= 0) continue;
      target[n] = '\0';
      absl::string_view t(target);
      if (absl::ConsumePrefix(&t, "socket:[") && absl::ConsumeSuffix(&t, "]")) inodes.emplace(t);
    }
    closedir(dir);
  }
  std::set<int> ports;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      if (f.size() < 10 || f[3] != "0A" || inodes.count(f[9]) == 0) continue;
      const std::string& local = f[1];
      ports.insert(static_cast<int>(std::stoul(local.substr(local.rfind(':') + 1), nullptr, 16)));
    }
  }
  return ports;
}

int PortOf(const std::string& address) { return std::stoi(address.substr(address.rfind(':') + 1)); }

// Found after a restart of compliance: it also served gRPC on a loopback
// port that is not in its ports file. Not a channel of ours: gRPC 1.51's TCP
// server clones each listening socket once per extra polling completion queue
// when SO_REUSEPORT is on (its default), binding the clone to the address as
// requested, so with "127.0.0.1:0" the clone gets a second ephemeral port and
// serves the same services there (grpc/grpc#24730, #11920); a synchronous
// service (compliance) has such a queue, tenancy and contacts (callback API)
// do not. Fixed in services/common/server/service_host.cc with
// GRPC_ARG_ALLOW_REUSEPORT 0 (one listener, and a port already in use fails
// LISTEN_FAILED instead of being shared by two processes).
TEST_F(ComplianceApiTest, ListensOnlyOnThePortsOfItsPortsFile) {
  const std::set<int> want = {PortOf(platform_->Address("compliance")),
                              PortOf(platform_->AdminAddress("compliance"))};
  EXPECT_EQ(ListeningPorts(platform_->Process("compliance")->pid()), want);
}

// Issue 21 over gRPC: established business relationships lift the
// registry listing (and a do-not-call request ends them), Korea's separate
// night consent, Japan's refusal record; each RPC's tenancy and input errors.
TEST_F(ComplianceApiTest, RelationshipsNightConsentAndRefusals) {
  ASSERT_TRUE(platform_->CreateTenant("api-c").ok());
  const std::string admin_c = *platform_->Credential("api-c", ROLE_TENANT_ADMIN);
  const std::string agent_c = *platform_->Credential("api-c", ROLE_AGENT);
  auto stub = Stub();
  {
    v1::UpdateRuleSetRequest req;  // registries are the vendor's to set
    req.mutable_rule_set()->set_name("tenants/api-c/ruleSet");
    req.mutable_rule_set()->add_calling_hours_presets("KR-ICNA");
    req.mutable_rule_set()->add_calling_hours_presets("JP-NONE");
    auto* r = req.mutable_rule_set()->add_custom_calling_hours();
    r->set_id("TEST-ALWAYS");
    r->set_jurisdiction("US");
    for (int i = 0; i < 7; ++i) r->add_weekday_windows("00:00-24:00");
    r->set_source("test");
    req.mutable_rule_set()->add_do_not_call_registries("us-national");
    v1::RuleSet out;
    grpc::Status st = stub->UpdateRuleSet(Ctx(platform_->admin_secret()).get(), req, &out);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  auto scrub = [&](const std::string& number, absl::Time at, const std::string& product) {
    v1::ScrubNumbersRequest req;
    req.set_campaign("tenants/api-c/campaigns/c1");
    req.set_dialing_mode(type::v1::DIALING_MODE_PREVIEW);
    *req.mutable_dial_time() = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(at));
    req.add_entries()->set_phone_number(number);
    req.mutable_entries(0)->set_product(product);
    v1::ScrubNumbersResponse resp;
    grpc::Status st = stub->ScrubNumbers(Ctx(admin_c).get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.results_size() == 1 ? resp.results(0).decision() : v1::DialDecision();
  };
  auto codes = [](const v1::DialDecision& d) {
    std::vector<std::string> out;
    for (const auto& r : d.reasons()) out.push_back(r.code());
    return out;
  };
  const std::string listed = "+16502530077";
  const absl::Time now = absl::Now();
  EXPECT_EQ(codes(scrub(listed, now, "")), std::vector<std::string>{"DNC_REGISTRY"});

  // An inquiry ten days ago lifts the listing (3 months).
  const absl::CivilDay today = absl::ToCivilDay(now, absl::UTCTimeZone());
  v1::RecordEstablishedRelationshipRequest rec;
  rec.set_parent("tenants/api-c");
  rec.mutable_relationship()->set_phone_number(listed);
  rec.mutable_relationship()->set_kind(v1::RELATIONSHIP_KIND_INQUIRY);
  const absl::CivilDay ten = today - 10;
  *rec.mutable_relationship()->mutable_date() = Day(static_cast<int>(ten.year()), ten.month(), ten.day());
  rec.set_request_id("ebr-1");
  v1::EstablishedRelationship stored;
  grpc::Status st = stub->RecordEstablishedRelationship(Ctx(agent_c).get(), rec, &stored);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(stored.name(), "tenants/api-c/establishedRelationships/tel-16502530077-inquiry");
  EXPECT_FALSE(stored.recorded_by().empty());
  const v1::DialDecision lifted = scrub(listed, now, "");
  EXPECT_TRUE(lifted.allowed()) << lifted.DebugString();
  ASSERT_EQ(lifted.exemptions_size(), 1);
  EXPECT_EQ(lifted.exemptions(0), "us-national:US-TSR-EBR-INQUIRY");

  // Errors: another tenant's, an undefined kind, no date, a future date.
  v1::EstablishedRelationship ignored;
  st = stub->RecordEstablishedRelationship(Ctx(*admin_b_).get(), rec, &ignored);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  v1::RecordEstablishedRelationshipRequest bad = rec;
  bad.clear_request_id();
  bad.mutable_relationship()->set_kind(static_cast<v1::RelationshipKind>(99));
  st = stub->RecordEstablishedRelationship(Ctx(admin_c).get(), bad, &ignored);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Reason(st), "UNKNOWN_ENUM_VALUE");
  bad = rec;
  bad.clear_request_id();
  bad.mutable_relationship()->clear_date();
  st = stub->RecordEstablishedRelationship(Ctx(admin_c).get(), bad, &ignored);
  EXPECT_EQ(Reason(st), "FIELD_REQUIRED");
  const absl::CivilDay later = today + 2;
  *bad.mutable_relationship()->mutable_date() =
      Day(static_cast<int>(later.year()), later.month(), later.day());
  st = stub->RecordEstablishedRelationship(Ctx(admin_c).get(), bad, &ignored);
  EXPECT_EQ(Reason(st), "DATE_IN_FUTURE");
  bad.mutable_relationship()->set_kind(v1::RELATIONSHIP_KIND_UNSPECIFIED);
  st = stub->RecordEstablishedRelationship(Ctx(admin_c).get(), bad, &ignored);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  // A do-not-call request to the tenant ends it.
  v1::AddDoNotCallNumbersRequest add;
  add.set_parent("tenants/api-c/campaigns/other");
  add.add_phone_numbers(listed);
  v1::AddDoNotCallNumbersResponse added;
  ASSERT_TRUE(stub->AddDoNotCallNumbers(Ctx(agent_c).get(), add, &added).ok());
  EXPECT_EQ(codes(scrub(listed, absl::Now(), "")), std::vector<std::string>{"DNC_REGISTRY"});
  v1::ListEstablishedRelationshipsRequest list;
  list.set_parent("tenants/api-c");
  v1::ListEstablishedRelationshipsResponse page;
  ASSERT_TRUE(stub->ListEstablishedRelationships(Ctx(admin_c).get(), list, &page).ok());
  ASSERT_EQ(page.relationships_size(), 1);
  EXPECT_TRUE(page.relationships(0).has_end_time());
  st = stub->ListEstablishedRelationships(Ctx(*admin_b_).get(), list, &page);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  // Korea: 22:00 in Seoul tomorrow only with the separate night consent.
  absl::TimeZone seoul;
  ASSERT_TRUE(absl::LoadTimeZone("Asia/Seoul", &seoul));
  const absl::CivilDay tomorrow = absl::ToCivilDay(now, seoul) + 1;
  const absl::Time night = absl::FromCivil(
      absl::CivilHour(tomorrow.year(), tomorrow.month(), tomorrow.day(), 22), seoul);
  const std::string kr = "+82212345678";
  v1::RecordConsentRequest consent;
  consent.set_parent("tenants/api-c");
  consent.mutable_consent()->set_phone_number(kr);
  consent.mutable_consent()->set_type(v1::CONSENT_TYPE_PRIOR_EXPRESS);
  *consent.mutable_consent()->mutable_grant_time() =
      TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(now - absl::Hours(1)));
  v1::Consent c;
  ASSERT_TRUE(stub->RecordConsent(Ctx(admin_c).get(), consent, &c).ok());
  EXPECT_EQ(codes(scrub(kr, night, "")), std::vector<std::string>{"OUTSIDE_CALLING_HOURS"});
  consent.mutable_consent()->add_scopes(static_cast<v1::ConsentScope>(7));
  st = stub->RecordConsent(Ctx(admin_c).get(), consent, &c);
  EXPECT_EQ(Reason(st), "UNKNOWN_ENUM_VALUE");
  consent.mutable_consent()->set_scopes(0, v1::CONSENT_SCOPE_NIGHT_HOURS);
  ASSERT_TRUE(stub->RecordConsent(Ctx(admin_c).get(), consent, &c).ok());
  const v1::DialDecision waived = scrub(kr, night, "");
  EXPECT_TRUE(waived.allowed()) << waived.DebugString();
  ASSERT_EQ(waived.hour_waivers_size(), 1);
  EXPECT_EQ(waived.hour_waivers(0), "KR-ICNA-NIGHT");

  // Japan: a refused product is not solicited again; another product is.
  const std::string jp = "+81312345678";
  v1::RecordSolicitationRefusalRequest refuse;
  refuse.set_parent("tenants/api-c");
  refuse.mutable_refusal()->set_phone_number(jp);
  refuse.mutable_refusal()->set_product("plan-a");
  *refuse.mutable_refusal()->mutable_refuse_time() =
      TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(now - absl::Minutes(1)));
  v1::SolicitationRefusal refusal;
  ASSERT_TRUE(stub->RecordSolicitationRefusal(Ctx(agent_c).get(), refuse, &refusal).ok());
  EXPECT_EQ(codes(scrub(jp, absl::Now(), "plan-a")),
            std::vector<std::string>{"SOLICITATION_REFUSED"});
  EXPECT_TRUE(scrub(jp, absl::Now(), "plan-b").allowed());
  st = stub->RecordSolicitationRefusal(Ctx(*admin_b_).get(), refuse, &refusal);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  refuse.mutable_refusal()->set_product("plan a");
  st = stub->RecordSolicitationRefusal(Ctx(admin_c).get(), refuse, &refusal);
  EXPECT_EQ(Reason(st), "INVALID_PRODUCT");
  // A person's refusal: a contact of the tenant, not of another one.
  refuse.mutable_refusal()->set_product("plan-a");
  refuse.mutable_refusal()->clear_phone_number();
  refuse.mutable_refusal()->set_contact("tenants/api-c/contactLists/l/contacts/c1");
  ASSERT_TRUE(stub->RecordSolicitationRefusal(Ctx(agent_c).get(), refuse, &refusal).ok());
  EXPECT_EQ(refusal.name(), "tenants/api-c/solicitationRefusals/contact-l.c1.plan-a");
  refuse.mutable_refusal()->set_contact("tenants/api-b/contactLists/l/contacts/c1");
  st = stub->RecordSolicitationRefusal(Ctx(admin_c).get(), refuse, &refusal);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Reason(st), "TENANT_MISMATCH");
  v1::ListSolicitationRefusalsRequest refusals;
  refusals.set_parent("tenants/api-c");
  v1::ListSolicitationRefusalsResponse listed_refusals;
  ASSERT_TRUE(
      stub->ListSolicitationRefusals(Ctx(admin_c).get(), refusals, &listed_refusals).ok());
  ASSERT_EQ(listed_refusals.refusals_size(), 2);
  EXPECT_EQ(listed_refusals.refusals(0).product(), "plan-a");
  EXPECT_EQ(listed_refusals.refusals(1).contact(), "tenants/api-c/contactLists/l/contacts/c1");
}

}  // namespace
}  // namespace dialgrid::compliance

namespace dialgrid::compliance {
namespace {

// Issue 21 over gRPC: a vendor suppression list created, uploaded as a
// stream (progress per message, then the report) and applied to the one
// tenant it names; only vendor administrators define or load lists, and a
// tenant sees only the lists that apply to it, without their scope.
TEST_F(ComplianceApiTest, SuppressionListCreatedAndUploadedOverTheApi) {
  auto stub = Stub();
  v1::CreateRegistryRequest create;
  create.set_registry_id("api-litigators");
  create.mutable_registry()->set_kind(v1::REGISTRY_KIND_SUPPRESSION);
  create.mutable_registry()->set_number_plan(v1::REGISTRY_NUMBER_PLAN_E164);
  create.mutable_registry()->set_description("known litigators");
  create.mutable_registry()->add_tenants("api-a");
  v1::Registry created;
  grpc::Status st = stub->CreateRegistry(Ctx(*admin_a_).get(), create, &created);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  st = stub->CreateRegistry(Ctx(platform_->admin_secret()).get(), create, &created);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(created.name(), "registries/api-litigators");

  // A tenant administrator cannot load numbers into it.
  {
    auto ctx = Ctx(*admin_a_);
    auto stream = stub->UploadRegistryNumbers(ctx.get());
    v1::UploadRegistryNumbersRequest first;
    first.set_name(created.name());
    first.set_action(v1::REGISTRY_UPLOAD_ACTION_ADD);
    first.add_numbers("+12125550101");
    stream->Write(first);
    stream->WritesDone();
    v1::UploadRegistryNumbersResponse progress;
    EXPECT_FALSE(stream->Read(&progress));
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  // The vendor streams three messages: a reply after each, then the report.
  auto ctx = Ctx(platform_->admin_secret());
  auto stream = stub->UploadRegistryNumbers(ctx.get());
  const std::vector<std::vector<std::string>> messages = {
      {"+12125550101", "+12125550102"}, {"twelve", "+442079460000"}, {"+12125550101"}};
  std::vector<v1::UploadRegistryNumbersResponse> replies;
  for (size_t i = 0; i < messages.size(); ++i) {
    v1::UploadRegistryNumbersRequest msg;
    if (i == 0) {
      msg.set_name(created.name());
      msg.set_action(v1::REGISTRY_UPLOAD_ACTION_ADD);
      msg.set_reason("counsel's list, December");
    }
    for (const auto& n : messages[i]) msg.add_numbers(n);
    ASSERT_TRUE(stream->Write(msg));
    v1::UploadRegistryNumbersResponse progress;
    ASSERT_TRUE(stream->Read(&progress));
    replies.push_back(progress);
  }
  ASSERT_TRUE(stream->WritesDone());
  v1::UploadRegistryNumbersResponse report;
  ASSERT_TRUE(stream->Read(&report));
  ASSERT_TRUE(stream->Finish().ok());
  EXPECT_EQ(replies[0].received(), 2);
  EXPECT_EQ(replies[0].applied(), 2);
  EXPECT_EQ(replies[1].received(), 4);
  EXPECT_EQ(replies[1].rejected(), 1);
  EXPECT_FALSE(replies[2].complete());
  EXPECT_TRUE(report.complete());
  EXPECT_EQ(report.received(), 5);
  EXPECT_EQ(report.applied(), 3);
  EXPECT_EQ(report.unchanged(), 1);
  ASSERT_EQ(report.rejected_numbers_size(), 1);
  EXPECT_EQ(report.rejected_numbers(0).index(), 2);
  EXPECT_EQ(report.rejected_numbers(0).value(), "twelve");
  EXPECT_EQ(report.registry().overlay_additions(), 3);

  // Tenant a sees the list (not its scope) and where a number is listed;
  // tenant b neither.
  v1::ListRegistriesRequest list;
  v1::ListRegistriesResponse regs;
  list.set_parent("tenants/api-a");
  ASSERT_TRUE(stub->ListRegistries(Ctx(*admin_a_).get(), list, &regs).ok());
  bool seen = false;
  for (const auto& r : regs.registries()) {
    if (r.id() != "api-litigators") continue;
    seen = true;
    EXPECT_EQ(r.tenants_size(), 0);
  }
  EXPECT_TRUE(seen);
  list.set_parent("tenants/api-b");
  ASSERT_TRUE(stub->ListRegistries(Ctx(*admin_b_).get(), list, &regs).ok());
  for (const auto& r : regs.registries()) EXPECT_NE(r.id(), "api-litigators");
  v1::CheckDoNotCallRequest where;
  where.set_phone_number("+442079460000");
  v1::CheckDoNotCallResponse found;
  where.set_parent("tenants/api-a");
  ASSERT_TRUE(stub->CheckDoNotCall(Ctx(*admin_a_).get(), where, &found).ok());
  ASSERT_EQ(found.entries_size(), 1);
  EXPECT_EQ(found.entries(0).list(), "suppression:api-litigators");
  where.set_parent("tenants/api-b");
  ASSERT_TRUE(stub->CheckDoNotCall(Ctx(*admin_b_).get(), where, &found).ok());
  EXPECT_EQ(found.entries_size(), 0);

  // Only the vendor changes the scope or deletes it.
  v1::UpdateRegistryScopeRequest scope;
  scope.set_name(created.name());
  scope.set_all_tenants(true);
  v1::Registry rescoped;
  EXPECT_EQ(stub->UpdateRegistryScope(Ctx(*admin_a_).get(), scope, &rescoped).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::DeleteRegistryRequest del;
  del.set_name(created.name());
  v1::DeleteRegistryResponse deleted;
  EXPECT_EQ(stub->DeleteRegistry(Ctx(*admin_b_).get(), del, &deleted).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  st = stub->DeleteRegistry(Ctx(platform_->admin_secret()).get(), del, &deleted);
  ASSERT_TRUE(st.ok()) << st.error_message();
  where.set_parent("tenants/api-a");
  ASSERT_TRUE(stub->CheckDoNotCall(Ctx(*admin_a_).get(), where, &found).ok());
  EXPECT_EQ(found.entries_size(), 0);
}

}  // namespace
}  // namespace dialgrid::compliance
