#include "services/common/redis/redis_client.h"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <signal.h>
#include <sys/time.h>

#include <algorithm>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/common/core/errors.h"
#include "services/common/core/log.h"
#include "services/common/redis/connection.h"

namespace dialgrid::redis {
namespace {

std::mutex default_credentials_mu;
Credentials& DefaultCredentialsLocked() {
  static Credentials* credentials = new Credentials();
  return *credentials;
}

// Redis' answer to a command on a connection that has not logged in.
bool IsNoAuth(absl::string_view error) { return absl::StartsWith(error, "NOAUTH"); }

// True when `r` or any element nested in it is an error reply; `msg` gets the
// first such error.
bool HasError(const redisReply* r, std::string& msg) {
  if (r->type == REDIS_REPLY_ERROR) {
    msg.assign(r->str, r->len);
    return true;
  }
  if (r->type == REDIS_REPLY_ARRAY) {
    for (size_t i = 0; i < r->elements; ++i) {
      if (HasError(r->element[i], msg)) return true;
    }
  }
  return false;
}

Reply Convert(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(Convert(r->element[i]));
      break;
    case REDIS_REPLY_ERROR:  // never reached: RunPipeline checks HasError first
    case REDIS_REPLY_NIL:
    default:
      out.type = Reply::Type::kNil;
      break;
  }
  return out;
}

std::string Sha1Hex(absl::string_view s) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(s.data()), s.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

}  // namespace

void SetDefaultCredentials(Credentials credentials) {
  std::lock_guard<std::mutex> lock(default_credentials_mu);
  DefaultCredentialsLocked() = std::move(credentials);
}

Credentials DefaultCredentials() {
  std::lock_guard<std::mutex> lock(default_credentials_mu);
  return DefaultCredentialsLocked();
}

namespace {

absl::StatusOr<redisContext*> OpenDirect(const Options& options);

}  // namespace

// Asks each Sentinel in turn for the master's address; the first answer wins.
absl::StatusOr<std::pair<std::string, int>> ResolveMaster(const Options& options) {
  std::string last_error = "no Sentinel given";
  for (const auto& [host, port] : options.sentinels) {
    Options sentinel = options;
    sentinel.host = host;
    sentinel.port = port;
    sentinel.unix_socket.clear();
    sentinel.credentials = Credentials{};  // the AUTH is the master's, not the Sentinels'
    absl::StatusOr<redisContext*> connected = OpenDirect(sentinel);
    if (!connected.ok()) {
      last_error = absl::StrCat(host, ":", port, ": ", connected.status().message());
      continue;
    }
    redisContext* ctx = *connected;
    const char* argv[] = {"SENTINEL", "get-master-addr-by-name", options.sentinel_master.c_str()};
    const size_t argl[] = {8, 23, options.sentinel_master.size()};
    auto* reply = static_cast<redisReply*>(redisCommandArgv(ctx, 3, argv, argl));
    if (reply == nullptr) {
      last_error = absl::StrCat(host, ":", port, ": ", ctx->errstr);
      redisFree(ctx);
      continue;
    }
    int master_port = 0;
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
        reply->element[0]->type == REDIS_REPLY_STRING &&
        reply->element[1]->type == REDIS_REPLY_STRING &&
        absl::SimpleAtoi(absl::string_view(reply->element[1]->str, reply->element[1]->len),
                         &master_port)) {
      std::string master_host(reply->element[0]->str, reply->element[0]->len);
      freeReplyObject(reply);
      redisFree(ctx);
      return std::make_pair(std::move(master_host), master_port);
    }
    last_error = reply->type == REDIS_REPLY_ERROR
                     ? absl::StrCat(host, ":", port, ": ", std::string(reply->str, reply->len))
                     : absl::StrCat(host, ":", port, ": knows no master \"",
                                    options.sentinel_master, "\"");
    freeReplyObject(reply);
    redisFree(ctx);
  }
  return Unavailable("REDIS_SENTINEL_UNAVAILABLE",
                     absl::StrCat("redis: no Sentinel named the master of \"",
                                  options.sentinel_master, "\" (", last_error, ")"));
}

