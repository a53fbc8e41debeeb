// dialgridctl, the real binary, against a running platform: tenancy,
// contacts, compliance, dialing and agent-state as child processes
// (tests/fixtures/test_platform.h). Each case runs the binary as a script
// would and checks its stdout, stderr and exit code.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "dialgrid/compliance/v1/compliance.grpc.pb.h"
#include "dialgrid/contacts/v1/contacts.grpc.pb.h"
#include "dialgrid/dialing/v1/dialing.pb.h"
#include "dialgrid/recording/v1/recording.grpc.pb.h"
#include "google/protobuf/util/json_util.h"
#include "tests/fixtures/test_platform.h"

namespace dialgrid::ctl {
namespace {

using dialgrid::testing::TestPlatform;

struct Result {
  int code = -1;
  std::string out, err;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

// The value of "key:   value" in a command's key/value output; "" if absent.
std::string Field(const std::string& out, const std::string& key) {
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, key + ":")) {
      return std::string(absl::StripAsciiWhitespace(line.substr(key.size() + 1)));
    }
  }
  return "";
}

std::string ShellQuote(const std::string& s) {
  return "'" + absl::StrReplaceAll(s, {{"'", "'\\''"}}) + "'";
}

// Today's and yesterday's dates in UTC, YYYY-MM-DD.
std::string Today() { return absl::FormatTime("%Y-%m-%d", absl::Now(), absl::UTCTimeZone()); }
std::string Yesterday() {
  return absl::FormatTime("%Y-%m-%d", absl::Now() - absl::Hours(24), absl::UTCTimeZone());
}

// An int64 of proto3 JSON (a string) or a plain number.
int64_t Int64Of(const nlohmann::json& v) {
  return v.is_string() ? std::stoll(v.get<std::string>()) : v.is_number() ? v.get<int64_t>() : 0;
}

class DialgridctlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto platform = TestPlatform::Start();
    ASSERT_TRUE(platform.ok()) << platform.status();
    p_ = platform->release();
    ASSERT_TRUE(p_->StartService("contacts", DIALGRID_CONTACTS_BIN).ok())
        << "see " << p_->LogPath("contacts");
    // A small national registry (two numbers) downloaded yesterday, indexed
    // as an operator does, for the registries commands (a change dated the
    // index's own day would not remove a number: the index has that day).
    WriteFile(p_->dir() + "/us-sample.txt", "3125550147\n2125550100\n");
    const std::string index = p_->dir() + "/us-sample.dncidx";
    ASSERT_EQ(system(absl::StrCat(DIALGRID_REGISTRY_BUILD_BIN, " --input=", p_->dir(),
                                  "/us-sample.txt --output=", index, " --as_of=", Yesterday(),
                                  " >/dev/null 2>&1")
                         .c_str()),
              0);
    ASSERT_TRUE(p_->StartService("compliance", DIALGRID_COMPLIANCE_BIN,
                                 {"--registries=us-sample:dnc:" + index})
                    .ok())
        << "see " << p_->LogPath("compliance");
    ASSERT_TRUE(p_->StartService("agent-state", DIALGRID_AGENTSTATE_BIN).ok())
        << "see " << p_->LogPath("agent-state");
    ASSERT_TRUE(
        p_->StartService("dialing", DIALGRID_DIALING_BIN, {"--contacts=" + p_->Address("contacts")})
            .ok())
        << "see " << p_->LogPath("dialing");
    // Recording, with a key-encryption key for ctl-a (as an operator mounts
    // them: "<tenant>.<key id>.key", 64 hex digits, owner-only).
    const std::string keks = p_->dir() + "/keks";
    ASSERT_EQ(system(("mkdir -p -m 700 " + keks + " " + p_->dir() + "/recordings").c_str()), 0);
    WriteFile(keks + "/ctl-a.2026-01.key", std::string(64, 'a') + "\n");
    ASSERT_EQ(chmod((keks + "/ctl-a.2026-01.key").c_str(), 0600), 0);
    ASSERT_TRUE(p_->StartService("recording", DIALGRID_RECORDING_BIN,
                                 {"--recordings_dir=" + p_->dir() + "/recordings",
                                  "--kek_dir=" + keks})
                    .ok())
        << "see " << p_->LogPath("recording");
    ASSERT_TRUE(p_->CreateTenant("ctl-a").ok());
    ASSERT_TRUE(p_->CreateTenant("ctl-b").ok());
    admin_a_ = new std::string(*p_->Credential("ctl-a", tenancy::v1::ROLE_TENANT_ADMIN));
    // The config file: every endpoint, no credential (that comes from the
    // environment, or a flag).
    dir_ = new std::string(p_->dir() + "/ctl");
    ASSERT_EQ(system(("mkdir -p " + *dir_ + "/home").c_str()), 0);
    std::string config = "# written by dialgridctl_test\n";
    for (const char* s : {"tenancy", "contacts", "compliance", "dialing", "recording"}) {
      absl::StrAppend(&config, s, " = ", p_->Address(s), "\n");
    }
    absl::StrAppend(&config, "agent_state=", p_->Address("agent-state"), "\n");
    WriteFile(*dir_ + "/config", config);
  }
  static void TearDownTestSuite() {
    delete p_;
    delete admin_a_;
    delete dir_;
  }
  void SetUp() override { ASSERT_NE(dir_, nullptr) << "suite setup failed"; }

  // Runs dialgridctl with `args` in a clean environment (HOME in the test
  // dir, so no operator's config is read): the config file, the tenant and
  // `credential` (DIALGRID_CREDENTIAL; none when empty).
  static Result Run(const std::vector<std::string>& args, const std::string& credential,
                    bool with_config = true) {
    static int n = 0;
    std::string base = absl::StrCat(*dir_, "/run", ++n);
    std::string cmd =
        absl::StrCat("cd ", ShellQuote(*dir_),
                     " && env -i PATH=/usr/bin:/bin HOME=", ShellQuote(*dir_ + "/home"));
    if (!credential.empty()) absl::StrAppend(&cmd, " DIALGRID_CREDENTIAL=", ShellQuote(credential));
    if (with_config) absl::StrAppend(&cmd, " DIALGRID_CONFIG=", ShellQuote(*dir_ + "/config"));
    absl::StrAppend(&cmd, " ", DIALGRIDCTL_BIN);
    for (const auto& a : args) absl::StrAppend(&cmd, " ", ShellQuote(a));
    absl::StrAppend(&cmd, " >", base, ".out 2>", base, ".err");
    int status = system(cmd.c_str());
    Result r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = ReadAll(base + ".out");
    r.err = ReadAll(base + ".err");
    return r;
  }
  static Result RunA(std::vector<std::string> args) {
    args.insert(args.begin(), {"--tenant", "ctl-a"});
    return Run(args, *admin_a_);
  }

  static void CreateList(const std::string& id) {
    contacts::v1::CreateContactListRequest req;
    req.set_parent("tenants/ctl-a");
    req.set_contact_list_id(id);
    req.mutable_contact_list()->set_display_name("List " + id);
    contacts::v1::ContactList out;
    grpc::Status st = contacts::v1::ContactsService::NewStub(p_->Channel("contacts"))
                          ->CreateContactList(TestPlatform::Context(*admin_a_).get(), req, &out);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  static void CreateCampaign(const std::string& id, const std::string& list) {
    WriteFile(*dir_ + "/" + id + ".json", R"({
      "displayName": "Renewals )" + id + R"(",
      "contactLists": [")" + list + R"("],
      "mode": "CAMPAIGN_MODE_PREDICTIVE",
      "maxLines": 10,
      "callerIds": ["+13125550100"],
      "dispositions": [{"code": "sale", "outcome": "DISPOSITION_OUTCOME_SUCCESS", "sale": true}]
    })");
    Result r = RunA({"campaigns", "create", "--file", id + ".json", "--id", id});
    ASSERT_EQ(r.code, 0) << r.out << r.err;
    EXPECT_TRUE(absl::StrContains(r.out, "tenants/ctl-a/campaigns/" + id)) << r.out;
  }

  static TestPlatform* p_;
  static std::string *admin_a_, *dir_;
};

