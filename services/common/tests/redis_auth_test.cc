// Redis AUTH in the shared client, the subscriber and the start-up wiring,
// against a real redis-server started with --requirepass and an ACL user
// (tests/fixtures). Nothing here mocks hiredis or Redis.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "services/common/core/errors.h"
#include "services/common/kafka/kafka_security.h"
#include "services/common/redis/redis_client.h"
#include "services/common/redis/redis_subscriber.h"
#include "services/common/server/backends.h"
#include "tests/fixtures/servers.h"

namespace dialgrid {
namespace {

using ::dialgrid::testing::RedisServer;

constexpr char kAdminPassword[] = "admin-pw-7f3a9c";
constexpr char kUser[] = "dialgrid-svc";
constexpr char kUserPassword[] = "user-pw-51be02";

// Polls `done` until it holds or `timeout` passes (the condition is the
// synchronisation; the poll interval only bounds the wait).
bool WaitUntil(const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

class RedisAuthTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<RedisServer>> server =
        RedisServer::Start({"--requirepass", kAdminPassword});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr) << "redis-server did not start";
    admin_ = Connect(redis::Credentials{"", kAdminPassword});
    ASSERT_NE(admin_, nullptr);
    absl::StatusOr<redis::Reply> r =
        admin_->Command({"ACL", "SETUSER", kUser, "reset", "on", absl::StrCat(">", kUserPassword),
                         "~*", "&*", "+@all", "-@admin"});
    ASSERT_TRUE(r.ok()) << r.status();
    dir_ = testing::MakeTempDir("dialgrid-redis-auth-");
    ASSERT_FALSE(dir_.empty());
  }

  void TearDown() override {
    // ConnectBackends makes its credentials the process's defaults.
    redis::SetDefaultCredentials({});
    kafka::SetDefaultSecurity({});
  }

  static redis::Options OptionsWith(std::optional<redis::Credentials> credentials,
                                    int pool_size = 1) {
    redis::Options o;
    absl::Status st = redis::ParseAddress(server_->address(), o);
    EXPECT_TRUE(st.ok()) << st;
    o.pool_size = pool_size;
    o.credentials = std::move(credentials);
    return o;
  }

  static std::unique_ptr<redis::Client> Connect(std::optional<redis::Credentials> credentials) {
    auto client = redis::Client::Create(OptionsWith(std::move(credentials)));
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  std::string WriteFile(const std::string& name, const std::string& contents) {
    const std::string path = absl::StrCat(dir_, "/", name);
    std::ofstream(path) << contents;
    return path;
  }

  // A command that may meet the connection the server just dropped: the
  // first try may fail (UNAVAILABLE, the pool drops it), the next reconnects.
  static absl::StatusOr<redis::Reply> CommandAfterKill(redis::Client& client,
                                                       const std::vector<std::string>& args) {
    absl::StatusOr<redis::Reply> r = client.Command(args);
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
      r = client.Command(args);
    }
    return r;
  }

  BackendOptions BackendsWith(const std::string& username, const std::string& password_file) {
    BackendOptions o;
    o.service = "authtest";
    o.redis_address = server_->address();
    o.redis_pool_size = 2;
    o.redis_username = username;
    o.redis_password_file = password_file;
    o.kafka_bootstrap = "127.0.0.1:1";  // never reached: the producer connects lazily
    return o;
  }

  static RedisServer* server_;
  std::unique_ptr<redis::Client> admin_;
  std::string dir_;
};

RedisServer* RedisAuthTest::server_ = nullptr;

