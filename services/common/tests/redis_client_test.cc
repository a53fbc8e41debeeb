// Component tests of dialgrid::redis::Client against a real redis-server
// (tests/fixtures). Nothing here mocks hiredis or Redis.

#include "services/common/redis/redis_client.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "services/common/core/clock.h"
#include "services/common/core/errors.h"
#include "services/common/server/rate_limiter.h"
#include "services/common/server/redis_rate_budget.h"
#include "tests/fixtures/servers.h"

namespace dialgrid::redis {
namespace {

using ::dialgrid::testing::RedisServer;

Options OptionsFor(const RedisServer& server) {
  Options options;
  absl::Status st = ParseAddress(server.address(), options);
  EXPECT_TRUE(st.ok()) << st;
  return options;
}

std::unique_ptr<Client> MustCreate(const Options& options) {
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(options);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

// Calls of `command` recorded by the server (INFO commandstats), 0 if none.
long long CommandCalls(Client& client, absl::string_view command) {
  absl::StatusOr<Reply> info = client.Command({"INFO", "commandstats"});
  EXPECT_TRUE(info.ok()) << info.status();
  if (!info.ok()) return -1;
  const std::string prefix = absl::StrCat("cmdstat_", command, ":calls=");
  for (absl::string_view line : absl::StrSplit(info->str, "\r\n")) {
    if (!absl::StartsWith(line, prefix)) continue;
    line.remove_prefix(prefix.size());
    long long calls = 0;
    EXPECT_TRUE(absl::SimpleAtoi(line.substr(0, line.find(',')), &calls)) << line;
    return calls;
  }
  return 0;
}

// One redis-server shared by the tests that do not stop it.
class RedisClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<RedisServer>> server = RedisServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr) << "redis-server did not start";
    client_ = MustCreate(OptionsFor(*server_));
    ASSERT_NE(client_, nullptr);
  }

  static RedisServer* server_;
  std::unique_ptr<Client> client_;
};

RedisServer* RedisClientTest::server_ = nullptr;

TEST_F(RedisClientTest, SetGetDelAndNil) {
  absl::StatusOr<Reply> set = client_->Command({"SET", "cmd:k", "v1"});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->type, Reply::Type::kStatus);
  EXPECT_EQ(set->str, "OK");

  absl::StatusOr<Reply> get = client_->Command({"GET", "cmd:k"});
  ASSERT_TRUE(get.ok()) << get.status();
  EXPECT_EQ(get->type, Reply::Type::kString);
  EXPECT_EQ(get->str, "v1");
  EXPECT_FALSE(get->is_nil());
  EXPECT_EQ(*StringOrNotFound(*get), "v1");

  absl::StatusOr<Reply> del = client_->Command({"DEL", "cmd:k", "cmd:never-set"});
  ASSERT_TRUE(del.ok()) << del.status();
  EXPECT_EQ(del->type, Reply::Type::kInteger);
  EXPECT_EQ(del->integer, 1);

  absl::StatusOr<Reply> gone = client_->Command({"GET", "cmd:k"});
  ASSERT_TRUE(gone.ok()) << gone.status();
  EXPECT_TRUE(gone->is_nil());
  EXPECT_TRUE(absl::IsNotFound(StringOrNotFound(*gone).status()));

  // Arrays, with nil elements kept in place.
  ASSERT_TRUE(client_->Command({"SET", "cmd:a", "A"}).ok());
  absl::StatusOr<Reply> mget = client_->Command({"MGET", "cmd:a", "cmd:missing", "cmd:a"});
  ASSERT_TRUE(mget.ok()) << mget.status();
  ASSERT_EQ(mget->type, Reply::Type::kArray);
  ASSERT_EQ(mget->elements.size(), 3u);
  EXPECT_EQ(mget->elements[0].str, "A");
  EXPECT_TRUE(mget->elements[1].is_nil());
  EXPECT_EQ(mget->elements[2].str, "A");

  // An error reply is INTERNAL carrying Redis' message.
  absl::StatusOr<Reply> bad = client_->Command({"NOSUCHCOMMAND", "x"});
  EXPECT_TRUE(absl::IsInternal(bad.status())) << bad.status();
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "unknown command")) << bad.status();
  EXPECT_TRUE(client_->Ping().ok());
}

