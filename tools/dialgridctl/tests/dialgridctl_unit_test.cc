// dialgridctl without servers: configuration precedence, exit codes, tables,
// import mapping, the completion script, usage errors.
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "absl/strings/match.h"
#include "services/common/core/errors.h"
#include "tools/dialgridctl/ctl_app.h"
#include "tools/dialgridctl/ctl_config.h"
#include "tools/dialgridctl/ctl_import.h"
#include "tools/dialgridctl/ctl_output.h"
#include "tools/dialgridctl/ctl_yaml.h"

namespace dialgrid::ctl {
namespace {

struct FakeWorld {
  std::map<std::string, std::string> env;
  std::map<std::string, std::string> files;
  ConfigSources Sources(CtlFlags flags = {}) {
    ConfigSources s;
    s.flags = std::move(flags);
    s.env = [this](const char* n) -> std::optional<std::string> {
      auto it = env.find(n);
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
    s.read_file = [this](const std::string& p) -> absl::StatusOr<std::string> {
      auto it = files.find(p);
      if (it == files.end()) return absl::NotFoundError(p + ": No such file");
      return it->second;
    };
    return s;
  }
};

TEST(ConfigTest, FlagBeatsEnvBeatsFileBeatsRunDir) {
  FakeWorld w;
  w.env["HOME"] = "/home/op";
  w.files["/home/op/.config/dialgrid/config"] =
      "# mine\ncredential = dgk_file\ntenant=acme\ndialing=file:1\ncontacts=file:2\n"
      "agent_state=file:3\n";
  w.files["/run/x/tenancy.ports"] = "grpc=127.0.0.1:4001\nadmin=127.0.0.1:4002\n";
  w.files["/run/x/dialing.ports"] = "grpc=127.0.0.1:4003\n";
  w.env["DIALGRID_CONTACTS"] = "env:2";
  w.env["DIALGRID_RUN_DIR"] = "/run/x";
  CtlFlags f;
  f.endpoints["dialing"] = "flag:1";
  auto c = ResolveConfig(w.Sources(f));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->credential, "dgk_file");
  EXPECT_EQ(c->tenant, "acme");
  EXPECT_EQ(c->endpoints["dialing"], "flag:1");          // flag
  EXPECT_EQ(c->endpoints["contacts"], "env:2");          // env over file
  EXPECT_EQ(c->endpoints["agent-state"], "file:3");      // file (agent_state = agent-state)
  EXPECT_EQ(c->endpoints["tenancy"], "127.0.0.1:4001");  // run dir
  EXPECT_EQ(c->endpoints.count("recording"), 0u);
  EXPECT_EQ(c->config_file, "/home/op/.config/dialgrid/config");
  EXPECT_FALSE(c->timeout_given);