namespace {

// ROLE's first element: "master", "slave" or "sentinel".
absl::Status CheckMaster(redisContext* ctx, const std::string& where) {
  auto* reply = static_cast<redisReply*>(redisCommand(ctx, "ROLE"));
  if (reply == nullptr) {
    return Unavailable("REDIS_UNAVAILABLE", absl::StrCat("redis: ROLE: ", ctx->errstr));
  }
  std::string role;
  if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
      reply->element[0]->type == REDIS_REPLY_STRING) {
    role.assign(reply->element[0]->str, reply->element[0]->len);
  }
  freeReplyObject(reply);
  if (role == "master") return absl::OkStatus();
  return Unavailable("REDIS_NOT_MASTER",
                     absl::StrCat("redis: Sentinel named ", where, " as master but it is a ",
                                  role.empty() ? "server of unknown role" : role,
                                  " (a failover in progress)"));
}

}  // namespace

absl::StatusOr<redisContext*> OpenMaster(const Options& options,
                                         const std::pair<std::string, int>& master) {
  Options direct = options;
  direct.host = master.first;
  direct.port = master.second;
  direct.unix_socket.clear();
  auto ctx = OpenDirect(direct);
  if (!ctx.ok()) return ctx.status();
  absl::Status st = CheckMaster(*ctx, absl::StrCat(direct.host, ":", direct.port));
  if (!st.ok()) {
    redisFree(*ctx);
    return st;
  }
  return ctx;
}

absl::StatusOr<redisContext*> OpenConnection(const Options& options) {
  if (options.sentinels.empty()) return OpenDirect(options);
  auto master = ResolveMaster(options);
  if (!master.ok()) return master.status();
  return OpenMaster(options, *master);
}

namespace {

absl::StatusOr<redisContext*> OpenDirect(const Options& options) {
  timeval tv = absl::ToTimeval(options.connect_timeout);
  redisContext* ctx = options.unix_socket.empty()
                          ? redisConnectWithTimeout(options.host.c_str(), options.port, tv)
                          : redisConnectUnixWithTimeout(options.unix_socket.c_str(), tv);
  if (ctx == nullptr || ctx->err != 0) {
    std::string why = ctx != nullptr ? ctx->errstr : "allocation failed";
    if (ctx != nullptr) redisFree(ctx);
    return Unavailable("REDIS_UNAVAILABLE", absl::StrCat("redis: connect failed: ", why));
  }
  timeval ctv = absl::ToTimeval(options.command_timeout);
  redisSetTimeout(ctx, ctv);
  redisEnableKeepAlive(ctx);
  const Credentials credentials = options.credentials ? *options.credentials : DefaultCredentials();
  if (credentials.password.empty()) return ctx;
  std::vector<const char*> argv = {"AUTH"};
  std::vector<size_t> argl = {4};
  if (!credentials.username.empty()) {
    argv.push_back(credentials.username.data());
    argl.push_back(credentials.username.size());
  }
  argv.push_back(credentials.password.data());
  argl.push_back(credentials.password.size());
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(ctx, static_cast<int>(argv.size()), argv.data(), argl.data()));
  if (reply == nullptr) {
    std::string why = ctx->errstr;
    redisFree(ctx);
    return Unavailable("REDIS_UNAVAILABLE", absl::StrCat("redis: AUTH: ", why));
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    // Redis' message (WRONGPASS ..., ERR AUTH <password> called without any
    // password configured ...) names no secret.
    std::string why(reply->str, reply->len);
    freeReplyObject(reply);
    redisFree(ctx);
    return Unavailable("REDIS_AUTH_FAILED",
                       absl::StrCat("redis: AUTH refused",
                                    credentials.username.empty()
                                        ? std::string(" (default user)")
                                        : absl::StrCat(" for user \"", credentials.username, "\""),
                                    ": ", why));
  }
  freeReplyObject(reply);
  return ctx;
}

}  // namespace