TestPlatform* DialgridctlTest::p_ = nullptr;
std::string* DialgridctlTest::admin_a_ = nullptr;
std::string* DialgridctlTest::dir_ = nullptr;

TEST_F(DialgridctlTest, HelpCompletionAndUsage) {
  Result help = Run({"--help"}, "");
  EXPECT_EQ(help.code, 0) << help.err;
  EXPECT_TRUE(absl::StrContains(help.out, "campaigns")) << help.out;
  Result sub = Run({"contacts", "import", "--help"}, "");
  EXPECT_EQ(sub.code, 0);
  EXPECT_TRUE(absl::StrContains(sub.out, "--list")) << sub.out;

  Result completion = Run({"completion", "bash"}, "");
  ASSERT_EQ(completion.code, 0) << completion.err;
  for (const char* w : {"complete -o default -F _dialgridctl_complete dialgridctl", "tenants",
                        "\"campaigns\") words=\"list get create start pause resume stop watch",
                        "\"compliance dnc\")", "\"recordings\")", "--json"}) {
    EXPECT_TRUE(absl::StrContains(completion.out, w)) << w;
  }
  // The script is valid bash.
  WriteFile(*dir_ + "/completion.bash", completion.out);
  EXPECT_EQ(system(("bash -n " + *dir_ + "/completion.bash").c_str()), 0);

  Result bad = Run({"campaigns", "launch"}, *admin_a_);
  EXPECT_EQ(bad.code, 2) << bad.err;
}

TEST_F(DialgridctlTest, NoCredentialIsAClearUsageError) {
  Result r = Run({"--tenant", "ctl-a", "campaigns", "list"}, "");
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "no credential")) << r.err;
  // A credential that is not one: the server's UNAUTHENTICATED is exit 5.
  Result wrong = Run({"--tenant", "ctl-a", "campaigns", "list"}, "dgk_not_a_secret");
  EXPECT_EQ(wrong.code, 5) << wrong.out << wrong.err;
  EXPECT_TRUE(absl::StrContains(wrong.err, "UNAUTHENTICATED")) << wrong.err;
}

