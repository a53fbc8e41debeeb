// Redis Sentinel in the shared client: a master, a replica and a real
// Sentinel (redis-server --sentinel) on loopback; a forced failover
// (SENTINEL FAILOVER) and the client following it without a restart.

#include <gtest/gtest.h>

#include <fstream>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "services/common/core/errors.h"
#include "services/common/redis/redis_client.h"
#include "services/common/redis/redis_subscriber.h"
#include "tests/fixtures/servers.h"

namespace dialgrid {
namespace {

using ::dialgrid::testing::ChildProcess;
using ::dialgrid::testing::FreeTcpPort;
using ::dialgrid::testing::RedisServer;

constexpr char kMaster[] = "dialgrid-main";

bool WaitUntil(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return true;
}

// A client of one server, for looking behind the sentinel-aware one.
std::unique_ptr<redis::Client> Direct(const std::string& address) {
  redis::Options o;
  EXPECT_TRUE(redis::ParseAddress(address, o).ok());
  o.pool_size = 1;
  auto c = redis::Client::Create(o);
  EXPECT_TRUE(c.ok());
  return std::move(*c);
}

// A command on a direct client, tried again once: a failover kills the
// normal clients of both servers (CLIENT KILL), so the first use of a
// pooled connection afterwards may meet the closed socket.
absl::StatusOr<redis::Reply> Again(redis::Client& c, const std::vector<std::string>& args) {
  auto r = c.Command(args);
  return r.ok() ? r : c.Command(args);
}

std::string Role(redis::Client& c) {
  auto r = Again(c, {"ROLE"});
  if (!r.ok() || r->elements.empty()) return "";
  return r->elements[0].str;
}

class RedisSentinelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto master = RedisServer::Start();
    ASSERT_TRUE(master.ok()) << master.status();
    master_ = std::move(*master);
    auto replica = RedisServer::Start({"--replicaof", "127.0.0.1", absl::StrCat(master_->port())});
    ASSERT_TRUE(replica.ok()) << replica.status();
    replica_ = std::move(*replica);
    replica_direct_ = Direct(replica_->address());
    master_direct_ = Direct(master_->address());
    ASSERT_TRUE(WaitUntil(
        [&] {
          auto info = replica_direct_->Command({"INFO", "replication"});
          return info.ok() && absl::StrContains(info->str, "master_link_status:up");
        },
        absl::Seconds(20)));

    sentinel_port_ = FreeTcpPort();
    const std::string conf = absl::StrCat(master_->dir(), "/sentinel.conf");
    {
      std::ofstream out(conf);
      out << "port " << sentinel_port_ << "\nbind 127.0.0.1\ndir " << master_->dir()
          << "\nsentinel monitor " << kMaster << " 127.0.0.1 " << master_->port() << " 1\n"
          << "sentinel down-after-milliseconds " << kMaster << " 1000\n"
          << "sentinel failover-timeout " << kMaster << " 10000\n";
    }
    auto sentinel = ChildProcess::Spawn({DIALGRID_REDIS_SERVER_BIN, conf, "--sentinel"}, {},
                                        absl::StrCat(master_->dir(), "/sentinel.log"));
    ASSERT_TRUE(sentinel.ok()) << sentinel.status();
    sentinel_ = std::move(*sentinel);
    sentinel_direct_ = Direct(absl::StrCat("127.0.0.1:", sentinel_port_));
    // The Sentinel knows the replica (from the master's INFO) before a
    // failover can be asked of it.
    ASSERT_TRUE(WaitUntil(
        [&] {
          // Listed from the master's INFO first; promotable once the
          // Sentinel has its own link to it and has read its INFO
          // (otherwise SENTINEL FAILOVER answers NOGOODSLAVE).
          auto r = sentinel_direct_->Command({"SENTINEL", "replicas", kMaster});
          if (!r.ok() || r->elements.size() != 1) return false;
          std::map<std::string, std::string> fields;
          const auto& kv = r->elements[0].elements;
          for (size_t i = 0; i + 1 < kv.size(); i += 2) fields[kv[i].str] = kv[i + 1].str;
          return fields["flags"] == "slave" && fields["master-link-status"] == "ok" &&
                 !fields["info-refresh"].empty() && std::stoll(fields["info-refresh"]) < 5000;
        },
        absl::Seconds(30)));
  }

  std::string SentinelAddress() const {
    return absl::StrCat("sentinel://127.0.0.1:", FreeTcpPort(), ",127.0.0.1:", sentinel_port_,
                        "/", kMaster);  // the first Sentinel listens nowhere
  }

  std::unique_ptr<RedisServer> master_, replica_;
  std::unique_ptr<ChildProcess> sentinel_;
  int sentinel_port_ = 0;
  std::unique_ptr<redis::Client> master_direct_, replica_direct_, sentinel_direct_;
};