absl::Status ParseAddress(absl::string_view address, Options& options) {
  if (absl::StartsWith(address, "sentinel://")) {
    absl::string_view rest = address.substr(11);
    const size_t slash = rest.find('/');
    auto bad = [&](absl::string_view why) {
      return InvalidField("redis_address", "INVALID_ADDRESS",
                          absl::StrCat(why, ": expected sentinel://host:port[,host:port...]/<master>, got \"",
                                       address, "\""));
    };
    if (slash == absl::string_view::npos || slash + 1 >= rest.size()) return bad("no master name");
    std::vector<std::pair<std::string, int>> sentinels;
    for (absl::string_view one : absl::StrSplit(rest.substr(0, slash), ',')) {
      Options o;
      if (absl::StartsWith(one, "unix:") || !ParseAddress(one, o).ok()) {
        return bad(absl::StrCat("\"", one, "\" is not host:port"));
      }
      sentinels.emplace_back(o.host, o.port);
    }
    options.sentinels = std::move(sentinels);
    options.sentinel_master = std::string(rest.substr(slash + 1));
    options.unix_socket.clear();
    return absl::OkStatus();
  }
  options.sentinels.clear();
  options.sentinel_master.clear();
  if (absl::StartsWith(address, "unix:")) {
    if (address.size() == 5) {
      return InvalidField("redis_address", "INVALID_ADDRESS", "unix: needs a socket path");
    }
    options.unix_socket = std::string(address.substr(5));
    return absl::OkStatus();
  }
  size_t colon = address.rfind(':');
  int port = 0;
  if (colon == absl::string_view::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) ||
      port <= 0 || port > 65535 || colon == 0) {
    return InvalidField("redis_address", "INVALID_ADDRESS",
                        absl::StrCat("expected host:port or unix:/path, got \"", address, "\""));
  }
  options.host = std::string(address.substr(0, colon));
  options.port = port;
  options.unix_socket.clear();
  return absl::OkStatus();
}

Script::Script(std::string source) : source_(std::move(source)), sha_(Sha1Hex(source_)) {}

Client::Client(const Options& options) : options_(options) {}

absl::StatusOr<std::unique_ptr<Client>> Client::Create(const Options& options) {
  if (options.pool_size <= 0) {
    return InvalidField("redis_pool_size", "INVALID_POOL_SIZE", "pool size must be positive");
  }
  // hiredis writes with plain write(): a peer that went away must give EPIPE,
  // not kill the process.
  signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<Client> client(new Client(options));
  for (int i = 0; i < options.pool_size; ++i) {
    auto conn = std::make_unique<Conn>();
    conn->backoff = options.min_backoff;
    client->idle_.push_back(conn.get());
    client->conns_.push_back(std::move(conn));
  }
  return client;
}

Client::~Client() {
  for (auto& c : conns_) Drop(*c);
}

void Client::Drop(Conn& conn) {
  if (conn.ctx != nullptr) {
    redisFree(conn.ctx);
    conn.ctx = nullptr;
  }
}

absl::StatusOr<std::pair<std::string, int>> Client::SentinelMaster() {
  {
    std::lock_guard<std::mutex> lock(master_mu_);
    const bool known = !master_.first.empty();
    if (known && (absl::Now() < master_next_check_ || master_resolving_)) return master_;
    master_resolving_ = true;
  }
  auto resolved = ResolveMaster(options_);
  std::lock_guard<std::mutex> lock(master_mu_);
  master_resolving_ = false;
  master_next_check_ = absl::Now() + options_.sentinel_check_interval;
  if (resolved.ok()) {
    if (!master_.first.empty() && *resolved != master_) {
      Log(LogLevel::kWarning, "redis", "following a Sentinel failover",
              {{"master", options_.sentinel_master},
               {"from", absl::StrCat(master_.first, ":", master_.second)},
               {"to", absl::StrCat(resolved->first, ":", resolved->second)}});
    }
    master_ = *resolved;
    return master_;
  }
  // No Sentinel answers: the last master named stays in use.
  if (!master_.first.empty()) return master_;
  return resolved.status();
}

void Client::RecheckMasterSoon() {
  if (options_.sentinels.empty()) return;
  std::lock_guard<std::mutex> lock(master_mu_);
  master_next_check_ = absl::InfinitePast();
}

absl::Status Client::EnsureConnected(Conn& conn) {
  absl::StatusOr<std::pair<std::string, int>> master;
  if (!options_.sentinels.empty()) {
    master = SentinelMaster();
    // A pooled connection to a server that is no longer the master (a
    // failover while it stayed up) is closed before it takes a write.
    if (conn.ctx != nullptr && master.ok() && conn.master != *master) {
      Drop(conn);
    }
  }
  if (conn.ctx != nullptr) return absl::OkStatus();
  absl::Time now = absl::Now();
  if (now < conn.next_attempt) {
    return Unavailable("REDIS_UNAVAILABLE", "redis: reconnect backing off after a failure");
  }
  absl::StatusOr<redisContext*> ctx =
      options_.sentinels.empty()
          ? OpenDirect(options_)
          : (master.ok() ? OpenMaster(options_, *master) : master.status());
  if (!ctx.ok()) {
    conn.next_attempt = now + conn.backoff;
    conn.backoff = std::min(conn.backoff * 2, options_.max_backoff);
    RecheckMasterSoon();
    return ctx.status();
  }
  conn.ctx = *ctx;
  if (master.ok()) conn.master = *master;
  conn.backoff = options_.min_backoff;
  return absl::OkStatus();
}