TEST_F(RedisClientTest, ValuesAreBinarySafe) {
  const std::string with_nuls("a\0b\0\0c\r\n\xff", 9);
  ASSERT_EQ(with_nuls.size(), 9u);
  const std::string key_with_nul("bin:\0key", 8);
  ASSERT_TRUE(client_->Command({"SET", key_with_nul, with_nuls}).ok());
  absl::StatusOr<Reply> get = client_->Command({"GET", key_with_nul});
  ASSERT_TRUE(get.ok()) << get.status();
  EXPECT_EQ(get->str, with_nuls);
  absl::StatusOr<Reply> len = client_->Command({"STRLEN", key_with_nul});
  ASSERT_TRUE(len.ok()) << len.status();
  EXPECT_EQ(len->integer, 9);
  // The key with the NUL is not the key cut at the NUL.
  absl::StatusOr<Reply> cut = client_->Command({"EXISTS", "bin:"});
  ASSERT_TRUE(cut.ok()) << cut.status();
  EXPECT_EQ(cut->integer, 0);

  // 1 MiB of every byte value.
  std::string big(1 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 131 + 7) & 0xff);
  ASSERT_TRUE(client_->Command({"SET", "bin:big", big}).ok());
  absl::StatusOr<Reply> got = client_->Command({"GET", "bin:big"});
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->str.size(), big.size());
  EXPECT_TRUE(got->str == big);
}

TEST_F(RedisClientTest, PipelineRepliesComeBackInOrder) {
  constexpr int kCommands = 1000;
  std::vector<std::vector<std::string>> commands;
  commands.reserve(kCommands);
  for (int i = 0; i < kCommands; ++i) {
    // Odd commands read back what the one before wrote.
    if (i % 2 == 0) {
      commands.push_back({"RPUSH", "pipe:list", absl::StrCat("item-", i)});
    } else {
      commands.push_back({"LINDEX", "pipe:list", "-1"});
    }
  }
  absl::StatusOr<std::vector<Reply>> replies = client_->Pipeline(commands);
  ASSERT_TRUE(replies.ok()) << replies.status();
  ASSERT_EQ(replies->size(), static_cast<size_t>(kCommands));
  for (int i = 0; i < kCommands; ++i) {
    const Reply& r = (*replies)[i];
    if (i % 2 == 0) {
      ASSERT_EQ(r.type, Reply::Type::kInteger) << i;
      EXPECT_EQ(r.integer, i / 2 + 1) << i;
    } else {
      ASSERT_EQ(r.type, Reply::Type::kString) << i;
      EXPECT_EQ(r.str, absl::StrCat("item-", i - 1)) << i;
    }
  }
  absl::StatusOr<Reply> len = client_->Command({"LLEN", "pipe:list"});
  ASSERT_TRUE(len.ok()) << len.status();
  EXPECT_EQ(len->integer, kCommands / 2);

  absl::StatusOr<std::vector<Reply>> empty = client_->Pipeline({});
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->empty());
}