TEST_F(RedisSentinelTest, WritesFollowAFailoverWithoutARestart) {
  redis::Options o;
  ASSERT_TRUE(redis::ParseAddress(SentinelAddress(), o).ok());
  o.pool_size = 2;
  o.sentinel_check_interval = absl::Milliseconds(200);
  auto client = redis::Client::Create(o);
  ASSERT_TRUE(client.ok()) << client.status();
  redis::Client& c = **client;

  // A Pub/Sub subscriber through the same Sentinels (agent state's change
  // feed): subscribed on the old master before the failover.
  std::atomic<int> heard{0};
  redis::Subscriber sub(o, "feed", [&](absl::string_view) { heard.fetch_add(1); }, [] {});
  sub.Start();
  ASSERT_TRUE(WaitUntil([&] { return sub.subscribed(); }, absl::Seconds(10)));

  ASSERT_TRUE(c.Command({"SET", "before", "1"}).ok());
  auto seen = master_direct_->Command({"GET", "before"});
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(seen->str, "1");  // on the master the Sentinel named

  auto failover = sentinel_direct_->Command({"SENTINEL", "FAILOVER", kMaster});
  ASSERT_TRUE(failover.ok()) << failover.status();
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto r = sentinel_direct_->Command({"SENTINEL", "get-master-addr-by-name", kMaster});
        return r.ok() && r->elements.size() == 2 &&
               r->elements[1].str == absl::StrCat(replica_->port());
      },
      absl::Seconds(30)));

  // Within one check interval of the Sentinels naming the new master,
  // writes go to it, though the old master is still up and, until the
  // Sentinel demotes it, would accept them (and lose them at its resync).
  // A write in between may fail (connection killed, READONLY).
  absl::SleepFor(absl::Milliseconds(400));
  int failed = 0;
  absl::Status last;
  ASSERT_TRUE(WaitUntil(
      [&] {
        last = c.Command({"SET", "after", "2"}).status();
        if (!last.ok()) {
          ++failed;
          EXPECT_TRUE(absl::IsUnavailable(last)) << last;
        }
        return last.ok();
      },
      absl::Seconds(20)))
      << last;
  EXPECT_LE(failed, 20);
  auto on_new = Again(*replica_direct_, {"GET", "after"});
  ASSERT_TRUE(on_new.ok());
  EXPECT_EQ(on_new->str, "2");
  EXPECT_EQ(Role(*replica_direct_), "master");
  auto before = c.Command({"GET", "before"});  // replicated before the failover
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->str, "1");
  // Every pooled connection now reaches the new master.
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(c.Command({"INCR", "n"}).ok());
  }
  auto n = Again(*replica_direct_, {"GET", "n"});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->str, "6");

  // Messages published on the new master reach the subscriber soon: it
  // notices the new master within its check interval (the Sentinel would
  // close its old connection only when it demotes the old master, ~10 s).
  EXPECT_TRUE(WaitUntil(
      [&] {
        (void)c.Command({"PUBLISH", "feed", "x"});
        return heard.load() > 0;
      },
      absl::Seconds(3)))
      << "subscriptions: " << sub.subscriptions();
  sub.Stop();
}

TEST_F(RedisSentinelTest, AnUnknownMasterOrNoSentinelIsUnavailableWithItsReason) {
  redis::Options o;
  ASSERT_TRUE(
      redis::ParseAddress(absl::StrCat("sentinel://127.0.0.1:", sentinel_port_, "/no-such"), o).ok());
  auto c = redis::Client::Create(o);
  ASSERT_TRUE(c.ok());
  auto r = (*c)->Command({"PING"});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
  EXPECT_EQ(ReasonOf(r.status()), "REDIS_SENTINEL_UNAVAILABLE");
  EXPECT_TRUE(absl::StrContains(r.status().message(), "no-such")) << r.status();

  redis::Options none;
  ASSERT_TRUE(redis::ParseAddress(absl::StrCat("sentinel://127.0.0.1:", FreeTcpPort(), "/", kMaster),
                                  none)
                  .ok());
  c = redis::Client::Create(none);
  ASSERT_TRUE(c.ok());
  r = (*c)->Command({"PING"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ReasonOf(r.status()), "REDIS_SENTINEL_UNAVAILABLE");
}

TEST(RedisSentinelAddressTest, ParsesSentinelAddressesAndRefusesBadOnes) {
  redis::Options o;
  ASSERT_TRUE(redis::ParseAddress("sentinel://10.0.0.1:26379,sentinel-2.data.svc:26380/main", o).ok());
  ASSERT_EQ(o.sentinels.size(), 2u);
  EXPECT_EQ(o.sentinels[0], std::make_pair(std::string("10.0.0.1"), 26379));
  EXPECT_EQ(o.sentinels[1], std::make_pair(std::string("sentinel-2.data.svc"), 26380));
  EXPECT_EQ(o.sentinel_master, "main");
  // A plain address afterwards clears the Sentinel settings.
  ASSERT_TRUE(redis::ParseAddress("127.0.0.1:6379", o).ok());
  EXPECT_TRUE(o.sentinels.empty());
  for (const char* bad : {"sentinel://10.0.0.1:26379", "sentinel://10.0.0.1:26379/",
                          "sentinel:///main", "sentinel://10.0.0.1/main",
                          "sentinel://unix:/tmp/s/main", "sentinel://a:1,,b:2/main"}) {
    absl::Status st = redis::ParseAddress(bad, o);
    EXPECT_FALSE(st.ok()) << bad;
    EXPECT_EQ(ReasonOf(st), "INVALID_ADDRESS") << bad;
  }
}

}  // namespace
}  // namespace dialgrid