  w.env["DIALGRID_CREDENTIAL"] = "dgk_env";
  EXPECT_EQ(ResolveConfig(w.Sources())->credential, "dgk_env");
  CtlFlags g;
  g.credential = "dgk_flag";
  EXPECT_EQ(ResolveConfig(w.Sources(g))->credential, "dgk_flag");
  // A credential file named by a flag beats the env's secret.
  w.files["/s"] = "dgk_from_file\n";
  CtlFlags h;
  h.credential_file = "/s";
  EXPECT_EQ(ResolveConfig(w.Sources(h))->credential, "dgk_from_file");
}

TEST(ConfigTest, BadInputIsAnError) {
  FakeWorld w;
  CtlFlags f;
  f.config = "/missing";
  EXPECT_FALSE(ResolveConfig(w.Sources(f)).ok());  // an explicit file must exist
  w.files["/c"] = "colour=blue\n";
  f.config = "/c";
  auto c = ResolveConfig(w.Sources(f));
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::StrContains(c.status().message(), "unknown key")) << c.status();
  w.files["/c"] = "timeout=soon\n";
  EXPECT_FALSE(ResolveConfig(w.Sources(f)).ok());
  w.files["/c"] = "timeout=5s\n";
  EXPECT_DOUBLE_EQ(ResolveConfig(w.Sources(f))->timeout_seconds, 5);
  // No default file is fine.
  EXPECT_TRUE(ResolveConfig(FakeWorld().Sources()).ok());
}

TEST(OutputTest, ExitCodesFollowTheDocumentedMapping) {
  EXPECT_EQ(ExitCodeOf(absl::OkStatus()), 0);
  EXPECT_EQ(ExitCodeOf(UsageError("x")), 2);
  EXPECT_EQ(ExitCodeOf(absl::InvalidArgumentError("x")), 3);
  EXPECT_EQ(ExitCodeOf(absl::NotFoundError("x")), 4);
  EXPECT_EQ(ExitCodeOf(absl::PermissionDeniedError("x")), 5);
  EXPECT_EQ(ExitCodeOf(absl::UnauthenticatedError("x")), 5);
  EXPECT_EQ(ExitCodeOf(absl::UnavailableError("x")), 6);
  EXPECT_EQ(ExitCodeOf(absl::DeadlineExceededError("x")), 6);
  EXPECT_EQ(ExitCodeOf(absl::FailedPreconditionError("x")), 7);
  EXPECT_EQ(ExitCodeOf(absl::ResourceExhaustedError("x")), 8);
  EXPECT_EQ(ExitCodeOf(absl::InternalError("x")), 1);
}

TEST(OutputTest, ErrorsNameTheirReasonFieldAndMetadata) {
  absl::Status st = WithMetadata(
      InvalidField("phone_number", "INVALID_PHONE_NUMBER", "not a number"), "peer", "x");
  std::ostringstream text, json;
  PrintError(text, st, false);
  EXPECT_TRUE(absl::StrContains(text.str(), "INVALID_ARGUMENT INVALID_PHONE_NUMBER")) << text.str();
  EXPECT_TRUE(absl::StrContains(text.str(), "field: phone_number")) << text.str();
  PrintError(json, st, true);
  EXPECT_TRUE(absl::StrContains(json.str(), "\"reason\":\"INVALID_PHONE_NUMBER\"")) << json.str();
  EXPECT_TRUE(absl::StrContains(json.str(), "\"exit_code\":3")) << json.str();
}

TEST(OutputTest, TablesAlignColumns) {
  Table t({"A", "LONGER"});
  t.AddRow({"xxxx", "y"});
  t.AddRow({"é", "z"});
  std::ostringstream out;
  t.Print(out);
  EXPECT_EQ(out.str(), "A     LONGER\nxxxx  y\né     z\n");
}

TEST(ImportTest, MappingIsGuessedFromTheHeader) {
  auto h = CsvHeader(
      "\xEF\xBB\xBFid,First Name,last_name,phone,mobile_phone,zip,state,\"plan, tier\"\r\n1,a");
  ASSERT_TRUE(h.ok()) << h.status();
  auto m = GuessMapping(*h, true);
  EXPECT_EQ(m.external_id(), "id");
  EXPECT_EQ(m.first_name(), "First Name");
  ASSERT_EQ(m.phones_size(), 2);
  EXPECT_EQ(m.phones(1), "mobile_phone");
  EXPECT_EQ(m.postal_code(), "zip");
  EXPECT_EQ(m.region(), "state");
  EXPECT_EQ(m.attributes().at("plan, tier"), "plan, tier");
  EXPECT_TRUE(GuessMapping(*h, false).attributes().empty());
  auto explicit_map = ParseMapping({"phone=tel", "attributes.plan=p", "external_id=ref"});
  ASSERT_TRUE(explicit_map.ok());
  EXPECT_EQ(explicit_map->phones(0), "tel");
  EXPECT_EQ(explicit_map->attributes().at("plan"), "p");
  EXPECT_FALSE(ParseMapping({"colour=x"}).ok());
  EXPECT_EQ(DefaultImportId("l", "abc"), DefaultImportId("l", "abc"));
  EXPECT_NE(DefaultImportId("l", "abc"), DefaultImportId("l", "abd"));
  EXPECT_EQ(DefaultImportId("l", "abc").size(), 20u);
}

int RunCtl(std::vector<const char*> args, std::string* out, std::string* err) {
  args.insert(args.begin(), "dialgridctl");
  std::ostringstream o, e;
  int code = Main(static_cast<int>(args.size()), args.data(), o, e,
                  [](const char*) -> std::optional<std::string> { return std::nullopt; });
  *out = o.str();
  *err = e.str();
  return code;
}

TEST(AppTest, UsageErrorsAreExitTwoAndHelpIsZero) {
  std::string out, err;
  EXPECT_EQ(RunCtl({"--help"}, &out, &err), 0);
  EXPECT_TRUE(absl::StrContains(out, "campaigns")) << out;
  EXPECT_EQ(RunCtl({"campaigns", "create", "--help"}, &out, &err), 0);
  EXPECT_TRUE(absl::StrContains(out, "--file")) << out;
  // --version needs no subcommand (the image's smoke run uses it).
  EXPECT_EQ(RunCtl({"--version"}, &out, &err), 0);
  EXPECT_TRUE(absl::StartsWith(out, "dialgridctl ")) << out;
  EXPECT_EQ(RunCtl({}, &out, &err), 2);
  EXPECT_EQ(RunCtl({"campaigns"}, &out, &err), 2);
  EXPECT_EQ(RunCtl({"campaigns", "frobnicate"}, &out, &err), 2);
  EXPECT_EQ(RunCtl({"--timeout", "soon", "tenants", "list"}, &out, &err), 2);
  // No credential: a clear message before any call.
  EXPECT_EQ(RunCtl({"tenants", "list", "--tenancy", "127.0.0.1:1"}, &out, &err), 2);
  EXPECT_TRUE(absl::StrContains(err, "no credential")) << err;
  EXPECT_EQ(RunCtl({"--credential", "x", "tenants", "list"}, &out, &err), 2);
  EXPECT_TRUE(absl::StrContains(err, "no address for the tenancy service")) << err;
  EXPECT_EQ(
      RunCtl({"--credential", "x", "campaigns", "get", "spring", "--dialing", "h:1"}, &out, &err),
      2);
  EXPECT_TRUE(absl::StrContains(err, "--tenant")) << err;
}

TEST(AppTest, CompletionCoversTheCommandTree) {
  std::string out, err;
  ASSERT_EQ(RunCtl({"completion", "bash"}, &out, &err), 0) << err;
  for (const char* w : {"complete -o default -F", "\"campaigns\") words=\"list get create start",
                        "\"compliance dnc\")", "--json", "--file|", "recordings fetch"}) {
    EXPECT_TRUE(absl::StrContains(out, w)) << w << "\n" << out;
  }
}

TEST(YamlToJsonTest, ScalarsAreTypedAsYaml12CoreAndQuotedOnesStayText) {
  auto json = YamlToJson(
      "a: 3\nb: -0.5\nc: true\nd: FALSE\ne: ~\nf:\ng: '3'\nh: \"true\"\ni: 30s\n"
      "j: +5\nk: 1e3\nl: .5\nm: [x, 2]\nn: {o: p}\nq: \"say \\\"hi\\\"\"\n");
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json,
            R"({"a":3,"b":-0.5,"c":true,"d":false,"e":null,"f":null,"g":"3","h":"true","i":"30s",)"
            R"("j":"+5","k":1e3,"l":".5","m":["x",2],"n":{"o":"p"},"q":"say \"hi\""})");
}

TEST(YamlToJsonTest, AnchorsAreResolvedAndErrorsNameTheirLine) {
  auto json = YamlToJson("base: &b {maxLines: 4}\ncopy: *b\n");
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json, R"({"base":{"maxLines":4},"copy":{"maxLines":4}})");
  auto broken = YamlToJson("a: 1\nb: [2\n");
  ASSERT_FALSE(broken.ok());
  EXPECT_TRUE(absl::StrContains(broken.status().message(), "line ")) << broken.status();
  EXPECT_FALSE(YamlToJson("- a\n- b\n").ok());   // a list, not a campaign
  EXPECT_FALSE(YamlToJson("[a]: 1\n").ok());      // a key that is no name
  EXPECT_TRUE(IsYamlFile("Campaign.YML"));
  EXPECT_TRUE(IsYamlFile("c.yaml"));
  EXPECT_FALSE(IsYamlFile("c.json"));
}

}  // namespace
}  // namespace dialgrid::ctl