TEST_F(RedisClientTest, ErrorReplyInPipelineFailsTheCallButKeepsTheConnection) {
  // One connection, so "still usable" means the same connection.
  Options options = OptionsFor(*server_);
  options.pool_size = 1;
  std::unique_ptr<Client> client = MustCreate(options);
  ASSERT_NE(client, nullptr);
  absl::StatusOr<Reply> id_before = client->Command({"CLIENT", "ID"});
  ASSERT_TRUE(id_before.ok()) << id_before.status();

  absl::StatusOr<std::vector<Reply>> replies = client->Pipeline({{"SET", "perr:s", "not a number"},
                                                                 {"INCR", "perr:s"},
                                                                 {"SET", "perr:after", "written"},
                                                                 {"INCR", "perr:n"}});
  EXPECT_TRUE(absl::IsInternal(replies.status())) << replies.status();
  EXPECT_TRUE(absl::StrContains(replies.status().message(), "not an integer")) << replies.status();

  // Every command was sent and every reply consumed: the stream is in step.
  absl::StatusOr<std::vector<Reply>> after =
      client->Pipeline({{"GET", "perr:after"}, {"GET", "perr:n"}, {"CLIENT", "ID"}});
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ((*after)[0].str, "written");
  EXPECT_EQ((*after)[1].str, "1");
  ASSERT_EQ((*after)[2].type, Reply::Type::kInteger);
  EXPECT_EQ((*after)[2].integer, id_before->integer) << "the connection was replaced";
  absl::StatusOr<Reply> incr = client->Command({"INCR", "perr:n"});
  ASSERT_TRUE(incr.ok()) << incr.status();
  EXPECT_EQ(incr->integer, 2);
}

// Regression: an error reply nested in an array (a queued command failing
// inside MULTI/EXEC, or a script returning a table holding an error) used to
// become a nil element while the call succeeded, indistinguishable from "key
// not found". RunPipeline now checks nested replies (HasError).
TEST_F(RedisClientTest, ErrorInsideExecArrayIsNotLost) {
  absl::StatusOr<std::vector<Reply>> replies = client_->Pipeline(
      {{"SET", "tx:s", "text"}, {"MULTI"}, {"INCR", "tx:s"}, {"SET", "tx:after", "v"}, {"EXEC"}});
  EXPECT_TRUE(absl::IsInternal(replies.status()))
      << (replies.ok() ? "OK, EXEC element 0 is_nil=" +
                             std::to_string(replies->back().elements.at(0).is_nil())
                       : replies.status().ToString());
  absl::StatusOr<Reply> eval =
      client_->Eval(Script("return {1, redis.error_reply('NESTED_ERR boom')}"), {}, {});
  EXPECT_TRUE(absl::IsInternal(eval.status())) << eval.status();
}

TEST_F(RedisClientTest, EvalRunsByShaAndReloadsAfterScriptFlush) {
  const Script script(
      "-- eval test\n"
      "local v = redis.call('INCRBY', KEYS[1], ARGV[1])\n"
      "return {v, ARGV[2]}");
  ASSERT_EQ(script.sha().size(), 40u);
  ASSERT_TRUE(client_->Command({"SCRIPT", "FLUSH"}).ok());
  const long long eval_before = CommandCalls(*client_, "eval");

  absl::StatusOr<Reply> first = client_->Eval(script, {"eval:n"}, {"5", "tag"});
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->type, Reply::Type::kArray);
  ASSERT_EQ(first->elements.size(), 2u);
  EXPECT_EQ(first->elements[0].integer, 5);
  EXPECT_EQ(first->elements[1].str, "tag");

  // Our SHA is the one Redis computes for the source: it is now loaded.
  absl::StatusOr<Reply> exists = client_->Command({"SCRIPT", "EXISTS", script.sha()});
  ASSERT_TRUE(exists.ok()) << exists.status();
  ASSERT_EQ(exists->elements.size(), 1u);
  EXPECT_EQ(exists->elements[0].integer, 1);

  const long long evalsha_before = CommandCalls(*client_, "evalsha");
  absl::StatusOr<Reply> second = client_->Eval(script, {"eval:n"}, {"2", "tag2"});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->elements[0].integer, 7);
  EXPECT_EQ(second->elements[1].str, "tag2");
  EXPECT_EQ(CommandCalls(*client_, "evalsha"), evalsha_before + 1);

  // After SCRIPT FLUSH the NOSCRIPT reply makes the client load it again.
  ASSERT_TRUE(client_->Command({"SCRIPT", "FLUSH"}).ok());
  absl::StatusOr<Reply> third = client_->Eval(script, {"eval:n"}, {"3", "tag3"});
  ASSERT_TRUE(third.ok()) << third.status();
  ASSERT_EQ(third->type, Reply::Type::kArray);
  EXPECT_EQ(third->elements[0].integer, 10);
  EXPECT_EQ(third->elements[1].str, "tag3");
  absl::StatusOr<Reply> value = client_->Command({"GET", "eval:n"});
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->str, "10");  // ran exactly once per Eval
  // Never fell back to sending the source with EVAL.
  EXPECT_EQ(CommandCalls(*client_, "eval"), eval_before);
}

