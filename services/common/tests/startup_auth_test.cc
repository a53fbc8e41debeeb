// The common credential flags end to end: a service binary (dialgrid-tenancy,
// which needs no other service) started against a redis-server with
// --requirepass. With the right password file it becomes ready; with a wrong
// one or none it exits 1 at once, saying why, without the password.

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/fixtures/servers.h"

#ifndef DIALGRID_TENANCY_BIN
#error "DIALGRID_TENANCY_BIN must name the dialgrid-tenancy executable"
#endif

namespace dialgrid {
namespace {

using ::dialgrid::testing::ChildProcess;
using ::dialgrid::testing::RedisServer;

constexpr char kPassword[] = "startup-pw-2e91c7";

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class StartupAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto redis = RedisServer::Start({"--requirepass", kPassword});
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    dir_ = testing::MakeTempDir("dialgrid-startup-auth-");
    ASSERT_FALSE(dir_.empty());
  }

  std::string WriteFile(const std::string& name, const std::string& contents) {
    const std::string path = absl::StrCat(dir_, "/", name);
    std::ofstream(path) << contents;
    return path;
  }

  absl::StatusOr<std::unique_ptr<ChildProcess>> StartTenancy(
      const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {DIALGRID_TENANCY_BIN,
                                     absl::StrCat("--redis=", redis_->address()),
                                     "--kafka=127.0.0.1:1",  // not needed to start or be ready
                                     "--listen=127.0.0.1:0",
                                     "--admin_listen=127.0.0.1:0",
                                     absl::StrCat("--port_file=", dir_, "/ports")};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return ChildProcess::Spawn(argv, {}, log_file());
  }

  std::string log_file() const { return absl::StrCat(dir_, "/tenancy.log"); }

  std::unique_ptr<RedisServer> redis_;
  std::string dir_;
};

TEST_F(StartupAuthTest, RightPasswordFileStartsAndIsReady) {
  auto tenancy = StartTenancy(
      {absl::StrCat("--redis_password_file=", WriteFile("pw", absl::StrCat(kPassword, "\n")))});
  ASSERT_TRUE(tenancy.ok()) << tenancy.status();
  auto grpc = testing::WaitForGrpcAddress(absl::StrCat(dir_, "/ports"));
  ASSERT_TRUE(grpc.ok()) << grpc.status() << "\n" << ReadAll(log_file());
  auto admin = testing::AdminAddress(absl::StrCat(dir_, "/ports"));
  ASSERT_TRUE(admin.ok()) << admin.status();
  // Ready = its Redis check (a PING on the authenticated pool) passes.
  absl::StatusOr<int> ready;
  for (absl::Time until = absl::Now() + absl::Seconds(10); absl::Now() < until;) {
    ready = testing::HttpGetStatus(*admin, "/readyz");
    if (ready.ok() && *ready == 200) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_EQ(*ready, 200) << ReadAll(log_file());
  auto code = (*tenancy)->Terminate(absl::Seconds(20));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0);
  EXPECT_FALSE(absl::StrContains(ReadAll(log_file()), kPassword));
}

TEST_F(StartupAuthTest, WrongOrMissingPasswordExitsAtOnceSayingWhy) {
  struct Case {
    std::string label;
    std::vector<std::string> flags;
    std::string needle;
  };
  const std::string wrong = "wrong-pw-5a0b3e";
  const std::vector<Case> cases = {
      {"wrong password",
       {absl::StrCat("--redis_password_file=", WriteFile("wrong", wrong))},
       "WRONGPASS"},
      {"no password", {}, "NOAUTH"},
      {"unknown ACL user",
       {"--redis_username=nobody",
        absl::StrCat("--redis_password_file=", WriteFile("pw2", kPassword))},
       "WRONGPASS"},
      {"SASL without a username",
       {"--kafka_security_protocol=SASL_SSL", "--kafka_sasl_mechanism=PLAIN"},
       "INVALID_KAFKA_SECURITY"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.label);
    std::remove(log_file().c_str());
    const absl::Time start = absl::Now();
    auto tenancy = StartTenancy(c.flags);
    ASSERT_TRUE(tenancy.ok()) << tenancy.status();
    absl::StatusOr<int> code = (*tenancy)->Wait(absl::Seconds(20));
    ASSERT_TRUE(code.ok()) << "still running: a hang, not a refusal\n" << ReadAll(log_file());
    EXPECT_EQ(*code, 1);
    EXPECT_LT(absl::Now() - start, absl::Seconds(10));
    const std::string log = ReadAll(log_file());
    EXPECT_TRUE(absl::StrContains(log, c.needle)) << log;
    if (c.needle != "INVALID_KAFKA_SECURITY") {
      EXPECT_TRUE(absl::StrContains(log, "REDIS_AUTH_FAILED")) << log;
      EXPECT_TRUE(absl::StrContains(log, "--redis_password_file")) << log;
    }
    EXPECT_FALSE(absl::StrContains(log, wrong)) << log;
    EXPECT_FALSE(absl::StrContains(log, kPassword)) << log;
  }
}

}  // namespace
}  // namespace dialgrid