absl::StatusOr<Client::Conn*> Client::Acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, absl::ToChronoMilliseconds(options_.acquire_timeout),
                    [this] { return !idle_.empty(); })) {
    return Unavailable("REDIS_POOL_EXHAUSTED", "redis: no free connection in the pool");
  }
  Conn* c = idle_.back();
  idle_.pop_back();
  return c;
}

void Client::Release(Conn* conn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    idle_.push_back(conn);
  }
  cv_.notify_one();
}

absl::StatusOr<std::vector<Reply>> Client::RunPipeline(
    Conn& conn, const std::vector<std::vector<std::string>>& commands, bool keep_error_replies,
    std::vector<std::string>* errors) {
  absl::Status st = EnsureConnected(conn);
  if (!st.ok()) return st;
  std::vector<const char*> argv;
  std::vector<size_t> argl;
  for (const auto& cmd : commands) {
    argv.clear();
    argl.clear();
    for (const auto& a : cmd) {
      argv.push_back(a.data());
      argl.push_back(a.size());
    }
    if (redisAppendCommandArgv(conn.ctx, static_cast<int>(argv.size()), argv.data(), argl.data()) !=
        REDIS_OK) {
      std::string why = conn.ctx->errstr;
      Drop(conn);
      return Unavailable("REDIS_UNAVAILABLE", absl::StrCat("redis: ", why));
    }
  }
  std::vector<Reply> replies;
  replies.reserve(commands.size());
  std::string first_error;
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(conn.ctx, &raw) != REDIS_OK || raw == nullptr) {
      std::string why = conn.ctx->errstr;
      Drop(conn);  // the stream is out of step; never reuse it
      RecheckMasterSoon();
      return Unavailable("REDIS_UNAVAILABLE", absl::StrCat("redis: ", why));
    }
    auto* r = static_cast<redisReply*>(raw);
    std::string msg;
    if (HasError(r, msg)) {  // at the top or nested (EXEC, script tables)
      if (errors != nullptr) errors->push_back(msg);
      if (first_error.empty()) first_error = msg;
      replies.emplace_back();
    } else {
      if (errors != nullptr) errors->emplace_back();
      replies.push_back(Convert(r));
    }
    freeReplyObject(r);
  }
  if (absl::StartsWith(first_error, "READONLY")) {
    // A master demoted to replica under us (a failover): nothing was
    // written; drop the connection so the next one follows the new master.
    Drop(conn);
    RecheckMasterSoon();
    return Unavailable("REDIS_NOT_MASTER", absl::StrCat("redis: ", first_error));
  }
  if (IsNoAuth(first_error)) {
    // Connected without credentials to a Redis that requires them: nothing
    // on this connection can work, whatever the command.
    Drop(conn);
    return Unavailable(
        "REDIS_AUTH_FAILED",
        absl::StrCat("redis: the server requires AUTH and none was sent: ", first_error));
  }
  if (!first_error.empty() && !keep_error_replies) {
    return absl::InternalError(absl::StrCat("redis: ", first_error));
  }
  return replies;
}

absl::StatusOr<std::vector<Reply>> Client::PipelineHere(
    const std::vector<std::vector<std::string>>& commands) {
  if (commands.empty()) return std::vector<Reply>{};
  auto conn = Acquire();
  if (!conn.ok()) return conn.status();
  auto out = RunPipeline(**conn, commands, /*keep_error_replies=*/false, nullptr);
  Release(*conn);
  return out;
}

absl::StatusOr<Reply> Client::Command(const std::vector<std::string>& args) {
  auto replies = Pipeline({args});
  if (!replies.ok()) return replies.status();
  return std::move((*replies)[0]);
}