TEST_F(RedisClientTest, EvalErrorReplyIsInternalWithTheMessage) {
  const Script script("return redis.error_reply('QUOTA_GONE tenant acme is out of minutes')");
  absl::StatusOr<Reply> r = client_->Eval(script, {}, {});
  EXPECT_TRUE(absl::IsInternal(r.status())) << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "QUOTA_GONE tenant acme is out of minutes"))
      << r.status();
  // Also when the failure comes after a NOSCRIPT reload.
  ASSERT_TRUE(client_->Command({"SCRIPT", "FLUSH"}).ok());
  r = client_->Eval(script, {}, {});
  EXPECT_TRUE(absl::IsInternal(r.status())) << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "QUOTA_GONE")) << r.status();
  // A runtime error inside the script too.
  ASSERT_TRUE(client_->Command({"SET", "evalerr:s", "text"}).ok());
  r = client_->Eval(Script("return redis.call('INCR', KEYS[1])"), {"evalerr:s"}, {});
  EXPECT_TRUE(absl::IsInternal(r.status())) << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "not an integer")) << r.status();
  EXPECT_TRUE(client_->Ping().ok());
}

TEST_F(RedisClientTest, CommandTimeoutIsUnavailableAndTheConnectionIsReplaced) {
  Options options = OptionsFor(*server_);
  options.pool_size = 1;
  options.command_timeout = absl::Milliseconds(200);
  std::unique_ptr<Client> client = MustCreate(options);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Ping().ok());

  const absl::Time start = absl::Now();
  absl::StatusOr<Reply> blocked = client->Command({"BLPOP", "timeout:never", "2"});
  const absl::Duration took = absl::Now() - start;
  EXPECT_TRUE(absl::IsUnavailable(blocked.status())) << blocked.status();
  EXPECT_EQ(ReasonOf(blocked.status()), "REDIS_UNAVAILABLE");
  EXPECT_GE(took, absl::Milliseconds(150));
  EXPECT_LT(took, absl::Seconds(1));

  // The timed-out stream is not reused: if it were, the BLPOP's late nil
  // would be read as the reply to the SET.
  absl::StatusOr<Reply> set = client->Command({"SET", "timeout:k", "v"});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->type, Reply::Type::kStatus);
  absl::StatusOr<Reply> get = client->Command({"GET", "timeout:k"});
  ASSERT_TRUE(get.ok()) << get.status();
  EXPECT_EQ(get->str, "v");
}