TEST_F(DialgridctlTest, ImportsACsvAndReportsTheRejectedRow) {
  CreateList("spring");
  WriteFile(*dir_ + "/spring.csv",
            "external_id,first_name,phone,zip,plan\n"
            "c1,Ann,+12122010001,10001,gold\n"
            "c2,Bob,+12122010002,10001,silver\n"
            "c3,Cyd,not-a-phone,10001,gold\n"
            "c4,Dan,+13172010003,46204,gold\n");
  Result r = RunA({"contacts", "import", "--list", "spring", "--file", "spring.csv"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "importing spring.csv")) << r.err;  // the progress line
  EXPECT_EQ(Field(r.out, "accepted (new)"), "3") << r.out;
  EXPECT_EQ(Field(r.out, "rejected"), "1") << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "INVALID_PHONE_NUMBER")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "\n3  ")) << "row 3 is named\n" << r.out;

  // The same file again: the default import id makes it a no-op.
  Result again = RunA({"--json", "contacts", "import", "--list", "spring", "--file", "spring.csv"});
  ASSERT_EQ(again.code, 0) << again.err;
  auto report = nlohmann::json::parse(again.out);
  EXPECT_EQ(report["rowsAccepted"], "0");
  EXPECT_NE(report["rowsSkipped"], "0") << again.out;

  Result lists = RunA({"contacts", "lists", "list"});
  ASSERT_EQ(lists.code, 0) << lists.err;
  EXPECT_TRUE(absl::StartsWith(lists.out, "LIST ")) << lists.out;
  EXPECT_TRUE(absl::StrContains(lists.out, "DISPLAY NAME")) << lists.out;
  EXPECT_TRUE(absl::StrContains(lists.out, "spring")) << lists.out;

  Result exported = RunA({"contacts", "export", "--list", "spring", "--out", "spring-out.csv"});
  ASSERT_EQ(exported.code, 0) << exported.err;
  std::string csv = ReadAll(*dir_ + "/spring-out.csv");
  EXPECT_TRUE(absl::StrContains(csv, "+12122010001")) << csv;
  EXPECT_FALSE(absl::StrContains(csv, "not-a-phone")) << csv;
}