TEST_F(RedisAuthTest, DefaultUserPasswordWorksAndIsSentAgainAfterTheServerDropsTheConnection) {
  std::unique_ptr<redis::Client> client = Connect(redis::Credentials{"", kAdminPassword});
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Command({"SET", "auth:k", "v1"}).ok());
  absl::StatusOr<redis::Reply> id = client->Command({"CLIENT", "ID"});
  ASSERT_TRUE(id.ok()) << id.status();

  absl::StatusOr<redis::Reply> killed =
      admin_->Command({"CLIENT", "KILL", "ID", std::to_string(id->integer)});
  ASSERT_TRUE(killed.ok()) << killed.status();
  EXPECT_EQ(killed->integer, 1);

  absl::StatusOr<redis::Reply> got = CommandAfterKill(*client, {"GET", "auth:k"});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->str, "v1");
  absl::StatusOr<redis::Reply> new_id = client->Command({"CLIENT", "ID"});
  ASSERT_TRUE(new_id.ok()) << new_id.status();
  EXPECT_NE(new_id->integer, id->integer) << "the pool did not reconnect";
}

TEST_F(RedisAuthTest, AclUserWorksAndLogsInAgainAfterClientKill) {
  std::unique_ptr<redis::Client> client = Connect(redis::Credentials{kUser, kUserPassword});
  ASSERT_NE(client, nullptr);
  absl::StatusOr<redis::Reply> who = client->Command({"ACL", "WHOAMI"});
  ASSERT_TRUE(who.ok()) << who.status();
  EXPECT_EQ(who->str, kUser);
  // Scripts and transactions run as the user too.
  static const redis::Script* script =
      new redis::Script("redis.call('SET', KEYS[1], ARGV[1]) return redis.call('GET', KEYS[1])");
  absl::StatusOr<redis::Reply> ran = client->Eval(*script, {"auth:script"}, {"x"});
  ASSERT_TRUE(ran.ok()) << ran.status();
  EXPECT_EQ(ran->str, "x");

  absl::StatusOr<redis::Reply> killed = admin_->Command({"CLIENT", "KILL", "USER", kUser});
  ASSERT_TRUE(killed.ok()) << killed.status();
  EXPECT_GE(killed->integer, 1);

  who = CommandAfterKill(*client, {"ACL", "WHOAMI"});
  ASSERT_TRUE(who.ok()) << who.status();
  EXPECT_EQ(who->str, kUser);
}

TEST_F(RedisAuthTest, WrongPasswordIsRefusedWithAClearStatus) {
  const std::string wrong = "not-the-password-93d1";
  for (const redis::Credentials& creds :
       {redis::Credentials{"", wrong}, redis::Credentials{kUser, wrong}}) {
    std::unique_ptr<redis::Client> client = Connect(creds);
    ASSERT_NE(client, nullptr);
    absl::Status st = client->Ping();
    EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable) << st;
    EXPECT_EQ(ReasonOf(st), "REDIS_AUTH_FAILED") << st;
    EXPECT_TRUE(absl::StrContains(st.message(), "WRONGPASS")) << st;
    EXPECT_FALSE(absl::StrContains(st.ToString(), wrong)) << "the password leaked: " << st;
    if (!creds.username.empty()) {
      EXPECT_TRUE(absl::StrContains(st.message(), kUser)) << st;
    }
  }
}

TEST_F(RedisAuthTest, MissingPasswordIsRefusedNotAnInternalError) {
  std::unique_ptr<redis::Client> client = Connect(redis::Credentials{});  // explicitly none
  ASSERT_NE(client, nullptr);
  absl::Status st = client->Ping();
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable) << st;
  EXPECT_EQ(ReasonOf(st), "REDIS_AUTH_FAILED") << st;
  EXPECT_TRUE(absl::StrContains(st.message(), "NOAUTH")) << st;
  // Scripts answer the same, not INTERNAL "redis script: NOAUTH".
  static const redis::Script* script = new redis::Script("return 1");
  absl::StatusOr<redis::Reply> ran = client->Eval(*script, {}, {});
  EXPECT_EQ(ReasonOf(ran.status()), "REDIS_AUTH_FAILED") << ran.status();
}

TEST_F(RedisAuthTest, ProcessDefaultCredentialsServeOptionsThatLeaveThemUnset) {
  redis::SetDefaultCredentials({kUser, kUserPassword});
  std::unique_ptr<redis::Client> client = Connect(std::nullopt);
  ASSERT_NE(client, nullptr);
  absl::StatusOr<redis::Reply> who = client->Command({"ACL", "WHOAMI"});
  ASSERT_TRUE(who.ok()) << who.status();
  EXPECT_EQ(who->str, kUser);
}