TEST_F(RedisClientTest, ConcurrentCallersShareThePoolWithoutCrossedReplies) {
  constexpr int kThreads = 16;
  constexpr int kIncrsPerThread = 500;
  Options options = OptionsFor(*server_);
  options.pool_size = 2;
  options.acquire_timeout = absl::Seconds(10);
  std::unique_ptr<Client> client = MustCreate(options);
  ASSERT_NE(client, nullptr);

  std::vector<std::vector<long long>> seen(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIncrsPerThread; ++i) {
        absl::StatusOr<Reply> r = client->Command({"INCR", "pool:counter"});
        if (!r.ok() || r->type != Reply::Type::kInteger) {
          failures.fetch_add(1);
          continue;
        }
        seen[t].push_back(r->integer);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);

  absl::StatusOr<Reply> final_value = client->Command({"GET", "pool:counter"});
  ASSERT_TRUE(final_value.ok()) << final_value.status();
  EXPECT_EQ(final_value->str, std::to_string(kThreads * kIncrsPerThread));

  // Each caller got its own replies: every value 1..8000 exactly once, and
  // increasing within each thread.
  std::vector<long long> all;
  for (const auto& values : seen) {
    EXPECT_TRUE(std::is_sorted(values.begin(), values.end()));
    all.insert(all.end(), values.begin(), values.end());
  }
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * kIncrsPerThread));
  for (size_t i = 0; i < all.size(); ++i) {
    ASSERT_EQ(all[i], static_cast<long long>(i + 1)) << "duplicate or missing INCR reply";
  }
}

TEST_F(RedisClientTest, ExhaustedPoolIsUnavailableAfterTheAcquireTimeout) {
  Options options = OptionsFor(*server_);
  options.pool_size = 1;
  options.acquire_timeout = absl::Milliseconds(50);
  options.command_timeout = absl::Seconds(10);  // bounds the BLPOP below
  std::unique_ptr<Client> client = MustCreate(options);
  ASSERT_NE(client, nullptr);
  std::unique_ptr<Client> other = MustCreate(OptionsFor(*server_));
  ASSERT_NE(other, nullptr);

  // The blocker holds the only connection until we push to its list.
  absl::StatusOr<Reply> popped = absl::UnknownError("not run");
  std::thread blocker([&] {
    do {
      popped = client->Command({"BLPOP", "exhaust:list", "0"});
    } while (ReasonOf(popped.status()) == "REDIS_POOL_EXHAUSTED");
  });

  absl::Status exhausted;
  absl::Duration took;
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (absl::Now() < deadline) {
    const absl::Time start = absl::Now();
    absl::Status st = client->Ping();
    took = absl::Now() - start;
    if (!st.ok()) {
      exhausted = st;
      break;
    }
  }
  EXPECT_TRUE(absl::IsUnavailable(exhausted)) << exhausted;
  EXPECT_EQ(ReasonOf(exhausted), "REDIS_POOL_EXHAUSTED") << exhausted;
  EXPECT_GE(took, absl::Milliseconds(45));
  EXPECT_LT(took, absl::Seconds(1));

  ASSERT_TRUE(other->Command({"RPUSH", "exhaust:list", "go"}).ok());
  blocker.join();
  ASSERT_TRUE(popped.ok()) << popped.status();
  ASSERT_EQ(popped->type, Reply::Type::kArray);
  ASSERT_EQ(popped->elements.size(), 2u);
  EXPECT_EQ(popped->elements[1].str, "go");
  // The connection is back in the pool.
  EXPECT_TRUE(client->Ping().ok());
}

TEST(RedisClientCreate, RejectsNonPositivePoolSize) {
  Options options;
  options.pool_size = 0;
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(options);
  EXPECT_TRUE(absl::IsInvalidArgument(client.status())) << client.status();
  EXPECT_EQ(ReasonOf(client.status()), "INVALID_POOL_SIZE");
}