TEST_F(DialgridctlTest, ACampaignIsCreatedFromYaml) {
  CreateList("autumn");
  WriteFile(*dir_ + "/autumn.yaml", R"(# The autumn renewals, as an operator writes them.
displayName: "Renewals autumn: 2026"   # quoted: the colon stays text
contactLists: [autumn]
mode: CAMPAIGN_MODE_PREDICTIVE
maxLines: 12
abandonTarget:
  maxRate: 0.025
ringTimeout: 25s
callerIds:
  - "+13125550100"
dispositions:
  - {code: sale, outcome: DISPOSITION_OUTCOME_SUCCESS, sale: true}
)");
  Result r = RunA({"--json", "campaigns", "create", "--file", "autumn.yaml", "--id", "autumn"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto c = nlohmann::json::parse(r.out);
  EXPECT_EQ(c["name"], "tenants/ctl-a/campaigns/autumn");
  EXPECT_EQ(c["displayName"], "Renewals autumn: 2026");
  EXPECT_EQ(c["contactLists"][0], "tenants/ctl-a/contactLists/autumn");
  EXPECT_EQ(c["maxLines"], 12);
  EXPECT_DOUBLE_EQ(c["abandonTarget"]["maxRate"].get<double>(), 0.025);
  EXPECT_EQ(c["ringTimeout"], "25s");
  EXPECT_EQ(c["dispositions"][0]["sale"], true);

  // A typo in a field name is the same usage error as in JSON, and a YAML
  // syntax error names its line.
  WriteFile(*dir_ + "/typo.yaml", "displayName: x\nmaxLine: 3\n");
  Result typo = RunA({"campaigns", "create", "--file", "typo.yaml", "--id", "typo"});
  EXPECT_EQ(typo.code, 2) << typo.out << typo.err;
  EXPECT_TRUE(absl::StrContains(typo.err, "maxLine")) << typo.err;
  WriteFile(*dir_ + "/broken.yaml", "displayName: x\nmode: [unclosed\n");
  Result broken = RunA({"campaigns", "create", "--file", "broken.yaml", "--id", "broken"});
  EXPECT_EQ(broken.code, 2) << broken.out << broken.err;
  EXPECT_TRUE(absl::StrContains(broken.err, "broken.yaml: line ")) << broken.err;
}

TEST_F(DialgridctlTest, CampaignsAreCreatedListedStartedPausedAndWatched) {
  CreateList("summer");
  CreateCampaign("renewals", "summer");

  Result table = RunA({"campaigns", "list"});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_TRUE(absl::StrContains(table.out, "CAMPAIGN")) << table.out;
  EXPECT_TRUE(absl::StrContains(table.out, "renewals")) << table.out;
  EXPECT_TRUE(absl::StrContains(table.out, "DRAFT")) << table.out;

  Result json = RunA({"campaigns", "list", "--json"});
  ASSERT_EQ(json.code, 0) << json.err;
  auto doc = nlohmann::json::parse(json.out);
  bool found = false;
  for (const auto& c : doc["campaigns"]) {
    if (c["name"] == "tenants/ctl-a/campaigns/renewals") {
      found = true;
      EXPECT_EQ(c["state"], "CAMPAIGN_STATE_DRAFT");
      EXPECT_EQ(c["contactLists"][0], "tenants/ctl-a/contactLists/summer");
    }
  }
  EXPECT_TRUE(found) << json.out;
  // The same JSON is a ListCampaignsResponse to a protobuf client.
  dialing::v1::ListCampaignsResponse parsed;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json.out, &parsed).ok());

  Result start = RunA({"campaigns", "start", "renewals"});
  ASSERT_EQ(start.code, 0) << start.err;
  EXPECT_TRUE(absl::StrContains(start.out, "RUNNING")) << start.out;
  Result pause = RunA({"campaigns", "pause", "renewals", "--reason", "lunch"});
  ASSERT_EQ(pause.code, 0) << pause.err;
  EXPECT_TRUE(absl::StrContains(pause.out, "PAUSED (lunch)")) << pause.out;
  // Pausing twice is the server's FAILED_PRECONDITION: exit 7, reason on stderr.
  Result twice = RunA({"campaigns", "pause", "renewals", "--reason", "lunch"});
  EXPECT_EQ(twice.code, 7) << twice.out << twice.err;
  EXPECT_TRUE(absl::StrContains(twice.err, "FAILED_PRECONDITION")) << twice.err;
  // A caller ID is rested on a running campaign only (its owner does it);
  // a duration that does not parse is a usage error.
  Result rest = RunA({"campaigns", "rest-caller-id", "renewals", "+13125550100", "--for", "24h",
                      "--reason", "carrier label"});
  EXPECT_EQ(rest.code, 7) << rest.out << rest.err;
  EXPECT_TRUE(absl::StrContains(rest.err, "CAMPAIGN_NOT_RUNNING")) << rest.err;
  Result soon = RunA({"campaigns", "rest-caller-id", "renewals", "+13125550100", "--for", "soon",
                      "--reason", "carrier label"});
  EXPECT_EQ(soon.code, 2) << soon.out << soon.err;

  // Another tenant's campaign: PERMISSION_DENIED, exit 5.
  Result other = RunA({"campaigns", "get", "tenants/ctl-b/campaigns/renewals"});
  EXPECT_EQ(other.code, 5) << other.out << other.err;
  EXPECT_TRUE(absl::StrContains(other.err, "PERMISSION_DENIED")) << other.err;
  EXPECT_TRUE(other.out.empty()) << other.out;
  // A campaign that does not exist: exit 4.
  Result missing = RunA({"campaigns", "get", "nope"});
  EXPECT_EQ(missing.code, 4) << missing.out << missing.err;

  // watch: the header and at least one line, until SIGINT, then exit 0.
  std::string log = *dir_ + "/watch.out";
  auto child = dialgrid::testing::ChildProcess::Spawn(
      {DIALGRIDCTL_BIN, "--tenant", "ctl-a", "--credential", *admin_a_, "--config",
       *dir_ + "/config", "campaigns", "watch", "renewals"},
      {"HOME=" + *dir_ + "/home"}, log);
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_TRUE(TestPlatform::Eventually(
      [&] {
        std::string text = ReadAll(log);
        return absl::StrContains(text, "PAUSED");
      },
      absl::Seconds(20)))
      << ReadAll(log);
  ASSERT_TRUE((*child)->Signal(SIGINT).ok());
  auto code = (*child)->Wait(absl::Seconds(10));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << ReadAll(log);
  EXPECT_TRUE(absl::StrContains(ReadAll(log), "ABANDON 24H")) << ReadAll(log);

  Result resume = RunA({"campaigns", "resume", "renewals"});
  ASSERT_EQ(resume.code, 0) << resume.err;
  EXPECT_TRUE(absl::StrContains(resume.out, "RUNNING")) << resume.out;
  Result stop = RunA({"campaigns", "stop", "renewals", "--reason", "target reached"});
  ASSERT_EQ(stop.code, 0) << stop.err;
  Result get = RunA({"campaigns", "get", "renewals"});
  ASSERT_EQ(get.code, 0) << get.err;
  EXPECT_EQ(Field(get.out, "state"), "STOPPED") << get.out;
  EXPECT_EQ(Field(get.out, "state reason"), "target reached") << get.out;
}