TEST_F(RedisAuthTest, SubscriberLogsInAndSubscribesAgainAfterClientKill) {
  std::mutex mu;
  std::vector<std::string> got;
  redis::Subscriber sub(
      OptionsWith(redis::Credentials{kUser, kUserPassword}), "auth:feed",
      [&](absl::string_view m) {
        std::lock_guard<std::mutex> lock(mu);
        got.emplace_back(m);
      },
      [] {});
  sub.Start();
  auto received = [&](const std::string& m) {
    std::lock_guard<std::mutex> lock(mu);
    return std::find(got.begin(), got.end(), m) != got.end();
  };
  // Published until seen: the subscription may not be live yet.
  auto publish_until_seen = [&](const std::string& m) {
    return WaitUntil([&] {
      if (sub.subscribed()) (void)admin_->Command({"PUBLISH", "auth:feed", m});
      return received(m);
    });
  };
  ASSERT_TRUE(publish_until_seen("one"));
  EXPECT_EQ(sub.subscriptions(), 1);

  absl::StatusOr<redis::Reply> killed = admin_->Command({"CLIENT", "KILL", "TYPE", "pubsub"});
  ASSERT_TRUE(killed.ok()) << killed.status();
  EXPECT_EQ(killed->integer, 1);
  ASSERT_TRUE(WaitUntil([&] { return sub.subscriptions() == 2 && sub.subscribed(); }))
      << "the subscriber did not log in and subscribe again";
  EXPECT_TRUE(publish_until_seen("two"));
  sub.Stop();
}

TEST_F(RedisAuthTest, SubscriberWithAWrongPasswordNeverSubscribes) {
  redis::Options o = OptionsWith(redis::Credentials{kUser, "wrong-pw"});
  o.min_backoff = absl::Milliseconds(5);
  o.max_backoff = absl::Milliseconds(20);
  redis::Subscriber sub(
      o, "auth:feed", [](absl::string_view) {}, [] {});
  sub.Start();
  // Several refused attempts (each an AUTH failure in the server's ACL LOG)
  // and never a subscription.
  auto auth_failures = [&]() -> long long {
    absl::StatusOr<redis::Reply> log = admin_->Command({"ACL", "LOG"});
    if (!log.ok()) return -1;
    long long failures = 0;
    for (const redis::Reply& entry : log->elements) {  // flat key, value, ... lists
      std::string reason, username;
      long long count = 0;
      for (size_t i = 0; i + 1 < entry.elements.size(); i += 2) {
        const std::string& key = entry.elements[i].str;
        if (key == "reason") reason = entry.elements[i + 1].str;
        if (key == "username") username = entry.elements[i + 1].str;
        if (key == "count") count = entry.elements[i + 1].integer;
      }
      if (reason == "auth" && username == kUser) failures += count;
    }
    return failures;
  };
  ASSERT_TRUE(admin_->Command({"ACL", "LOG", "RESET"}).ok());
  const long long before = auth_failures();
  ASSERT_GE(before, 0);
  EXPECT_TRUE(WaitUntil([&] { return auth_failures() >= before + 3; }));
  EXPECT_FALSE(sub.subscribed());
  EXPECT_EQ(sub.subscriptions(), 0);
  sub.Stop();
}

TEST_F(RedisAuthTest, StartupLogsInWithThePasswordFile) {
  BackendOptions o =
      BackendsWith(kUser, WriteFile("redis.password", absl::StrCat(kUserPassword, "\n")));
  absl::StatusOr<Backends> b = ConnectBackends(o);
  ASSERT_TRUE(b.ok()) << b.status();
  absl::StatusOr<redis::Reply> who = b->redis->Command({"ACL", "WHOAMI"});
  ASSERT_TRUE(who.ok()) << who.status();
  EXPECT_EQ(who->str, kUser);
  // The process default, for pools and subscribers a service makes itself.
  EXPECT_EQ(redis::DefaultCredentials().username, kUser);
  EXPECT_EQ(redis::DefaultCredentials().password, kUserPassword);
}