// Stops and restarts its own server, so it does not share one.
TEST(RedisClientConnectionLoss, UnavailableWhileDownThenReconnects) {
  // A write to a socket the server closed raises SIGPIPE; services ignore it
  // (ServiceHost::BlockTerminationSignals), so do the same here.
  std::signal(SIGPIPE, SIG_IGN);
  absl::StatusOr<std::unique_ptr<RedisServer>> server = RedisServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  Options options = OptionsFor(**server);
  options.pool_size = 2;
  options.connect_timeout = absl::Milliseconds(200);
  options.command_timeout = absl::Milliseconds(200);
  options.min_backoff = absl::Milliseconds(20);
  options.max_backoff = absl::Milliseconds(200);
  std::unique_ptr<Client> client = MustCreate(options);
  ASSERT_NE(client, nullptr);
  // Open both pooled connections.
  ASSERT_TRUE(client->Pipeline({{"SET", "loss:k", "v"}, {"GET", "loss:k"}}).ok());
  {
    std::thread t([&] { EXPECT_TRUE(client->Ping().ok()); });
    EXPECT_TRUE(client->Ping().ok());
    t.join();
  }

  ASSERT_TRUE((*server)->Stop().ok());
  // Every call answers UNAVAILABLE promptly: first on both established
  // connections at once (a small read and a large write), then through
  // refused reconnects and the backoff.
  auto call_unavailable = [&client](const std::vector<std::string>& command,
                                    const std::string& what) {
    const absl::Time start = absl::Now();
    absl::StatusOr<Reply> r = client->Command(command);
    const absl::Duration took = absl::Now() - start;
    EXPECT_TRUE(absl::IsUnavailable(r.status())) << what << ": " << r.status();
    EXPECT_EQ(ReasonOf(r.status()), "REDIS_UNAVAILABLE") << what << ": " << r.status();
    EXPECT_LT(took, absl::Milliseconds(500)) << what;
  };
  const std::string big(1 << 20, 'x');
  {
    std::thread t([&] { call_unavailable({"SET", "loss:k", big}, "large write, established"); });
    call_unavailable({"GET", "loss:k"}, "read, established");
    t.join();
  }
  for (int i = 0; i < 6; ++i) {
    call_unavailable(i % 2 == 0 ? std::vector<std::string>{"GET", "loss:k"}
                                : std::vector<std::string>{"SET", "loss:k", big},
                     absl::StrCat("after drop #", i));
  }
  EXPECT_TRUE(absl::IsUnavailable(client->Ping()));

  ASSERT_TRUE((*server)->Restart().ok());
  absl::Status last;
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  int attempts = 0;
  do {
    last = client->Ping();
    ++attempts;
  } while (!last.ok() && absl::Now() < deadline);
  ASSERT_TRUE(last.ok()) << last << " after " << attempts << " attempts";
  // Both connections of the pool work again (nothing survived the restart).
  std::atomic<int> ok_calls{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      const absl::Time until = absl::Now() + absl::Seconds(5);
      while (absl::Now() < until) {
        absl::StatusOr<Reply> r = client->Command({"INCR", "loss:after"});
        if (r.ok()) {
          ok_calls.fetch_add(1);
          return;
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(ok_calls.load(), 4);
  absl::StatusOr<Reply> value = client->Command({"GET", "loss:after"});
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->str, "4");
}

TEST(RedisParseAddress, AcceptsHostPortAndUnixSockets) {
  Options options;
  ASSERT_TRUE(ParseAddress("10.1.2.3:6380", options).ok());
  EXPECT_EQ(options.host, "10.1.2.3");
  EXPECT_EQ(options.port, 6380);
  EXPECT_EQ(options.unix_socket, "");

  ASSERT_TRUE(ParseAddress("redis.internal:1", options).ok());
  EXPECT_EQ(options.host, "redis.internal");
  EXPECT_EQ(options.port, 1);
  ASSERT_TRUE(ParseAddress("localhost:65535", options).ok());
  EXPECT_EQ(options.port, 65535);

  ASSERT_TRUE(ParseAddress("unix:/run/redis/redis.sock", options).ok());
  EXPECT_EQ(options.unix_socket, "/run/redis/redis.sock");
  // host:port after a socket switches back to TCP.
  ASSERT_TRUE(ParseAddress("127.0.0.1:6379", options).ok());
  EXPECT_EQ(options.unix_socket, "");
  EXPECT_EQ(options.host, "127.0.0.1");
  EXPECT_EQ(options.port, 6379);
}

TEST(RedisParseAddress, RejectsMalformedAddresses) {
  for (const char* bad :
       {"", "localhost", "localhost:", "localhost:0", "localhost:65536", "localhost:-1",
        "localhost:port", "localhost:63 79", "1.2.3.4:99999999999"}) {
    Options options;
    options.host = "unchanged";
    options.port = 1234;
    absl::Status st = ParseAddress(bad, options);
    EXPECT_TRUE(absl::IsInvalidArgument(st)) << "\"" << bad << "\": " << st;
    EXPECT_EQ(ReasonOf(st), "INVALID_ADDRESS") << bad;
    EXPECT_EQ(FieldOf(st), "redis_address") << bad;
    EXPECT_EQ(options.host, "unchanged") << bad;
    EXPECT_EQ(options.port, 1234) << bad;
  }
}

// Regression: ParseAddress used to accept "unix:" (empty socket path) and
// ":6379" (empty host); with "unix:" the client silently connected to the
// default host:port instead of failing fast on a bad --redis address.
TEST(RedisParseAddress, RejectsEmptyHostOrSocketPath) {
  for (const char* bad : {"unix:", ":6379"}) {
    Options options;
    absl::Status st = ParseAddress(bad, options);
    EXPECT_TRUE(absl::IsInvalidArgument(st)) << "\"" << bad << "\": " << st;
  }
}

// Tenants placed on a Redis of their own: every call reaches the Redis of
// the keys it names, and nothing of a placed tenant is on the default.
TEST(RedisPlacementTest, EachTenantsKeysLiveOnItsRedisAndTheRestOnTheDefault) {
  auto main_server = RedisServer::Start();
  auto placed_server = RedisServer::Start();
  ASSERT_TRUE(main_server.ok() && placed_server.ok());
  Options base = OptionsFor(**main_server);
  auto placement = ParsePlacement(
      absl::StrCat("# the vendor's big client on its own Redis\n", "globex ",
                   (*placed_server)->address(), "\n\n"),
      base);
  ASSERT_TRUE(placement.ok()) << placement.status();
  auto routed = Client::Create(base, *placement);
  ASSERT_TRUE(routed.ok()) << routed.status();
  Client& c = **routed;
  auto main_only = MustCreate(base);
  auto placed_only = MustCreate(OptionsFor(**placed_server));
  ASSERT_EQ(c.Shards().size(), 2u);
  auto exists = [](Client& on, const std::string& key) {
    auto r = on.Command({"EXISTS", key});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() && r->integer == 1;
  };

  // Commands.
  ASSERT_TRUE(c.Command({"SET", "{t:globex}:a", "1"}).ok());
  ASSERT_TRUE(c.Command({"SET", "{t:acme}:a", "1"}).ok());
  ASSERT_TRUE(c.Command({"SET", "{dg}:index", "globex"}).ok());
  EXPECT_TRUE(exists(*placed_only, "{t:globex}:a"));
  EXPECT_FALSE(exists(*main_only, "{t:globex}:a"));
  EXPECT_TRUE(exists(*main_only, "{t:acme}:a"));
  EXPECT_TRUE(exists(*main_only, "{dg}:index"));
  EXPECT_FALSE(exists(*placed_only, "{dg}:index"));
  EXPECT_EQ(c.Command({"GET", "{t:globex}:a"})->str, "1");

  // A pipeline across both: each command where its key lives, a MULTI/EXEC
  // block with its keys, a WAIT after the writes of both, replies in order.
  auto r = c.Pipeline({{"MULTI"},
                       {"SET", "{t:globex}:b", "2"},
                       {"INCR", "{t:globex}:n"},
                       {"EXEC"},
                       {"SADD", "{dg}:dirty", "globex"},
                       {"WAIT", "0", "10"},
                       {"GET", "{t:globex}:b"}});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 7u);
  EXPECT_EQ((*r)[3].elements.size(), 2u);  // EXEC's replies
  EXPECT_EQ((*r)[4].integer, 1);
  EXPECT_EQ((*r)[6].str, "2");
  EXPECT_TRUE(exists(*placed_only, "{t:globex}:n"));
  EXPECT_TRUE(exists(*main_only, "{dg}:dirty"));
  EXPECT_FALSE(exists(*main_only, "{t:globex}:b"));

  // A script on its keys' Redis, what follows it on another where its key is.
  Script incr("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  auto e = c.EvalThen(incr, {"{t:globex}:n"}, {"5"}, {{"SADD", "{dg}:dirty", "acme"}});
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ((*e)[0].integer, 6);
  EXPECT_EQ((*e)[1].integer, 1);
  EXPECT_EQ(main_only->Command({"SCARD", "{dg}:dirty"})->integer, 2);
  // A script whose keys are on two Redis deployments is refused, unrun.
  auto two = c.Eval(incr, {"{t:globex}:n", "{t:acme}:n"}, {"1"});
  EXPECT_FALSE(two.ok());
  EXPECT_FALSE(exists(*main_only, "{t:acme}:n"));
  // A session on the tenant's Redis.
  absl::Status st = c.WithSession("{t:globex}:", [&](Client::Session& s) -> absl::Status {
    auto got = s.Command({"GET", "{t:globex}:a"});
    if (!got.ok()) return got.status();
    EXPECT_EQ(got->str, "1");
    return absl::OkStatus();
  });
  EXPECT_TRUE(st.ok()) << st;
  EXPECT_TRUE(c.Ping().ok());

  // A placement file that does not parse names its line.
  auto bad = ParsePlacement("acme 127.0.0.1:1\nglobex\n", base);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "line 2")) << bad.status();
  EXPECT_FALSE(ParsePlacement("acme 127.0.0.1:1\nacme 127.0.0.1:2\n", base).ok());
}