TEST_F(DialgridctlTest, ComplianceCheckExplainsARefusalAndABadNumberIsExitThree) {
  // Around-the-clock hours, so the decision reads the same at any hour.
  compliance::v1::UpdateRuleSetRequest rules;
  auto* rs = rules.mutable_rule_set();
  rs->set_name("tenants/ctl-a/ruleSet");
  rs->add_calling_hours_presets("KR-ICNA");  // only a preset that never applies here
  auto* h = rs->add_custom_calling_hours();
  h->set_id("CTL-ALWAYS");
  h->set_jurisdiction("US");
  for (int i = 0; i < 7; ++i) h->add_weekday_windows("00:00-24:00");
  compliance::v1::RuleSet out;
  auto stub = compliance::v1::ComplianceService::NewStub(p_->Channel("compliance"));
  grpc::Status st = stub->UpdateRuleSet(TestPlatform::Context(*admin_a_).get(), rules, &out);
  ASSERT_TRUE(st.ok()) << st.error_message();

  Result add = RunA({"compliance", "dnc", "add", "+13052010123", "--reason", "asked on the phone"});
  ASSERT_EQ(add.code, 0) << add.err;
  EXPECT_EQ(Field(add.out, "added"), "1") << add.out;
  Result listed = RunA({"compliance", "dnc", "check", "+13052010123"});
  ASSERT_EQ(listed.code, 0) << listed.err;
  EXPECT_TRUE(absl::StrContains(listed.out, "asked on the phone")) << listed.out;
  Result dnc_list = RunA({"compliance", "dnc", "list"});
  ASSERT_EQ(dnc_list.code, 0) << dnc_list.err;
  EXPECT_TRUE(absl::StrContains(dnc_list.out, "+13052010123")) << dnc_list.out;

  Result refused =
      RunA({"compliance", "check", "--campaign", "winback", "--number", "+13052010123"});
  EXPECT_EQ(refused.code, 0) << "a refusal is a decision, not an error\n" << refused.err;
  EXPECT_TRUE(absl::StrContains(refused.out, "REFUSED")) << refused.out;
  EXPECT_TRUE(absl::StrContains(refused.out, "DNC_TENANT")) << refused.out;
  EXPECT_TRUE(absl::StrContains(refused.out, "the tenant's do-not-call list")) << refused.out;

  Result as_json =
      RunA({"--json", "compliance", "check", "--campaign", "winback", "--number", "+13052010123"});
  ASSERT_EQ(as_json.code, 0) << as_json.err;
  auto d = nlohmann::json::parse(as_json.out);
  EXPECT_EQ(d["allowed"], false);
  EXPECT_EQ(d["reasons"][0]["code"], "DNC_TENANT");
  EXPECT_EQ(d["scrub"], true);

  Result strict = RunA({"compliance", "check", "--campaign", "winback", "--number", "+13052010123",
                        "--fail-if-refused"});
  EXPECT_EQ(strict.code, 7) << strict.err;

  Result allowed =
      RunA({"compliance", "check", "--campaign", "winback", "--number", "+12122010009"});
  EXPECT_EQ(allowed.code, 0) << allowed.err;
  EXPECT_TRUE(absl::StrContains(allowed.out, "ALLOWED")) << allowed.out;

  // Counted, the decision is on the number's record, with the same id.
  Result counted = RunA({"--json", "compliance", "check", "--campaign", "winback", "--number",
                         "+12122010009", "--count", "--request-id", "ctl-records-1"});
  ASSERT_EQ(counted.code, 0) << counted.err;
  const std::string decision_id = nlohmann::json::parse(counted.out)["decisionId"];
  // The audit record is written behind the decision (within moments).
  int found = 0;
  Result records;
  for (int i = 0; i < 50 && found == 0; ++i) {
    if (i > 0) usleep(100 * 1000);
    records = RunA({"--json", "compliance", "records", "+12122010009"});
    ASSERT_EQ(records.code, 0) << records.err;
    const auto doc = nlohmann::json::parse(records.out);
    for (const auto& rec : doc["records"]) {
      if (rec.contains("decision") && rec["decision"]["decisionId"] == decision_id) ++found;
    }
  }
  EXPECT_EQ(found, 1) << decision_id << "\n" << records.out;
  Result table = RunA({"compliance", "records", "+12122010009", "--since", Today()});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_TRUE(absl::StrContains(table.out, decision_id)) << table.out;
  EXPECT_TRUE(absl::StrContains(table.out, "ALLOWED")) << table.out;
  Result bad_since = RunA({"compliance", "records", "+12122010009", "--since", "yesterday"});
  EXPECT_EQ(bad_since.code, 2) << bad_since.err;
  // Another tenant's credential sees nothing of ctl-a's records.
  Result other = Run({"--tenant", "ctl-a", "compliance", "records", "+12122010009"},
                     *p_->Credential("ctl-b", tenancy::v1::ROLE_TENANT_ADMIN));
  EXPECT_EQ(other.code, 5) << other.out << other.err;

  Result bad = RunA({"compliance", "check", "--campaign", "winback", "--number", "not-a-phone"});
  EXPECT_EQ(bad.code, 3) << bad.out << bad.err;
  EXPECT_TRUE(absl::StrContains(bad.err, "INVALID_PHONE_NUMBER")) << bad.err;
  Result bad_json =
      RunA({"--json", "compliance", "check", "--campaign", "winback", "--number", "not-a-phone"});
  EXPECT_EQ(bad_json.code, 3);
  EXPECT_EQ(nlohmann::json::parse(bad_json.err)["reason"], "INVALID_PHONE_NUMBER") << bad_json.err;
}