TEST_F(RedisAuthTest, StartupFailsOnAWrongOrMissingPassword) {
  // Wrong password: refused at start, naming the flags, not the password.
  absl::StatusOr<Backends> b =
      ConnectBackends(BackendsWith(kUser, WriteFile("wrong.password", "wrong-pw-0c1d")));
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), absl::StatusCode::kUnavailable) << b.status();
  EXPECT_EQ(ReasonOf(b.status()), "REDIS_AUTH_FAILED") << b.status();
  EXPECT_TRUE(absl::StrContains(b.status().message(), "--redis_password_file")) << b.status();
  EXPECT_FALSE(absl::StrContains(b.status().ToString(), "wrong-pw-0c1d")) << b.status();

  // No password for a Redis that requires one.
  b = ConnectBackends(BackendsWith("", ""));
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(ReasonOf(b.status()), "REDIS_AUTH_FAILED") << b.status();
  EXPECT_TRUE(absl::StrContains(b.status().message(), "NOAUTH")) << b.status();

  // A username without a password; a password file that is not there or empty.
  b = ConnectBackends(BackendsWith(kUser, ""));
  EXPECT_EQ(ReasonOf(b.status()), "INVALID_REDIS_AUTH") << b.status();
  EXPECT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument);
  b = ConnectBackends(BackendsWith("", absl::StrCat(dir_, "/missing")));
  EXPECT_EQ(ReasonOf(b.status()), "UNREADABLE_FILE") << b.status();
  b = ConnectBackends(BackendsWith("", WriteFile("empty", "")));
  EXPECT_EQ(ReasonOf(b.status()), "EMPTY_FILE") << b.status();
}

TEST_F(RedisAuthTest, StartupIsNotRefusedWhenRedisIsMerelyDown) {
  BackendOptions o = BackendsWith("", WriteFile("pw", kAdminPassword));
  o.redis_address = absl::StrCat("127.0.0.1:", testing::FreeTcpPort());
  absl::StatusOr<Backends> b = ConnectBackends(o);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(ReasonOf(b->redis->Ping()), "REDIS_UNAVAILABLE");
}

TEST_F(RedisAuthTest, StartupRefusesKafkaSecurityThatCannotLogIn) {
  BackendOptions o = BackendsWith("", WriteFile("pw", kAdminPassword));
  o.kafka_security.protocol = "SASL_SSL";
  o.kafka_security.sasl_mechanism = "SCRAM-SHA-512";
  absl::StatusOr<Backends> b = ConnectBackends(o);  // no username
  EXPECT_EQ(ReasonOf(b.status()), "INVALID_KAFKA_SECURITY") << b.status();
  EXPECT_EQ(FieldOf(b.status()), "kafka_sasl_username") << b.status();

  o.kafka_security.username = "svc";
  o.kafka_sasl_password_file = WriteFile("kafka.password", "kafka-pw-77e2\n");
  b = ConnectBackends(o);
  ASSERT_TRUE(b.ok()) << b.status();
  absl::StatusOr<std::string> mech = b->producer->ConfigValue("sasl.mechanisms");
  ASSERT_TRUE(mech.ok()) << mech.status();
  EXPECT_EQ(*mech, "SCRAM-SHA-512");
  absl::StatusOr<std::string> pw = b->producer->ConfigValue("sasl.password");
  ASSERT_TRUE(pw.ok()) << pw.status();
  EXPECT_EQ(*pw, "kafka-pw-77e2") << "the password file's first line, trimmed";
  // Consumers a service builds from the bootstrap servers alone get it too.
  EXPECT_EQ(kafka::DefaultSecurity().protocol, "SASL_SSL");
  EXPECT_EQ(kafka::DefaultSecurity().password, "kafka-pw-77e2");
}

}  // namespace
}  // namespace dialgrid