// A tenant's request quota across replicas: three limiters (three replicas)
// drawing from one budget in Redis admit the limit in each second together.
TEST(RedisRateBudgetTest, ReplicasTogetherAdmitTheTenantsLimitInEachSecond) {
  auto server = RedisServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  std::shared_ptr<Client> redis = MustCreate(OptionsFor(**server));
  RedisRateBudget budget(redis, "contacts");
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  auto limit = [](const std::string& tenant) -> absl::StatusOr<int64_t> {
    return tenant == "acme" ? 120 : 0;
  };
  TenantRateLimiter a(limit, clock, absl::Seconds(5), &budget);
  TenantRateLimiter b(limit, clock, absl::Seconds(5), &budget);
  TenantRateLimiter c(limit, clock, absl::Seconds(5), &budget);
  CallContext acme;
  acme.principal.tenant = "acme";
  auto round = [&] {
    int admitted = 0;
    for (int i = 0; i < 100; ++i) {
      for (TenantRateLimiter* r : {&a, &b, &c}) {
        absl::Status st = r->Admit(acme);
        if (st.ok()) {
          ++admitted;
        } else {
          EXPECT_EQ(ReasonOf(st), "QUOTA_EXCEEDED");
        }
      }
    }
    return admitted;
  };
  EXPECT_EQ(round(), 120);  // 300 asked across three replicas
  clock.Advance(absl::Milliseconds(999));
  EXPECT_EQ(round(), 0);  // still the same second
  clock.Advance(absl::Milliseconds(1));
  EXPECT_EQ(round(), 120);  // the next second's
  // A tenant without a limit, and the vendor scope, are never counted.
  CallContext big;
  big.principal.tenant = "big";
  for (int i = 0; i < 500; ++i) ASSERT_TRUE(a.Admit(big).ok());
  // Redis gone: each replica falls back to a bucket of its own (the limit
  // per replica) rather than refusing the tenant's calls.
  server->reset();
  clock.Advance(absl::Seconds(1));
  int admitted = 0;
  for (int i = 0; i < 200; ++i) admitted += a.Admit(acme).ok();
  EXPECT_EQ(admitted, 120);
}

}  // namespace
}  // namespace dialgrid::redis
