#include "services/common/redis/redis_client.h"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <signal.h>
#include <sys/time.h>

#include <algorithm>
#include <mutex>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"
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

absl::StatusOr<redisContext*> OpenConnection(const Options& options) {
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

absl::Status ParseAddress(absl::string_view address, Options& options) {
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

absl::Status Client::EnsureConnected(Conn& conn) {
  if (conn.ctx != nullptr) return absl::OkStatus();
  absl::Time now = absl::Now();
  if (now < conn.next_attempt) {
    return Unavailable("REDIS_UNAVAILABLE", "redis: reconnect backing off after a failure");
  }
  absl::StatusOr<redisContext*> ctx = OpenConnection(options_);
  if (!ctx.ok()) {
    conn.next_attempt = now + conn.backoff;
    conn.backoff = std::min(conn.backoff * 2, options_.max_backoff);
    return ctx.status();
  }
  conn.ctx = *ctx;
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

absl::StatusOr<std::vector<Reply>> Client::Pipeline(
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

absl::StatusOr<std::vector<Reply>> Client::EvalThen(const Script& script,
                                                    const std::vector<std::string>& keys,
                                                    const std::vector<std::string>& args,
                                                    const std::vector<std::vector<std::string>>& then) {
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
  auto r = Command({"PING"});
  return r.ok() ? absl::OkStatus() : r.status();
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
