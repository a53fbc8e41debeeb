#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

struct redisContext;

namespace dialgrid::redis {

// A Redis reply, copied out of hiredis so no hiredis type leaks out.
struct Reply {
  enum class Type { kNil, kString, kInteger, kArray, kStatus };
  Type type = Type::kNil;
  std::string str;       // kString, kStatus
  long long integer = 0;  // kInteger
  std::vector<Reply> elements;  // kArray

  bool is_nil() const { return type == Type::kNil; }
};

// Who a connection logs in as (AUTH). `password` empty: no AUTH (a Redis
// without requirepass or ACLs). `username` empty: the default user
// (AUTH <password>); else a Redis 6+ ACL user (AUTH <username> <password>).
struct Credentials {
  std::string username;
  std::string password;
};

// The credentials of connections whose Options leave them unset: one Redis
// deployment per process, so the runtime sets them once at start-up
// (ConnectBackends) and every pool and Subscriber of the process, including
// those a service builds from its --redis address alone, logs in with them.
// Thread-safe; none until set.
void SetDefaultCredentials(Credentials credentials);
Credentials DefaultCredentials();

struct Options {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string unix_socket;  // used instead of host:port when set
  // Redis Sentinel: when set, host/port/unix_socket are not used; every new
  // connection asks these Sentinels, in order, for the current master of
  // `sentinel_master` (SENTINEL get-master-addr-by-name), connects there and
  // checks ROLE says master. The Sentinels are asked again at most every
  // `sentinel_check_interval` (at once after a connection fails or a write
  // is refused with READONLY): a pooled connection to a server that is no
  // longer the master is closed before its next use, so a failover is
  // followed even while the old master is still up and accepting writes.
  // Address form: sentinel://host:port[,host:port...]/<master>.
  std::vector<std::pair<std::string, int>> sentinels;
  std::string sentinel_master;
  absl::Duration sentinel_check_interval = absl::Seconds(1);
  // Sent (AUTH) on every new connection, so after every reconnect too; unset:
  // DefaultCredentials(). No TLS: Debian's hiredis 0.14 has none.
  std::optional<Credentials> credentials;
  absl::Duration connect_timeout = absl::Seconds(1);
  absl::Duration command_timeout = absl::Seconds(2);
  int pool_size = 8;
  // How long a caller waits for a free connection before UNAVAILABLE.
  absl::Duration acquire_timeout = absl::Milliseconds(500);
  // Reconnect backoff after a failure doubles from min to max.
  absl::Duration min_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(2);
};

// Where tenants' keys live when not all on one Redis (the vendor's placement
// of tenants on Redis deployments): a key tagged "{t:<tenant>}" goes to its
// tenant's Options, every other key (platform-wide indexes, "{dg}:...",
// "{vendor}") to the default. Tenants not named stay on the default.
struct Placement {
  std::map<std::string, Options> tenants;
};

// Reads a placement file: one "<tenant> <host:port>" a line ('#' comments,
// blank lines ignored); every Options starts from `base` (timeouts, pool,
// credentials). INVALID_ARGUMENT naming the line when one does not parse or a
// tenant appears twice.
absl::StatusOr<Placement> ParsePlacement(absl::string_view text, const Options& base);

// Parses "host:port", "unix:/path" or "sentinel://host:port,.../<master>"
// into options.host/port, unix_socket or sentinels/sentinel_master.
absl::Status ParseAddress(absl::string_view address, Options& options);

// A Lua script run by SHA (EVALSHA), loaded on first use and after NOSCRIPT.
class Script {
 public:
  explicit Script(std::string source);
  const std::string& source() const { return source_; }
  const std::string& sha() const { return sha_; }

 private:
  std::string source_;
  std::string sha_;
};

// A pool of hiredis connections. hiredis contexts are not thread-safe, so each
// call borrows one connection for its duration. Every failure is an
// absl::Status: UNAVAILABLE when Redis cannot be reached (connection lost,
// timeout, pool exhausted; reason REDIS_AUTH_FAILED when it refuses the
// credentials, or asks for them (NOAUTH) and none were given), INTERNAL for
// an error reply.
class Client {
 public:
  static absl::StatusOr<std::unique_ptr<Client>> Create(const Options& options);
  // With tenants placed on Redis deployments of their own: every call goes to
  // the Redis of the keys it names (a script's keys all on one; a pipeline's
  // commands each on theirs, a MULTI/EXEC block and a WAIT with the writes
  // they follow). Tenants sharing an address share one pool.
  static absl::StatusOr<std::unique_ptr<Client>> Create(const Options& options,
                                                        const Placement& placement);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // One command, e.g. Command({"SET", key, value}).
  absl::StatusOr<Reply> Command(const std::vector<std::string>& args);
  // Several commands in one round trip; the replies in order. An error reply
  // of one command fails the whole call with INTERNAL (all were sent).
  absl::StatusOr<std::vector<Reply>> Pipeline(const std::vector<std::vector<std::string>>& commands);
  // EVALSHA, falling back to SCRIPT LOAD on NOSCRIPT.
  absl::StatusOr<Reply> Eval(const Script& script, const std::vector<std::string>& keys,
                             const std::vector<std::string>& args);
  // As Eval, then WAIT on the same connection in the same round trip: the
  // script's writes are acknowledged by `replicas` replicas (Redis
  // replication is asynchronous; without this, a failover can lose a write
  // the master acknowledged). UNAVAILABLE NOT_REPLICATED when fewer
  // acknowledged within `timeout`: the writes stay on the master.
  absl::StatusOr<Reply> EvalReplicated(const Script& script, const std::vector<std::string>& keys,
                                       const std::vector<std::string>& args, int replicas,
                                       absl::Duration timeout);
  // EVALSHA (SCRIPT LOAD on NOSCRIPT) followed by `then`, on one connection
  // in one round trip; the replies in order (the script's first).
  absl::StatusOr<std::vector<Reply>> EvalThen(const Script& script, const std::vector<std::string>& keys,
                                              const std::vector<std::string>& args,
                                              const std::vector<std::vector<std::string>>& then);
  absl::Status Ping();