absl::StatusOr<Reply> Client::Eval(const Script& script, const std::vector<std::string>& keys,
                                   const std::vector<std::string>& args) {
  auto replies = EvalThen(script, keys, args, {});
  if (!replies.ok()) return replies.status();
  return std::move((*replies)[0]);
}

absl::StatusOr<Reply> Client::EvalReplicated(const Script& script, const std::vector<std::string>& keys,
                                             const std::vector<std::string>& args, int replicas,
                                             absl::Duration timeout) {
  auto replies = EvalThen(script, keys, args, {WaitCommand(replicas, timeout)});
  if (!replies.ok()) return replies.status();
  absl::Status st = CheckReplicated((*replies)[1], replicas, timeout);
  if (!st.ok()) return st;
  return std::move((*replies)[0]);
}

std::vector<std::string> WaitCommand(int replicas, absl::Duration timeout) {
  const int64_t ms = std::max<int64_t>(1, absl::ToInt64Milliseconds(timeout));
  return {"WAIT", std::to_string(replicas), std::to_string(ms)};
}

absl::Status CheckReplicated(const Reply& wait_reply, int replicas, absl::Duration timeout) {
  const long long acked = wait_reply.integer;
  if (acked >= replicas) return absl::OkStatus();
  const int64_t ms = std::max<int64_t>(1, absl::ToInt64Milliseconds(timeout));
  return WithReason(absl::UnavailableError(absl::StrCat(
                        "the write reached ", acked, " of ", replicas, " Redis replicas within ", ms,
                        " ms; it is on the master only and is not acknowledged")),
                    "NOT_REPLICATED");
}

absl::StatusOr<std::vector<Reply>> Client::EvalThenHere(
    const Script& script, const std::vector<std::string>& keys,
    const std::vector<std::string>& args, const std::vector<std::vector<std::string>>& then) {
  std::vector<std::string> cmd = {"EVALSHA", script.sha(), std::to_string(keys.size())};
  cmd.insert(cmd.end(), keys.begin(), keys.end());
  cmd.insert(cmd.end(), args.begin(), args.end());
  std::vector<std::vector<std::string>> batch = {cmd};
  batch.insert(batch.end(), then.begin(), then.end());
  auto conn = Acquire();
  if (!conn.ok()) return conn.status();
  std::vector<std::string> errors;
  auto replies = RunPipeline(**conn, batch, /*keep_error_replies=*/true, &errors);
  if (replies.ok() && absl::StartsWith(errors[0], "NOSCRIPT")) {
    errors.clear();
    batch.insert(batch.begin(), {"SCRIPT", "LOAD", script.source()});
    replies = RunPipeline(**conn, batch, /*keep_error_replies=*/true, &errors);
    if (replies.ok()) {
      replies->erase(replies->begin());
      errors.erase(errors.begin());
    }
  }
  Release(*conn);
  if (!replies.ok()) return replies.status();
  for (const auto& e : errors) {
    if (!e.empty()) return absl::InternalError(absl::StrCat("redis script: ", e));
  }
  return replies;
}

absl::StatusOr<Reply> Client::Session::Command(const std::vector<std::string>& args) {
  auto r = Pipeline({args});
  if (!r.ok()) return r.status();
  return std::move((*r)[0]);
}

absl::StatusOr<std::vector<Reply>> Client::Session::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  if (commands.empty()) return std::vector<Reply>{};
  return client_.RunPipeline(*static_cast<Conn*>(conn_), commands, /*keep_error_replies=*/false,
                             nullptr);
}

absl::Status Client::WithSession(absl::string_view route_key,
                                 const std::function<absl::Status(Session&)>& fn) {
  Client& target = Route(route_key);
  return &target == this ? WithSession(fn) : target.WithSession(fn);
}

absl::Status Client::WithSession(const std::function<absl::Status(Session&)>& fn) {
  auto conn = Acquire();
  if (!conn.ok()) return conn.status();
  Session session(*this, *conn);
  absl::Status st = fn(session);
  if ((*conn)->ctx != nullptr) {
    // Leave no WATCH behind for the next user of this connection.
    auto r = RunPipeline(**conn, {{"UNWATCH"}}, /*keep_error_replies=*/false, nullptr);
    if (!r.ok()) Drop(**conn);
  }
  Release(*conn);
  return st;
}

absl::Status Client::Ping() {
  for (Client* shard : Shards()) {
    auto r = shard->PipelineHere({{"PING"}});
    if (!r.ok()) return r.status();
  }
  return absl::OkStatus();
}