TEST_F(DialgridctlTest, TenantsAndCredentialsForTheVendor) {
  Result tenants = Run({"tenants", "list"}, p_->admin_secret());
  ASSERT_EQ(tenants.code, 0) << tenants.err;
  EXPECT_TRUE(absl::StrContains(tenants.out, "ctl-a")) << tenants.out;
  EXPECT_TRUE(absl::StrContains(tenants.out, "ACTIVE")) << tenants.out;
  // A tenant admin may read its own tenant, not list them all.
  EXPECT_EQ(RunA({"tenants", "get", "ctl-a"}).code, 0);
  EXPECT_EQ(RunA({"tenants", "list"}).code, 5);

  Result created = Run({"--tenant", "ctl-a", "credentials", "create", "--display-name", "wallboard",
                        "--role", "supervisor"},
                       p_->admin_secret());
  ASSERT_EQ(created.code, 0) << created.err;
  std::string secret = Field(created.out, "secret");
  EXPECT_TRUE(absl::StartsWith(secret, "dgk_")) << created.out;
  EXPECT_EQ(Field(created.out, "roles"), "SUPERVISOR") << created.out;
  Result creds = Run({"--tenant", "ctl-a", "credentials", "list"}, p_->admin_secret());
  ASSERT_EQ(creds.code, 0) << creds.err;
  EXPECT_TRUE(absl::StrContains(creds.out, "wallboard")) << creds.out;
  // The new secret works (a supervisor lists agents)...
  Result as_super = Run({"--tenant", "ctl-a", "agents", "list"}, secret);
  EXPECT_EQ(as_super.code, 0) << as_super.err;
  // An unknown role is refused before any call, listing the roles.
  Result bad_role = Run(
      {"--tenant", "ctl-a", "credentials", "create", "--display-name", "x", "--role", "overlord"},
      p_->admin_secret());
  EXPECT_EQ(bad_role.code, 2) << bad_role.err;
  EXPECT_TRUE(absl::StrContains(bad_role.err, "tenant-admin")) << bad_role.err;
  // A vendor-scope role on a tenant credential: the server says no (exit 3).
  Result scope = Run({"--tenant", "ctl-a", "credentials", "create", "--display-name", "x", "--role",
                      "vendor-admin"},
                     p_->admin_secret());
  EXPECT_EQ(scope.code, 3) << scope.err;
  EXPECT_TRUE(absl::StrContains(scope.err, "ROLE_NOT_IN_SCOPE")) << scope.err;

  // The audit log shows the credential the vendor made, by whom; the
  // tenant's admin reads its own log, and --action takes a short name.
  Result log;
  for (int i = 0; i < 100; ++i) {
    log = Run({"--tenant", "ctl-a", "audit", "list", "--action", "CredentialCreated", "--since", "1h"},
              p_->admin_secret());
    if (log.code != 0 || absl::StrContains(log.out, Field(created.out, "name"))) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_EQ(log.code, 0) << log.err;
  EXPECT_TRUE(absl::StrContains(log.out, Field(created.out, "name"))) << log.out;
  EXPECT_TRUE(absl::StrContains(log.out, "vendor/credentials/")) << log.out;
  EXPECT_FALSE(absl::StrContains(log.out, "TenantCreated")) << log.out;
  Result own = RunA({"audit", "list", "--limit", "1"});
  EXPECT_EQ(own.code, 0) << own.err;
  EXPECT_EQ(RunA({"audit", "list", "--vendor"}).code, 5);
  EXPECT_EQ(RunA({"audit", "list", "--since", "yesterday"}).code, 2);
}

TEST_F(DialgridctlTest, AgentsBlockedAndUnreachableServices) {
  Result agents = RunA({"agents", "list"});
  EXPECT_EQ(agents.code, 0) << agents.err;
  EXPECT_TRUE(absl::StrContains(agents.out, "AGENT")) << agents.out;
  // agents watch: the (empty) snapshot, then SIGINT ends it with exit 0.
  std::string log = *dir_ + "/agents-watch.out";
  auto child = dialgrid::testing::ChildProcess::Spawn(
      {DIALGRIDCTL_BIN, "--tenant", "ctl-a", "--credential", *admin_a_, "--config",
       *dir_ + "/config", "agents", "watch"},
      {"HOME=" + *dir_ + "/home"}, log);
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_TRUE(TestPlatform::Eventually([&] { return absl::StrContains(ReadAll(log), "snapshot"); },
                                       absl::Seconds(20)))
      << ReadAll(log);
  ASSERT_TRUE((*child)->Signal(SIGINT).ok());
  auto code = (*child)->Wait(absl::Seconds(10));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << ReadAll(log);

  Result blocked = RunA({"blocked", "list", "--json"});
  EXPECT_EQ(blocked.code, 0) << blocked.err;
  EXPECT_NO_THROW(nlohmann::json::parse(blocked.out)) << blocked.out;
  Result unblock = RunA({"blocked", "unblock", "+13125550199", "--reason", "test"});
  EXPECT_EQ(unblock.code, 4) << unblock.out << unblock.err;

  // A recording service down (its address a closed port) -> exit 6.
  Result down = RunA({"--recording", "127.0.0.1:1", "--timeout", "3", "recordings", "list"});
  EXPECT_EQ(down.code, 6) << down.out << down.err;
  EXPECT_TRUE(absl::StrContains(down.err, "UNAVAILABLE")) << down.err;
  // And no address at all is a usage error naming the flag.
  Result none = Run({"--tenant", "ctl-a", "recordings", "list"}, *admin_a_, /*with_config=*/false);
  EXPECT_EQ(none.code, 2) << none.err;
  EXPECT_TRUE(absl::StrContains(none.err, "--recording")) << none.err;
}

TEST_F(DialgridctlTest, RecordingsAreListedHeldAndFetchedAsWav) {
  // A call recorded through the API, as a media server does: 1 s of 8 kHz
  // 16-bit audio in five chunks.
  auto stub = recording::v1::RecordingService::NewStub(p_->Channel("recording"));
  recording::v1::StartRecordingRequest start;
  start.set_parent("tenants/ctl-a");
  start.mutable_recording()->set_call_id("ctl-call-1");
  start.mutable_recording()->set_audio_format(recording::v1::AUDIO_FORMAT_PCM_S16LE_8K);
  start.mutable_recording()->set_announcement_played(true);
  recording::v1::Recording rec;
  grpc::Status st = stub->StartRecording(TestPlatform::Context(*admin_a_).get(), start, &rec);
  ASSERT_TRUE(st.ok()) << st.error_message();
  std::string audio;
  for (int i = 0; i < 8000; ++i) audio.append({static_cast<char>(i & 0xff), static_cast<char>(i >> 8)});
  {
    auto ctx = TestPlatform::Context(*admin_a_);
    recording::v1::UploadAudioResponse uploaded;
    auto writer = stub->UploadAudio(ctx.get(), &uploaded);
    for (int i = 0; i < 5; ++i) {
      recording::v1::UploadAudioRequest chunk;
      chunk.set_recording(rec.name());
      chunk.set_sequence(i + 1);
      chunk.set_audio(audio.substr(static_cast<size_t>(i) * 3200, 3200));
      ASSERT_TRUE(writer->Write(chunk));
    }
    writer->WritesDone();
    st = writer->Finish();
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  recording::v1::StopRecordingRequest stop;
  stop.set_name(rec.name());
  st = stub->StopRecording(TestPlatform::Context(*admin_a_).get(), stop, &rec);
  ASSERT_TRUE(st.ok()) << st.error_message();
  const std::string id = rec.name().substr(rec.name().rfind('/') + 1);

  Result list = RunA({"--json", "recordings", "list", "--call", "ctl-call-1"});
  ASSERT_EQ(list.code, 0) << list.err;
  const auto listed = nlohmann::json::parse(list.out);
  ASSERT_EQ(listed["recordings"].size(), 1u) << list.out;
  EXPECT_EQ(listed["recordings"][0]["name"], rec.name());
  Result table = RunA({"recordings", "list"});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_TRUE(absl::StrContains(table.out, id)) << table.out;

  // Fetched as WAV: a 44-byte RIFF header and the very samples sent.
  Result fetch = RunA({"recordings", "fetch", id, "--out", "call.wav"});
  ASSERT_EQ(fetch.code, 0) << fetch.out << fetch.err;
  const std::string wav = ReadAll(*dir_ + "/call.wav");
  ASSERT_EQ(wav.size(), 44 + audio.size());
  EXPECT_EQ(wav.substr(0, 4), "RIFF");
  EXPECT_EQ(wav.substr(8, 4), "WAVE");
  EXPECT_EQ(wav.substr(44), audio);
  Result raw = RunA({"recordings", "fetch", id, "--out", "call.raw", "--raw"});
  ASSERT_EQ(raw.code, 0) << raw.err;
  EXPECT_EQ(ReadAll(*dir_ + "/call.raw"), audio);

  Result hold = RunA({"recordings", "hold", id, "--reason", "case 2026-114"});
  ASSERT_EQ(hold.code, 0) << hold.out << hold.err;
  Result held = RunA({"--json", "recordings", "list", "--call", "ctl-call-1"});
  ASSERT_EQ(held.code, 0) << held.err;
  EXPECT_EQ(nlohmann::json::parse(held.out)["recordings"][0]["legalHold"], true) << held.out;

  // Another tenant's credential gets nothing of ctl-a's recordings.
  Result other = Run({"--tenant", "ctl-a", "recordings", "fetch", id, "--out", "x.wav"},
                     *p_->Credential("ctl-b", tenancy::v1::ROLE_TENANT_ADMIN));
  EXPECT_EQ(other.code, 5) << other.out << other.err;
  EXPECT_EQ(ReadAll(*dir_ + "/x.wav"), "");
}

TEST_F(DialgridctlTest, RegistriesAreListedAndUpdatedInBatchesByTheVendor) {
  const std::string vendor = p_->admin_secret();
  Result list = Run({"compliance", "registries", "list"}, vendor);
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_TRUE(absl::StrContains(list.out, "us-sample")) << list.out;

  WriteFile(*dir_ + "/changes.txt", "# daily change file\n3125550148\n3125550149\n\n3125550150\n");
  WriteFile(*dir_ + "/removed.txt", "3125550147\n");
  Result up = Run({"--json", "compliance", "registries", "update", "us-sample", "--add-file",
                   "changes.txt", "--remove-file", "removed.txt", "--reason", "daily change",
                   "--batch", "2", "--as-of", Today()},
                  vendor);
  ASSERT_EQ(up.code, 0) << up.out << up.err;
  EXPECT_TRUE(absl::StrContains(up.err, "4 of 4 numbers (100%)")) << up.err;
  auto reg = nlohmann::json::parse(up.out)["registry"];
  EXPECT_EQ(reg["id"], "us-sample") << up.out;
  // Every replica applies the change (here the one) within moments.
  int64_t added = 0, removed = 0;
  for (int i = 0; i < 50 && (added != 3 || removed != 1); ++i) {
    Result now = Run({"--json", "compliance", "registries", "list"}, vendor);
    ASSERT_EQ(now.code, 0) << now.err;
    const auto doc = nlohmann::json::parse(now.out);
    for (const auto& r : doc["registries"]) {
      if (r["id"] == "us-sample") {
        added = Int64Of(r["overlayAdditions"]);
        removed = Int64Of(r["overlayRemovals"]);
      }
    }
    if (added != 3 || removed != 1) usleep(100 * 1000);
  }
  EXPECT_EQ(added, 3) << up.out;
  EXPECT_EQ(removed, 1);

  // A tenant may not change a national registry; nothing to send is a
  // usage error; an unknown registry is not found.
  Result tenant = RunA({"compliance", "registries", "update", "us-sample", "--add-file",
                        "changes.txt", "--reason", "mine"});
  EXPECT_EQ(tenant.code, 5) << tenant.out << tenant.err;
  Result nothing = Run({"compliance", "registries", "update", "us-sample", "--reason", "x"}, vendor);
  EXPECT_EQ(nothing.code, 2) << nothing.err;
  Result unknown = Run({"compliance", "registries", "update", "no-such", "--add-file",
                        "changes.txt", "--reason", "x"},
                       vendor);
  EXPECT_EQ(unknown.code, 4) << unknown.out << unknown.err;
}


TEST_F(DialgridctlTest, SuppressionListCreatedUploadedScopedAndDeletedByTheVendor) {
  const std::string vendor = p_->admin_secret();
  Result create = Run({"compliance", "registries", "create", "ctl-litigators", "--kind",
                       "suppression", "--plan", "e164", "--tenant", "ctl-a", "--description",
                       "known litigators"},
                      vendor);
  ASSERT_EQ(create.code, 0) << create.out << create.err;
  EXPECT_TRUE(absl::StrContains(create.out, "ctl-a")) << create.out;
  // A tenant may not create or load one.
  EXPECT_EQ(RunA({"compliance", "registries", "create", "mine", "--kind", "suppression", "--plan",
                  "e164"})
                .code,
            5);
  WriteFile(*dir_ + "/litigators.txt",
            "# counsel's list\n+13125550170\n\nnot a number\n+13125550171\n+13125550170\n");
  Result up = Run({"--json", "compliance", "registries", "upload", "ctl-litigators",
                   "litigators.txt", "--reason", "counsel's list", "--batch", "2"},
                  vendor);
  ASSERT_EQ(up.code, 0) << up.out << up.err;
  EXPECT_TRUE(absl::StrContains(up.err, "4 of 4 numbers (100%), 2 applied, 1 rejected")) << up.err;
  auto report = nlohmann::json::parse(up.out);
  EXPECT_EQ(report["complete"], true) << up.out;
  EXPECT_EQ(report["rejectedNumbers"][0]["value"], "not a number") << up.out;
  Result text = Run({"compliance", "registries", "upload", "ctl-litigators", "litigators.txt",
                     "--reason", "again"},
                    vendor);
  ASSERT_EQ(text.code, 0) << text.err;
  // The report points at the file's line (4: after a comment and a blank line).
  EXPECT_TRUE(absl::StrContains(text.out, "4 numbers: 0 applied, 3 unchanged, 1 rejected"))
      << text.out;
  EXPECT_TRUE(absl::StrContains(text.out, "4     not a number")) << text.out;
  // ctl-a sees the list holding the number (it applies to ctl-a).
  Result where = RunA({"--json", "compliance", "dnc", "check", "+13125550171"});
  ASSERT_EQ(where.code, 0) << where.err;
  EXPECT_TRUE(absl::StrContains(where.out, "suppression:ctl-litigators")) << where.out;
  Result scope = Run({"compliance", "registries", "scope", "ctl-litigators", "--all-tenants",
                      "--reason", "all clients"},
                     vendor);
  ASSERT_EQ(scope.code, 0) << scope.err;
  EXPECT_TRUE(absl::StrContains(scope.out, "all")) << scope.out;
  Result del = Run({"compliance", "registries", "delete", "ctl-litigators", "--reason", "done"},
                   vendor);
  ASSERT_EQ(del.code, 0) << del.err;
  Result gone = Run({"compliance", "registries", "delete", "ctl-litigators", "--reason", "x"},
                    vendor);
  EXPECT_EQ(gone.code, 4) << gone.err;
}

}  // namespace
}  // namespace dialgrid::ctl