  // One connection held for a sequence of calls (WATCH ... MULTI/EXEC
  // optimistic transactions need them on the same connection).
  class Session {
   public:
    absl::StatusOr<Reply> Command(const std::vector<std::string>& args);
    absl::StatusOr<std::vector<Reply>> Pipeline(const std::vector<std::vector<std::string>>& commands);

   private:
    friend class Client;
    Session(Client& client, void* conn) : client_(client), conn_(conn) {}
    Client& client_;
    void* conn_;
  };
  // Runs `fn` with a connection of its own; UNWATCHes afterwards. With a
  // placement, the connection is to the Redis of `route_key`'s tenant.
  absl::Status WithSession(const std::function<absl::Status(Session&)>& fn);
  absl::Status WithSession(absl::string_view route_key,
                           const std::function<absl::Status(Session&)>& fn);

  // Every Redis this client reaches, the default first (one without a
  // placement), e.g. to SCAN them all.
  std::vector<Client*> Shards();
  const Options& options() const { return options_; }

 private:
  struct Conn {
    redisContext* ctx = nullptr;
    std::pair<std::string, int> master;  // with Sentinel: the master it was opened to
    absl::Time next_attempt = absl::InfinitePast();
    absl::Duration backoff;
  };
  explicit Client(const Options& options);
  // Where `key` lives (this client, or the pool of its tenant's Redis).
  Client& Route(absl::string_view key);
  absl::StatusOr<std::vector<Reply>> PipelineHere(const std::vector<std::vector<std::string>>& commands);
  absl::StatusOr<std::vector<Reply>> EvalThenHere(const Script& script,
                                                  const std::vector<std::string>& keys,
                                                  const std::vector<std::string>& args,
                                                  const std::vector<std::vector<std::string>>& then);
  absl::StatusOr<Conn*> Acquire();
  void Release(Conn* conn);
  absl::Status EnsureConnected(Conn& conn);
  // With Sentinel: the master's host:port, asked of the Sentinels when the
  // last answer is older than the check interval (one caller asks; the
  // others keep the last answer meanwhile, also when no Sentinel answers).
  absl::StatusOr<std::pair<std::string, int>> SentinelMaster();
  void RecheckMasterSoon();
  void Drop(Conn& conn);
  absl::StatusOr<std::vector<Reply>> RunPipeline(Conn& conn,
                                                 const std::vector<std::vector<std::string>>& commands,
                                                 bool keep_error_replies, std::vector<std::string>* errors);

  Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::vector<Conn*> idle_;
  std::mutex master_mu_;
  std::pair<std::string, int> master_;  // empty host: never resolved
  absl::Time master_next_check_ = absl::InfinitePast();
  bool master_resolving_ = false;
  // The placement's pools (by address) and each placed tenant's.
  std::vector<std::unique_ptr<Client>> placed_;
  std::map<std::string, Client*, std::less<>> by_tenant_;
};

// The command that waits for `replicas` replicas to acknowledge this
// connection's writes, and the check of its reply: UNAVAILABLE NOT_REPLICATED
// when fewer did within `timeout` (the writes stay on the master only).
std::vector<std::string> WaitCommand(int replicas, absl::Duration timeout);
absl::Status CheckReplicated(const Reply& wait_reply, int replicas, absl::Duration timeout);

// Outcome of ReplaceIfEtag.
// Up to `max` members of the sorted set `key` (all scored alike) after
// `after` (exclusive; "" from the first), in lexical order: the page of ids a
// List RPC reads from an index.
absl::StatusOr<std::vector<std::string>> MembersAfter(Client& client, absl::string_view key,
                                                      absl::string_view after, int max);

enum class CasResult { kReplaced, kEtagMismatch, kMissing };

// Versioned records kept as a hash {proto, etag}: sets both when the stored
// etag equals `expected_etag`, atomically (one script).
absl::StatusOr<CasResult> ReplaceIfEtag(Client& client, const std::string& key,
                                        const std::string& expected_etag, const std::string& proto,
                                        const std::string& new_etag);

// Convenience: the reply's string, or NOT_FOUND when nil.
absl::StatusOr<std::string> StringOrNotFound(const Reply& reply);

}  // namespace dialgrid::redis