// --- Placement: tenants on Redis deployments of their own -----------------------

absl::StatusOr<Placement> ParsePlacement(absl::string_view text, const Options& base) {
  Placement out;
  int n = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++n;
    line = absl::StripAsciiWhitespace(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    std::vector<absl::string_view> parts = absl::StrSplit(line, ' ', absl::SkipWhitespace());
    auto bad = [n](absl::string_view why) {
      return InvalidField("redis_placement", "INVALID_REDIS_PLACEMENT",
                          absl::StrCat("line ", n, ": ", why));
    };
    if (parts.size() != 2) return bad("expected \"<tenant> <host:port>\"");
    Options o = base;
    absl::Status st = ParseAddress(parts[1], o);
    if (!st.ok()) return bad(st.message());
    if (!out.tenants.emplace(std::string(parts[0]), o).second) {
      return bad(absl::StrCat("tenant ", parts[0], " placed twice"));
    }
  }
  return out;
}

namespace {

std::string AddressOf(const Options& o) {
  if (!o.sentinels.empty()) {
    std::vector<std::string> s;
    for (const auto& [h, p] : o.sentinels) s.push_back(absl::StrCat(h, ":", p));
    return absl::StrCat("sentinel://", absl::StrJoin(s, ","), "/", o.sentinel_master);
  }
  return o.unix_socket.empty() ? absl::StrCat(o.host, ":", o.port) : "unix:" + o.unix_socket;
}

// The tenant of a key tagged "{t:<tenant>}", or empty.
absl::string_view TenantOf(absl::string_view key) {
  if (!absl::StartsWith(key, "{t:")) return {};
  size_t end = key.find('}');
  return end == absl::string_view::npos ? absl::string_view() : key.substr(3, end - 3);
}

bool IsCommand(const std::vector<std::string>& cmd, absl::string_view name) {
  return !cmd.empty() && absl::EqualsIgnoreCase(cmd[0], name);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Client>> Client::Create(const Options& options,
                                                       const Placement& placement) {
  auto client = Create(options);
  if (!client.ok()) return client.status();
  std::map<std::string, Client*> by_address = {{AddressOf(options), client->get()}};
  for (const auto& [tenant, o] : placement.tenants) {
    Client*& pool = by_address[AddressOf(o)];
    if (pool == nullptr) {
      auto placed = Create(o);
      if (!placed.ok()) return placed.status();
      pool = placed->get();
      (*client)->placed_.push_back(*std::move(placed));
    }
    (*client)->by_tenant_[tenant] = pool;
  }
  return client;
}

std::vector<Client*> Client::Shards() {
  std::vector<Client*> out = {this};
  for (auto& p : placed_) out.push_back(p.get());
  return out;
}

Client& Client::Route(absl::string_view key) {
  if (by_tenant_.empty()) return *this;
  absl::string_view tenant = TenantOf(key);
  if (tenant.empty()) return *this;
  auto it = by_tenant_.find(tenant);
  return it == by_tenant_.end() ? *this : *it->second;
}

absl::StatusOr<std::vector<Reply>> Client::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  if (by_tenant_.empty()) return PipelineHere(commands);
  // Each command to its key's Redis; a MULTI/EXEC block with its first keyed
  // command; a WAIT to every Redis written to before it (its reply: the
  // fewest replicas any acknowledged with).
  std::vector<Client*> target(commands.size(), nullptr);
  std::vector<size_t> waits;
  for (size_t i = 0; i < commands.size(); ++i) {
    const auto& cmd = commands[i];
    if (IsCommand(cmd, "MULTI")) {
      size_t end = i;
      Client* block = this;
      for (size_t j = i + 1; j < commands.size(); ++j) {
        if (IsCommand(commands[j], "EXEC") || IsCommand(commands[j], "DISCARD")) {
          end = j;
          break;
        }
        if (commands[j].size() > 1 && block == this) block = &Route(commands[j][1]);
      }
      for (size_t j = i; j <= std::max(end, i); ++j) target[j] = block;
      i = std::max(end, i);
      continue;
    }
    if (IsCommand(cmd, "WAIT")) {
      waits.push_back(i);
      continue;
    }
    target[i] = cmd.size() > 1 ? &Route(cmd[1]) : this;
  }
  std::vector<Client*> order;  // the Redis deployments in first-use order
  for (Client* t : target) {
    if (t != nullptr && std::find(order.begin(), order.end(), t) == order.end()) order.push_back(t);
  }
  if (order.empty()) order.push_back(this);
  if (order.size() == 1 && waits.empty()) return order[0]->PipelineHere(commands);
  std::vector<Reply> out(commands.size());
  for (Client* shard : order) {
    std::vector<std::vector<std::string>> batch;
    std::vector<size_t> at;
    for (size_t i = 0; i < commands.size(); ++i) {
      const bool wait = std::find(waits.begin(), waits.end(), i) != waits.end();
      if (target[i] == shard || wait) {
        batch.push_back(commands[i]);
        at.push_back(i);
      }
    }
    auto replies = shard->PipelineHere(batch);
    if (!replies.ok()) return replies.status();
    for (size_t k = 0; k < at.size(); ++k) {
      Reply& r = (*replies)[k];
      Reply& slot = out[at[k]];
      const bool wait = std::find(waits.begin(), waits.end(), at[k]) != waits.end();
      if (wait && shard != order[0]) {
        slot.integer = std::min(slot.integer, r.integer);
      } else {
        slot = std::move(r);
      }
    }
  }
  return out;
}

absl::StatusOr<std::vector<Reply>> Client::EvalThen(const Script& script,
                                                    const std::vector<std::string>& keys,
                                                    const std::vector<std::string>& args,
                                                    const std::vector<std::vector<std::string>>& then) {
  if (by_tenant_.empty()) return EvalThenHere(script, keys, args, then);
  // An empty key is a placeholder a script does not touch.
  Client* home = this;
  for (const auto& k : keys) {
    if (!k.empty()) {
      home = &Route(k);
      break;
    }
  }
  for (const auto& k : keys) {
    if (!k.empty() && &Route(k) != home) {
      return absl::InternalError(
          absl::StrCat("redis: a script's keys are placed on two Redis deployments (", k, ")"));
    }
  }
  // What follows the script on another Redis runs there after it.
  std::vector<std::vector<std::string>> here, elsewhere;
  std::vector<bool> is_here;
  for (const auto& cmd : then) {
    const bool h = cmd.size() < 2 || IsCommand(cmd, "WAIT") || &Route(cmd[1]) == home;
    is_here.push_back(h);
    (h ? here : elsewhere).push_back(cmd);
  }
  auto first = home->EvalThenHere(script, keys, args, here);
  if (!first.ok() || elsewhere.empty()) return first;
  auto rest = Pipeline(elsewhere);
  if (!rest.ok()) return rest.status();
  std::vector<Reply> out = {std::move((*first)[0])};
  size_t h = 1, e = 0;
  for (bool b : is_here) out.push_back(b ? std::move((*first)[h++]) : std::move((*rest)[e++]));
  return out;
}

absl::StatusOr<CasResult> ReplaceIfEtag(Client& client, const std::string& key,
                                        const std::string& expected_etag, const std::string& proto,
                                        const std::string& new_etag) {
  static const Script* script = new Script(R"lua(
local cur = redis.call('HGET', KEYS[1], 'etag')
if not cur then return -1 end
if cur ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'proto', ARGV[2], 'etag', ARGV[3])
return 1
)lua");
  auto r = client.Eval(*script, {key}, {expected_etag, proto, new_etag});
  if (!r.ok()) return r.status();
  if (r->integer == -1) return CasResult::kMissing;
  if (r->integer == 0) return CasResult::kEtagMismatch;
  return CasResult::kReplaced;
}

absl::StatusOr<std::string> StringOrNotFound(const Reply& reply) {
  if (reply.is_nil()) return absl::NotFoundError("key not found");
  return reply.str;
}

absl::StatusOr<std::vector<std::string>> MembersAfter(Client& client, absl::string_view key,
                                                      absl::string_view after, int max) {
  auto r = client.Command({"ZRANGE", std::string(key),
                           after.empty() ? "-" : absl::StrCat("(", after), "+", "BYLEX", "LIMIT",
                           "0", std::to_string(max)});
  if (!r.ok()) return r.status();
  std::vector<std::string> out;
  out.reserve(r->elements.size());
  for (const auto& e : r->elements) out.push_back(e.str);
  return out;
}

}  // namespace dialgrid::redis
